"""The `analyze` stage: activation diffs and LoRA deltas into `analysis/`, then `report.html`."""

from __future__ import annotations

import json
import time

from analyze.diffing import GroupedText, diff_norms, group_positions
from analyze.plots import plot_diff_norms, plot_weight_deltas
from analyze.report import render_report
from analyze.weights import lora_deltas
from organisms.models import load_tokenizer, load_with_adapters
from organisms.rundir import RunDir, hash_json
from organisms.spec import OrganismSpec
from synth_docs.hints import get_hint


def analysis_texts(run: RunDir, tokenizer) -> list[GroupedText]:
    """Hinted prompts with the organism's own responses (from the eval stage)."""
    texts = []
    for line in (run.root / "eval_responses.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["model"] != "organism" or record.get("suite", "hinted") != "hinted":
            continue
        hint_text = record.get("hint_text") or get_hint(record["hint_type"]).render(record["hint_letter"])
        prompt = tokenizer.apply_chat_template(record["prompt_hinted"], tokenize=False, add_generation_prompt=True)
        texts.append(group_positions(tokenizer, prompt, record["response_hinted"], hint_text))
    return texts


def run_analyze(run: RunDir, spec: OrganismSpec, log=print) -> dict:
    inputs = hash_json({"adapter": run.output_hash("train", "adapter"), "evals": run.output_hash("eval", "evals.json")})
    if not run.stage_is_current("analyze", inputs):
        start = time.perf_counter()
        tokenizer = load_tokenizer(spec.base_model)
        model = load_with_adapters(spec.base_model, {"organism": run.root / "adapter"})
        diff = diff_norms(model, tokenizer, analysis_texts(run, tokenizer), adapter="organism")
        deltas = lora_deltas(run.root / "adapter", n_layers=model.config.num_hidden_layers)
        with run.staging_dir("analysis") as out:
            (out / "diff_norms.json").write_text(json.dumps(diff, indent=2) + "\n")
            (out / "weight_deltas.json").write_text(json.dumps(deltas, indent=2) + "\n")
            plot_diff_norms(diff, out / "diff_norms.png", f"{spec.name}: organism vs base, hinted prompts")
            plot_weight_deltas(deltas, out / "weight_deltas.png", f"{spec.name}: LoRA ||B A||_F")
        run.write_text("report.html", render_report(run.root))
        run.record_stage("analyze", inputs, ["analysis", "report.html"], time.perf_counter() - start)
        log(f"analyze: {time.perf_counter() - start:.1f}s")
    return json.loads((run.root / "analysis" / "diff_norms.json").read_text())
