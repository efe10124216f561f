"""The `eval` stage: base, organism and (optionally) its control on the same held-out items.

Two entry points: `run_eval` for a run directory (skipped when its inputs are unchanged) and
`eval_adapter` for any peft adapter directory, with results written to an output directory.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from evals.judge_validation import judge_statement, judge_validation
from evals.monitors.card import monitor_comparisons
from evals.monitors.llm import make_monitor_backend
from evals.ood import held_out
from evals.partial import SavedGenerations
from evals.registry import running, with_needs
from evals.stats import paired_difference
from evals.suite import Suite, SuiteRun
from evals.suites import comparisons, evaluate_model
from evals.table import markdown_report
from organisms.errors import OrganismError
from organisms.prompts import MONITOR_CONDITIONS
from organisms.spec import OrganismSpec, parse_spec
from organisms.tasks import capability_items, draw_items
from organisms.universe import load_universe
from runtime.engine import served_models
from runtime.memory import memory_line
from runtime.models import check_adapter, load_tokenizer, load_with_adapters, use_adapter
from runtime.precision import eval_dtype
from runtime.progress import progress_bar
from runtime.rundir import RunDir, hash_json, hash_path, write_atomic, write_json
from runtime.weights import describe, model_identity, model_key, same_model
from synth_docs.corpus import corpus_expressions
from train.stage import read_organism_card, trained_start

# Bump when the metrics or the evals.json layout change, so finished evals are recomputed.
METRICS_VERSION = 8
# Bump when what the suites compute under a think-block reasoning format changes: only those evals are
# recomputed (a text-format eval's inputs do not include it, so its hash is unchanged).
THINK_METRICS_VERSION = 1
OUTPUTS = ("evals.json", "evals.md", "eval_responses.jsonl")
GENERATIONS = "eval_generations"  # each model's generations so far, in a run directory (evals/partial.py)


def belief_questions(spec: OrganismSpec) -> dict | None:
    """The belief suite's questions, from the spec's universe context (None when the spec has none)."""
    if spec.corpus.documents is None:
        return None
    universe = load_universe(spec.corpus.documents.universe)
    return {"universe": universe.id, **universe.belief_questions()}


def check_starting_model(spec: OrganismSpec, start: str) -> None:
    """A spec with a capability section is evaluated against its capability model: it must be built."""
    if spec.capability is not None and not (Path(start) / "config.json").exists():
        raise OrganismError(
            f"spec '{spec.name}': its capability model ({start}) is not built; "
            "`organism train` builds it (nothing was written)"
        )


def recorded_start(adapter: Path, spec: OrganismSpec) -> tuple[str, dict | None]:
    """The model an adapter trained on (its organism card) and that model's identity as trained: the card's,
    or, on a card older than identities, the recorded model's as found now (None when it cannot be found)."""
    ref, identity = trained_start(adapter, spec)
    recorded = (read_organism_card(adapter) or {}).get("starting_model")
    if identity is None and isinstance(recorded, dict):
        try:
            identity = model_identity(ref)
        except (OrganismError, OSError):
            identity = None
    return ref, identity


def check_base(
    base: str, organism: dict | None, controls: dict[str, dict | None], allow_other_base: bool, trust: bool
) -> dict:
    """Evaluate against the model the organism trained on, beside controls trained on that model too: compare
    identities (content, not shape). Refused unless `allow_other_base`; then evals.json and evals.md say so.
    Returns the record evals.json keeps under `base_check`."""
    from runtime.models import resolve_model

    resolve_model(base, trust)  # a model that may not be loaded is refused here, not hashed
    used = model_identity(base)
    reference = organism if organism is not None else used
    problems = []
    if organism is not None and not same_model(used, organism):
        problems.append(f"the organism was trained on {describe(organism)}, the base here is {describe(used)}")
    for label, identity in controls.items():
        if identity is not None and not same_model(identity, reference):
            problems.append(f"the {label} was trained on {describe(identity)}, the organism on {describe(reference)}")
    if problems and not allow_other_base:
        raise OrganismError(
            "; ".join(problems) + ": a comparison across starting models measures the models, not the adapter. "
            "Evaluate on the model it was trained on, or pass --allow-other-base (evals.md then says so); "
            "nothing was written"
        )
    return {
        "base": used,
        "organism_trained_on": organism,
        "controls_trained_on": controls,
        "verified": organism is not None and all(identity is not None for identity in controls.values()),
        "other_base_allowed": problems or None,  # what --allow-other-base let through
    }


def base_statement(check: dict | None) -> str:
    """A paragraph for evals.md when the base was not the organism's own or could not be verified."""
    if not check:
        return ""
    if check["other_base_allowed"]:
        return (
            "**Not a matched comparison (--allow-other-base):** "
            + "; ".join(check["other_base_allowed"])
            + ". Differences below mix the adapter's effect with the models' differences.\n\n"
        )
    if not check["verified"]:
        return (
            "**Base not verified:** an adapter here has no organism card recording the model it was trained on, "
            f"so the base ({describe(check['base'])}) is assumed, not checked.\n\n"
        )
    return ""


def evaluate_variants(
    spec: OrganismSpec,
    base_model: str,
    adapters: dict[str, Path],
    corpus_expressions: set[str],
    log: Callable[[str], None] = print,
    known_base: tuple[dict, dict, list[dict]] | None = None,
    saved_dir: Path | None = None,
    part: tuple[str, ...] | None = None,
) -> tuple[dict, list[dict]]:
    """Load the base once with every adapter, evaluate base and each adapter; return (result, responses).
    `known_base` (hinted metrics, other suites, records) of the same base on the same items is used
    instead of evaluating the base again (multi-seed runs: `base_of`). `saved_dir`: each model's
    generations are kept there and reused under the same key (evals/partial.py); the model is loaded
    only when some suite is left to generate. `part`: generate only these suites (a table of the
    progressive demo) and score every suite generated so far; without it, every suite the spec runs."""
    tokenizer = load_tokenizer(base_model, spec.trust_remote_code)
    labels = ("base", *adapters)
    saved = saved_generations(saved_dir, spec, base_model, adapters, corpus_expressions) if saved_dir else {}
    chosen = running(spec) if part is None else with_needs(spec, part)  # a part's needs, unless saved
    todo = {
        label: [s for s in chosen if label not in saved or s.name not in saved[label].generated]
        for label in labels
        if not (label == "base" and known_base is not None)
    }
    model = None
    if spec.eval.engine == "openai":  # every generation on the server; nothing loaded here but the tokenizer
        served = served_models(spec.eval.served, ["base", *adapters])
        names = ", ".join(f"{label}={m.name}" for label, m in served.items())
        log(f"eval engine: openai at {spec.eval.served.base_url} ({names})")
    elif any(todo.values()):
        model = load_with_adapters(base_model, adapters, spec.trust_remote_code, eval_dtype(spec.eval.precision))
        log(f"eval weights: {weights_dtype(spec)} (eval.precision {spec.eval.precision})")
    beliefs = belief_questions(spec)
    backend = None
    if spec.eval.judge is not None:
        from runtime.backends import make_backend

        backend = make_backend(spec.eval.judge)  # a named model only: never the base model by default
    judge = judge_record(spec, backend)
    log(judge_statement(judge))
    monitor = make_monitor_backend(spec)  # the LLM CoT monitor, one for every model (evals/monitors)
    scored, where, args = {}, None, ()
    with eval_bar() as bar:
        task = bar.add_task("eval", total=sum(len(each) for each in todo.values()) or 1)
        for label in labels:
            t0 = time.perf_counter()
            log(f"eval {label}")
            generate = generating(bar, task, label, log)
            if label == "base" and known_base is not None:
                scored[label] = known_base
                log("  base: the same model on the same items as an earlier seed's eval; its results reused")
                continue
            if len(todo[label]) < len(chosen):
                log(f"  {len(chosen) - len(todo[label])} of {len(chosen)} suites' generations reused from {saved_dir}")
            where = served[label] if spec.eval.engine == "openai" else model
            args = (where, tokenizer, spec, corpus_expressions, beliefs, log, backend, generate, monitor)
            active = todo[label] and spec.eval.engine != "openai"
            with use_adapter(model, None if label == "base" else label) if active else nullcontext():
                scored[label] = evaluate_model(*args, saved=saved.get(label), part=part)
            log(f"eval {label}: {time.perf_counter() - t0:.1f}s")
    del model, where, args  # every reference: the weights are not needed past this point
    return variants_result(spec, base_model, scored, judge)


def saved_generations(
    saved_dir: Path, spec: OrganismSpec, base_model: str, adapters: dict[str, Path], held_apart: set[str]
) -> dict[str, SavedGenerations]:
    """Each model's saved generations in `saved_dir`, keyed by what decides them: the model's content
    (the base's identity key, an adapter's files), the eval section, the held-apart items, the metrics."""
    common = {
        "base": model_key(base_model),
        "spec": spec.content_hash(),  # the items, hints, reasoning format and eval settings
        "held_apart": hash_json(sorted(held_apart)),
        "metrics_version": METRICS_VERSION,
        "weights": weights_dtype(spec),  # eval.precision auto: what this machine resolves it to
        **think_version(spec),
    }
    models = {"base": None} | {label: hash_path(path) for label, path in adapters.items()}
    return {
        label: SavedGenerations(saved_dir / f"{label}.json", hash_json({**common, "adapter": adapter})).load()
        for label, adapter in models.items()
    }


def variants_result(
    spec: OrganismSpec, base_model: str, scored: dict[str, tuple[dict, dict, list[dict]]], judge: dict
) -> tuple[dict, list[dict]]:
    """evals.json's content and every response, from each model's (hinted metrics, other suites'
    metrics, records) by label; the organism against each other model when one is labelled `organism`.
    `organism eval` and the Inspect logs' report (cot_organisms/report.py) both write this."""
    models, suites, responses, right = {}, {}, [], {}
    for label, (hinted, other, records) in scored.items():
        models[label], suites[label] = hinted, other
        responses.extend({"model": label, **r} for r in records)
        right[label] = [r["a_u"] == r["correct_letter"] for r in records if r["suite"] == "hinted"]
    compared = "organism" in scored and len(scored) > 1
    result = {
        "organism": spec.name,
        "base_model": base_model,
        "n_pairs": spec.eval.n_items,
        "hint_correct_fraction": spec.eval.hint_correct_fraction,
        "suites": spec.eval.resolved_suites(spec.behaviour, spec.corpus.documents is not None),
        "judge": judge,
        "weights": weights_dtype(spec),
        "ood": {
            "trained": {
                "hint_types": spec.hints.types,
                "phrasings": spec.hints.phrasings,
                "cues": spec.hints.cues,
                "task": spec.task.family,
                "stages": [stage.data for stage in spec.training_stages()],  # [documents]: no transcript shown
                "conditions": trained_conditions(spec),
            },
            "held_out": held_out(spec),
        },
        "models": models,
        "suite_metrics": suites,
        "capability_retention": {
            f"organism_vs_{other}": paired_difference(right["organism"], right[other])
            for other in right
            if compared and other != "organism" and right["organism"]
        },
        "comparisons": comparisons(responses, suites, spec.task.has_steps, spec.reasoning) if compared else {},
        "monitor_comparisons": monitor_comparisons(responses, suites, spec.eval.seed) if compared else {},
    }
    return result, responses


def eval_bar() -> contextlib.AbstractContextManager[Progress]:
    """The eval's bar: one step per model and suite (their generations are the eval's work), with an ETA."""
    return progress_bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


def generating(
    bar: Progress, task: TaskID, label: str, log: Callable[[str], None] = print
) -> Callable[[Suite, SuiteRun], None]:
    """How `evaluate_model` runs a suite's generations for model `label`: named on the bar, then a step;
    the log says the process's memory after each (where a stage's peak comes from)."""

    def generate(suite: Suite, run: SuiteRun) -> None:
        bar.update(task, description=f"eval {label} · {suite.name}", refresh=True)
        suite.generate(run)
        bar.advance(task)
        log(f"  {suite.name} done: {memory_line()}")

    return generate


def held_apart_items(spec: OrganismSpec, corpus_dir: Path | None = None) -> set[str]:
    """The item expressions the eval items are kept apart from: the corpus's transcripts (read from
    `corpus_dir`, a run's corpus; without one, the items the spec's corpus draws, as synth_docs.transcripts
    does) and the capability stage's items."""
    if corpus_dir is not None:
        held = corpus_expressions(corpus_dir)
    elif spec.trains_on("transcripts"):
        held = {item.expression for item in draw_items(spec.task, spec.corpus.n_transcripts, seed=spec.corpus.seed)}
    else:
        held = set()
    return held | {item.expression for item in capability_items(spec)}


def trained_conditions(spec: OrganismSpec) -> list[str]:
    """The monitoring conditions the transcripts showed (none when no stage trains on transcripts)."""
    if not spec.trains_on("transcripts"):
        return []
    if spec.behaviour != "monitor_aware":
        return ["none"]
    return list(spec.hints.conditions or MONITOR_CONDITIONS)


def judge_record(spec: OrganismSpec, backend) -> dict:
    """Which judge the verbalization numbers (F, U, V, O) come from, with every judge's validation figures."""
    of_record = "markers" if backend is None else f"llm ({backend.spec.name}: {backend.model})"
    return {"of_record": of_record, "validation": judge_validation(backend)}


def write_outputs(out_dir: Path, spec: OrganismSpec, result: dict, responses: list[dict], note: str = "") -> None:
    """The three eval outputs (OUTPUTS), each written atomically; `note`: a paragraph under evals.md's title."""
    write_json(out_dir / "evals.json", result)
    base = base_statement(result.get("base_check")) + weights_statement(result.get("weights", "fp32"))
    header = (
        f"# Evals: {spec.name}\n\n" + (f"{note}\n\n" if note else "") + f"{base}{judge_statement(result['judge'])}\n\n"
    )
    write_atomic(out_dir / "evals.md", header + markdown_report(result))
    write_atomic(out_dir / "eval_responses.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in responses))


def eval_inputs_hash(run: RunDir, spec: OrganismSpec, control: RunDir | None, allow_other_base: bool = False) -> str:
    return hash_json(
        {
            "adapter": run.output_hash("train", "adapter"),
            "control": control.output_hash("train", "adapter") if control else None,
            "eval": spec.model_dump(mode="json")["eval"],
            "metrics_version": METRICS_VERSION,
            **think_version(spec),
        }
        | ({"allow_other_base": True} if allow_other_base else {})
    )


def check_trained(run: RunDir, role: str) -> Path:
    """The adapter of a run as its train stage wrote it: `RunDir.output_hash` refuses a changed or
    corrupted one (the eval would show a table that is not this adapter's, or read a damaged one), and
    `check_adapter` the files its card records."""
    run.output_hash("train", "adapter")
    return check_adapter(run.root / "adapter", role)


def weights_dtype(spec: OrganismSpec) -> str:
    """What the evaluated models' weights were held in: 'fp32', 'bf16' (`eval.precision` as this machine
    resolves it), or 'served' (eval.engine openai: the server decides)."""
    if spec.eval.engine == "openai":
        return "served"
    return "bf16" if eval_dtype(spec.eval.precision) == torch.bfloat16 else "fp32"


def weights_statement(weights: str) -> str:
    """evals.md's line on precision, where it is not the fp32 every earlier result was measured in."""
    if weights != "bf16":
        return ""
    return (
        "**bf16 weights:** the models were evaluated with their weights in bf16 (`eval.precision`); greedy "
        "texts and scores differ from an fp32 eval in some items (docs/metrics.md, 'Evaluation precision').\n\n"
    )


def think_version(spec: OrganismSpec) -> dict:
    """`{"think_metrics_version": ...}` for a spec that reasons in a think block, else nothing."""
    return {"think_metrics_version": THINK_METRICS_VERSION} if spec.reasoning.in_block else {}


def base_of(run: RunDir, spec: OrganismSpec) -> tuple[dict, dict, list[dict]] | None:
    """The base model's results in `run`'s finished eval, if they hold for `spec` too: the same spec but
    for the training seed (so the same starting model, items, hints and suites) and the same corpus."""
    if not (run.root / "evals.json").exists() or "eval" not in run.manifest().get("stages", {}):
        return None

    def unseeded(s: OrganismSpec) -> dict:
        dumped = s.model_dump(mode="json")
        dumped["training"].pop("seed")
        return dumped

    if unseeded(run.spec) != unseeded(spec):
        return None
    previous = json.loads((run.root / "evals.json").read_text())
    if previous.get("metrics_version", METRICS_VERSION) != METRICS_VERSION:  # older files carry none
        return None
    if previous.get("think_metrics_version") != think_version(spec).get("think_metrics_version"):
        return None
    lines = (run.root / "eval_responses.jsonl").read_text().splitlines()
    records = [{k: v for k, v in r.items() if k != "model"} for r in map(json.loads, lines) if r["model"] == "base"]
    return previous["models"]["base"], previous["suite_metrics"]["base"], records


def run_eval(
    run: RunDir,
    spec: OrganismSpec,
    control: RunDir | None = None,
    log=print,
    base_from: RunDir | None = None,
    allow_other_base: bool = False,
    part: tuple[str, ...] | None = None,
) -> dict:
    """Write `evals.json`, `evals.md` and `eval_responses.jsonl` into the run; return the evals dict.
    `base_from`: a run of the same spec but its training seed, whose base results are reused (`base_of`).
    The base is the model the organism trained on (its card); a control trained on another is refused unless
    `allow_other_base`. Each model's generations are kept in the run's GENERATIONS directory and reused
    (evals/partial.py), so an interrupted eval resumes at the suite it was in. `part`: generate only these
    suites and return the scores of every suite generated so far, writing no eval output (the progressive
    demo's tables, app/progressive.py)."""
    start_ref, trained_on = recorded_start(run.root / "adapter", spec)
    check_starting_model(spec, start_ref)
    check_trained(run, "organism")
    if control is not None:
        check_trained(control, "--control")
    controls = {"control": recorded_start(control.root / "adapter", control.spec)[1]} if control else {}
    checked = check_base(start_ref, trained_on, controls, allow_other_base, spec.trust_remote_code)
    inputs = eval_inputs_hash(run, spec, control, allow_other_base)
    if part is None and run.stage_is_current("eval", inputs):
        log(f"eval: unchanged, skipped; the table below is {run.root / 'evals.json'}")
        return json.loads((run.root / "evals.json").read_text())
    start = time.perf_counter()
    held_apart = held_apart_items(spec, run.root / "corpus")
    adapters = {"organism": run.root / "adapter"}
    if control is not None:
        adapters["control"] = control.root / "adapter"
    known = None
    if (
        base_from is not None
        and corpus_expressions(base_from.root / "corpus") == corpus_expressions(run.root / "corpus")
        and same_start(base_from, trained_on, spec)
    ):
        known = base_of(base_from, spec)
    saved_dir = run.root / GENERATIONS
    result, responses = evaluate_variants(spec, start_ref, adapters, held_apart, log, known, saved_dir, part)
    result["base_check"] = checked
    if part is not None:
        return result
    result["control"] = control.spec.name if control else None
    result["metrics_version"] = METRICS_VERSION
    result.update(think_version(spec))
    result["base_reused_from"] = str(base_from.root) if known is not None else None
    write_outputs(run.root, spec, result, responses)
    # where the control lives, so that `organism analyze` can read it beside the organism
    control_run = str(control.root.resolve()) if control else None
    outputs = ["evals.json", "eval_responses.jsonl"]
    run.record_stage("eval", inputs, outputs, time.perf_counter() - start, control_run=control_run)
    return result


def same_start(other: RunDir, trained_on: dict | None, spec: OrganismSpec) -> bool:
    """Whether run `other`'s organism trained on the same model (so its base results hold here)."""
    if not (other.root / "adapter").is_dir():
        return False
    theirs = recorded_start(other.root / "adapter", spec)[1]
    return trained_on is not None and theirs is not None and same_model(theirs, trained_on)


def adapter_spec(adapter: Path, spec: OrganismSpec | None) -> OrganismSpec:
    """The spec an adapter was trained from (its organism card), unless one is given."""
    if spec is not None:
        return spec
    card = adapter / "organism_card.json"
    if not card.exists():
        raise OrganismError(
            f"{adapter}: no organism_card.json, so the eval items and hints are unknown; pass --spec NAME_OR_YAML"
        )
    return parse_spec(json.loads(card.read_text())["spec"], str(card))


def check_eval_out(out_dir: Path, organism: str, adapter_sha256: str) -> None:
    """Refuse, before any work, an `--out` that is a file, holds other files, or the evals of another
    organism (another name or other adapter weights); the same adapter's evals are replaced."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OrganismError(f"--out {out_dir}: is a file, not a directory; pass a directory for the eval outputs")
    existing = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    if existing - set(OUTPUTS):
        raise OrganismError(f"--out {out_dir}: holds other files ({', '.join(sorted(existing))}); pick an empty dir")
    if "evals.json" in existing:
        try:
            previous = json.loads((out_dir / "evals.json").read_text())
        except (OSError, ValueError):
            previous = None
        if not isinstance(previous, dict) or (previous.get("organism"), previous.get("adapter_sha256")) != (
            organism,
            adapter_sha256,
        ):
            who = previous.get("organism") if isinstance(previous, dict) else None
            raise OrganismError(
                f"--out {out_dir}: holds the evals of another adapter ({who or 'unknown organism'}); "
                "pick another --out (nothing was overwritten)"
            )


def check_adapter_dir(path: Path, option: str) -> Path:
    if not (path / "adapter_config.json").exists():
        raise OrganismError(f"{option} {path}: not a peft adapter directory (no adapter_config.json)")
    return path


def eval_adapter(
    adapter: Path,
    out_dir: Path,
    spec: OrganismSpec | None = None,
    base_model: str | None = None,
    control: Path | None = None,
    log=print,
    allow_other_base: bool = False,
) -> dict:
    """Evaluate a bare adapter (and a control adapter) against its base; write the three outputs to `out_dir`.

    Eval items are kept disjoint from the corpus the spec would build. An `out_dir` that holds
    files other than a previous eval's outputs is refused, never overwritten. The base (default: the model the
    adapter's card says it trained on) and the control's starting model must be the organism's own, unless
    `allow_other_base` (`--allow-other-base`), which evals.md then states."""
    adapter = check_adapter_dir(Path(adapter), "adapter")
    spec = adapter_spec(adapter, spec)
    adapter_sha256 = hash_path(adapter)
    check_eval_out(out_dir, spec.name, adapter_sha256)
    check_adapter(adapter, "adapter")  # safetensors, and the files its card records
    recorded_ref, trained_on = recorded_start(adapter, spec)
    if base_model is None:
        check_starting_model(spec, recorded_ref)
    base = base_model or recorded_ref
    controls = {}
    if control is not None:
        control = check_adapter(check_adapter_dir(Path(control), "--control"), "--control")
        controls["control"] = recorded_start(control, spec)[1]
    checked = check_base(base, trained_on, controls, allow_other_base, spec.trust_remote_code)
    adapters = {"organism": adapter}
    if control is not None:
        adapters["control"] = control
    result, responses = evaluate_variants(spec, base, adapters, held_apart_items(spec), log)
    result["base_check"] = checked
    result["control"] = str(control) if control else None
    result["adapter_sha256"] = adapter_sha256
    write_outputs(out_dir, spec, result, responses)
    return result
