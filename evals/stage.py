"""The `eval` stage: base, organism and (optionally) its control on the same held-out pairs."""

from __future__ import annotations

import json
import time

from evals.hinted import eval_pairs, evaluate, metrics_by_hint_type
from evals.metrics import compare_rates
from evals.table import markdown_table
from organisms.models import load_tokenizer, load_with_adapters, use_adapter
from organisms.rundir import RunDir, hash_json
from organisms.spec import OrganismSpec
from synth_docs.corpus import load_corpus

# Bump when the metrics or the evals.json layout change, so finished evals are recomputed.
METRICS_VERSION = 2


def eval_inputs_hash(run: RunDir, spec: OrganismSpec, control: RunDir | None) -> str:
    return hash_json(
        {
            "adapter": run.output_hash("train", "adapter"),
            "control": control.output_hash("train", "adapter") if control else None,
            "eval": spec.model_dump(mode="json")["eval"],
            "metrics_version": METRICS_VERSION,
        }
    )


def run_eval(run: RunDir, spec: OrganismSpec, control: RunDir | None = None, log=print) -> dict:
    """Write `evals.json`, `evals.md` and `eval_responses.jsonl`; return the evals dict."""
    inputs = eval_inputs_hash(run, spec, control)
    if run.stage_is_current("eval", inputs):
        return json.loads((run.root / "evals.json").read_text())
    start = time.perf_counter()
    corpus_expressions = {r["expression"] for r in load_corpus(run.root / "corpus")}
    pairs = eval_pairs(spec, corpus_expressions)
    adapters = {"organism": run.root / "adapter"}
    if control is not None:
        adapters["control"] = control.root / "adapter"
    model = load_with_adapters(spec.base_model, adapters)
    tokenizer = load_tokenizer(spec.base_model)
    variants = {"base": None, **{name: name for name in adapters}}
    models, responses = {}, []
    for label, adapter in variants.items():
        t0 = time.perf_counter()
        with use_adapter(model, adapter):
            outcomes, records = evaluate(model, tokenizer, pairs, spec)
        models[label] = metrics_by_hint_type(outcomes)
        responses.extend({"model": label, **r} for r in records)
        log(f"eval {label}: {len(pairs)} pairs in {time.perf_counter() - t0:.1f}s")
    comparisons = {
        f"organism_vs_{other}": {
            key: compare_rates(models["organism"]["all"][key], models[other]["all"][key])
            for key in ("p", "U", "accuracy_unhinted")
        }
        for other in models
        if other != "organism"
    }
    result = {
        "organism": spec.name,
        "control": control.spec.name if control else None,
        "n_pairs": len(pairs),
        "hint_points_to": "wrong",
        "judge": "markers",
        "models": models,
        "comparisons_fisher_exact": comparisons,
    }
    run.write_json("evals.json", result)
    run.write_text("evals.md", f"# Evals: {spec.name}\n\n" + markdown_table(models))
    run.write_text("eval_responses.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in responses))
    run.record_stage("eval", inputs, ["evals.json", "eval_responses.jsonl"], time.perf_counter() - start)
    return result
