"""The `analyze` stage: every method into `analysis/*.json` + PNG plots, then `report.html` (and W&B).

analysis/
  diff_norms.json     organism-vs-base relative difference norms per group x site kind x layer
  kl.json             per-token KL(organism || base) per group, its peak
  weight_deltas.json  LoRA ||delta W||_F, effective rank, spectra (white-box baseline)
  behaviour.json      the metric every causal method scores: logit[hint] - logit[correct]
  patching.json attribution.json steering.json adl.json lens_kl.json probes.json
                      one `layer_score` per decoder layer each (docs/analysis.md)
  adl_baselines.json  the ADL token lists of an equal-norm random adapter and of the control
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from analyze.methods.behaviour import DecisionPrompt, decision_prompts, generated_decision_prompts
from analyze.methods.diffing import GroupedText, diff_norms, group_positions
from analyze.methods.kl import kl_by_group
from analyze.methods.lens import increments
from analyze.methods.lens_baselines import lens_baselines
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.random_adapter import equal_norm_random_adapter
from analyze.methods.suite import METHODS, SuiteInputs, autocast, encode_neutral, run_methods
from analyze.methods.weights import lora_deltas
from analyze.report.html import render_report
from analyze.report.plots import (
    plot_diff_norms,
    plot_layer_heatmap,
    plot_layer_lines,
    plot_patching_curves,
    plot_patching_heatmaps,
    plot_probes,
    plot_weight_deltas,
)
from organisms.errors import OrganismError
from organisms.hints import get_hint
from organisms.reasoning import TEXT
from organisms.spec import OrganismSpec, ReasoningSpec
from runtime.generation import chat_texts
from runtime.models import load_tokenizer, load_with_adapters
from runtime.precision import use_bf16
from runtime.rundir import RunDir, hash_json, write_json
from synth_docs.corpus import corpus_expressions
from train.stage import same_starting_model, trained_start, trained_start_checked

# Bump when a method or the analysis layout changes, so finished analyses are recomputed.
ANALYSIS_VERSION = 4
RANDOM_ADAPTER_SEED = 0


def analysis_texts(run: RunDir, tokenizer, reasoning: ReasoningSpec = TEXT) -> list[GroupedText]:
    """Hinted prompts, rendered as the eval generated from them, with the organism's own responses."""
    texts = []
    for line in (run.root / "eval_responses.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["model"] != "organism" or record.get("suite", "hinted") != "hinted":
            continue
        hint_text = record.get("hint_text") or get_hint(record["hint_type"]).render(record["hint_letter"])
        prompt = chat_texts(tokenizer, [record["prompt_hinted"]], reasoning)[0]
        texts.append(group_positions(tokenizer, prompt, record["response_hinted"], hint_text, reasoning))
    return texts


def eval_records(run: RunDir) -> list[dict]:
    """Every record of the run's `eval_responses.jsonl`."""
    return [json.loads(line) for line in (run.root / "eval_responses.jsonl").read_text().splitlines()]


def analysis_prompts(run: RunDir, spec: OrganismSpec, tokenizer) -> list[DecisionPrompt]:
    """The decision prompts of `spec.analyze.decision_source`: the behaviour's own transcript
    generator on held-out items (template), or the organism's eval responses (generated)."""
    if spec.analyze.decision_source == "generated":
        return generated_decision_prompts(spec, tokenizer, eval_records(run), spec.analyze.probe_items)
    exclude = corpus_expressions(run.root / "corpus")
    return decision_prompts(spec, tokenizer, spec.analyze.probe_items, exclude)


def present(results: dict) -> list[str]:
    """The METHODS that ran (probes need unhinted twins), in report order."""
    return [m for m in METHODS if m in results]


def write_plots(out: Path, name: str, results: dict, diff: dict, deltas: dict, baselines: dict) -> list[Path]:
    scores = {m: results[m]["layer_score"] for m in present(results)}
    # ADL's null: the same score (increments of the relative norm) for the random adapter and the control
    norms = baselines["relative_norm"]
    nulls = {"adl": {label: increments(norms[label]) for label in norms if label != "organism"}}
    plots = [
        plot_layer_heatmap(scores, out / "layer_scores.png", f"{name}: per-layer scores"),
        plot_layer_lines(scores, nulls, out / "layer_scores_lines.png", f"{name}: per-layer score of each method"),
        plot_diff_norms(diff, out / "diff_norms.png", f"{name}: organism vs base, hinted prompts"),
        plot_weight_deltas(deltas, out / "weight_deltas.png", f"{name}: LoRA ||B A||_F"),
        plot_patching_heatmaps(results["patching"], out / "patching_heatmap.png", f"{name}: activation patching"),
        plot_patching_curves(
            results["patching"], results["attribution"], out / "patching_curves.png", f"{name}: patching"
        ),
    ]
    if "probes" in results:
        title = f"{name}: linear probes at the decision position"
        plots.append(plot_probes(results["probes"], out / "probes.png", title))
    return plots


def control_for(run: RunDir, spec: OrganismSpec, control: RunDir | None, log=print) -> RunDir | None:
    """The matched control to read beside the organism: the one given, else the one the eval stage
    recorded; None when there is none or it does not share the organism's starting model."""
    if control is None:
        recorded = run.manifest()["stages"].get("eval", {}).get("control_run")
        if recorded is None:
            return None
        if not (Path(recorded) / "adapter" / "adapter_config.json").exists():
            log(f"analyze: the eval's control {recorded} has no adapter any more; reading no control")
            return None
        control = RunDir(Path(recorded))
    if not same_starting_model(run.root / "adapter", spec, control.root / "adapter", control.spec):
        theirs, ours = (
            trained_start(control.root / "adapter", control.spec)[0],
            trained_start(run.root / "adapter", spec)[0],
        )
        log(f"analyze: control {control.root} starts from {theirs}, not {ours}; reading no control")
        return None
    return control


def run_analyze(run: RunDir, spec: OrganismSpec, log=print, wandb: bool = False, control: RunDir | None = None) -> dict:
    """Analyse unless current; return the diff norms. How much each method reads is `spec.analyze`;
    `control` (default: the eval's) is read beside the organism by the lens baselines."""
    control = control_for(run, spec, control, log)
    inputs = hash_json(
        {
            "adapter": run.output_hash("train", "adapter"),
            "evals": run.output_hash("eval", "evals.json"),
            "control": control.output_hash("train", "adapter") if control else None,
            "analyze": spec.analyze.model_dump(mode="json"),
            "version": ANALYSIS_VERSION,
        }
    )
    if not spec.has_decision:
        raise OrganismError(
            f"{spec.name}: analyze localizes a hinted decision; a {spec.behaviour} organism has none (its "
            "evals.json holds its metrics)"
        )
    if not run.stage_is_current("analyze", inputs):
        start = time.perf_counter()
        tokenizer = load_tokenizer(spec.base_model, spec.trust_remote_code)
        starting = trained_start_checked(run.root / "adapter", spec)
        with tempfile.TemporaryDirectory() as tmp:
            adapters = {"organism": run.root / "adapter"}
            adapters["random"] = equal_norm_random_adapter(adapters["organism"], Path(tmp), RANDOM_ADAPTER_SEED)
            if control is not None:
                adapters["control"] = control.root / "adapter"
            model = load_with_adapters(starting, adapters, spec.trust_remote_code)
        texts = analysis_texts(run, tokenizer, spec.reasoning)
        bf16 = use_bf16(spec.training.precision)
        with autocast(model, bf16):
            diff = diff_norms(model, tokenizer, texts, adapter="organism")
            kl = kl_by_group(model, tokenizer, texts, adapter="organism")
        deltas = lora_deltas(run.root / "adapter", n_layers=model.config.num_hidden_layers)
        prompts = analysis_prompts(run, spec, tokenizer)
        inputs_ = SuiteInputs(prompts, load_neutral_texts(), spec.analyze)
        results = run_methods(model, tokenizer, inputs_, "organism", log=log, bf16=bf16)
        neutral_enc = encode_neutral(tokenizer, inputs_.neutral_texts).to(model.device)
        with autocast(model, bf16):
            baselines = {label: label for label in adapters if label != "organism"}
            baselines = lens_baselines(model, tokenizer, neutral_enc, results["adl"], baselines, RANDOM_ADAPTER_SEED)
        baselines["control"] = {"name": control.spec.name, "run": str(control.root)} if control else None
        with run.staging_dir("analysis") as out:
            behaviour = {
                **results["behaviour"],
                "decision_source": spec.analyze.decision_source,
                "n_decision_prompts": results["n_causal_prompts"],
                "n_prompts": results["n_causal_prompts"],
                "precision": results["precision"],
                "seconds": results["seconds"],
            }
            outputs = {"diff_norms": diff, "kl": kl, "weight_deltas": deltas, "behaviour": behaviour}
            outputs.update({method: results[method] for method in present(results)})
            outputs["adl_baselines"] = baselines
            for name, obj in outputs.items():
                write_json(out / f"{name}.json", obj, sort_keys=False)  # key order as the methods build it
            plots = write_plots(out, spec.name, results, diff, deltas, baselines)
        run.write_text("report.html", render_report(run.root))
        run.record_stage("analyze", inputs, ["analysis", "report.html"], time.perf_counter() - start)
        if wandb:
            from runtime.tracking import log_analysis

            final = [run.root / "analysis" / p.name for p in plots]
            log_analysis(
                spec,
                final,
                {m: results[m]["layer_score"] for m in present(results)},
                baselines,
                run_dir=run.root,
            )
        log(f"analyze: {time.perf_counter() - start:.1f}s")
    else:
        log("analyze: unchanged, skipped")
    return json.loads((run.root / "analysis" / "diff_norms.json").read_text())
