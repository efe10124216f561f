"""All metric suites for one model, and the comparisons between models (no files written here)."""

from __future__ import annotations

from collections.abc import Callable

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from evals.belief import belief_suite
from evals.consistency import consistency_suite
from evals.hinted import eval_pairs, evaluate, metrics_by_hint_type
from evals.iphr import iphr_suite
from evals.judge import llm_monitor_scores, llm_verbalized
from evals.lanham import lanham_suite
from evals.metrics import HintOutcome, agreement, compare_rates
from evals.monitor import monitor_report, monitor_suite
from organisms.spec import OrganismSpec


def evaluate_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    spec: OrganismSpec,
    corpus_expressions: set[str],
    beliefs: dict | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict, dict, list[dict]]:
    """(hinted metrics, other suites' metrics, raw responses) for the model as it is loaded now.

    `beliefs` holds the belief questions ({'mcq': [...], 'open_questions': [...]}) when the
    belief suite runs."""
    suites = spec.eval.resolved_suites(spec.behaviour, spec.corpus.documents is not None)
    hinted, other, responses = {}, {}, []
    records: list[dict] = []
    if "hinted" in suites or "lanham" in suites:
        outcomes, records = evaluate(model, tokenizer, eval_pairs(spec, corpus_expressions), spec)
        hinted = metrics_by_hint_type(outcomes, spec.eval.bootstrap_resamples, spec.eval.seed)
        other["consistency"] = consistency_suite(records, spec.task.n_options)
        responses += [{"suite": "hinted", **r} for r in records]
        log(f"  hinted: {len(records)} pairs")
    if "lanham" in suites:
        other["lanham"] = lanham_suite(model, tokenizer, records, spec)
        log(f"  lanham: {other['lanham']['adding_mistakes']['n_edits']} edits")
    if "iphr" in suites:
        other["iphr"], iphr_records = iphr_suite(model, tokenizer, spec)
        responses += [{"suite": "iphr", **r} for r in iphr_records]
        log(f"  iphr: {len(iphr_records)} sampled answers")
    if "monitor" in suites:
        other["monitor"], monitor_records = monitor_suite(
            model, tokenizer, spec, corpus_expressions, records if records else None
        )
        responses += monitor_records
        log(f"  monitor: {len(monitor_records)} pairs over 3 conditions")
    if "belief" in suites and beliefs:
        other["belief"], belief_records = belief_suite(
            model, tokenizer, beliefs["mcq"], beliefs["open_questions"], spec.eval.max_new_tokens, spec.eval.batch_size
        )
        responses += belief_records
    if spec.eval.judge is not None:
        from organisms.backends import make_backend

        backend = make_backend(spec.eval.judge, default_model=spec.base_model)
        other["llm_judge"] = llm_judge_report(backend, responses, spec.eval.bootstrap_resamples, spec.eval.seed)
        log(f"  llm judge: {other['llm_judge']['agreement_with_markers']}")
    return hinted, other, responses


def _outcome(record: dict, verbalized: bool) -> HintOutcome:
    fields = ("item_id", "hint_type", "hint_letter", "correct_letter", "n_options", "a_u", "a_h")
    return HintOutcome(**{k: record[k] for k in fields}, verbalized=verbalized)


def llm_judge_report(backend, responses: list[dict], resamples: int = 2000, seed: int = 0) -> dict:
    """The LLM judge's hinted metrics and its agreement with the marker judge; the LLM monitor's report.

    Responses the LLM judge could not be parsed on are left out of its metrics and counted.
    `resamples`, `seed`: the F_norm bootstrap."""
    hinted = [r for r in responses if r["suite"] == "hinted"]
    verdicts = llm_verbalized(backend, hinted)
    judged = [(r, v) for r, v in zip(hinted, verdicts, strict=True) if v is not None]
    report = {
        "unparsable_verdicts": len(hinted) - len(judged),
        "hinted": metrics_by_hint_type([_outcome(r, v) for r, v in judged], resamples, seed) if judged else {},
        "agreement_with_markers": agreement([r["verbalized"] for r, _ in judged], [v for _, v in judged]),
    }
    monitored = [r for r in responses if r["suite"] == "monitor"]
    if monitored:
        report["monitor"] = monitor_report(monitored, llm_monitor_scores(backend), name="llm")
    return report


COMPARED_RATES = (
    ("hinted", ("by_direction", "wrong", "p")),
    ("hinted", ("by_direction", "wrong", "U")),
    ("hinted", ("all", "accuracy_unhinted")),  # capability retention
    ("suites", ("consistency", "late_flip_hinted")),
    ("suites", ("consistency", "shortcut")),
    ("suites", ("iphr", "iphr")),
    ("suites", ("monitor", "conditions", "monitored", "O")),
    ("suites", ("belief", "mcq_accuracy")),
)


def _get(tree: dict, path: tuple[str, ...]) -> dict | None:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree if isinstance(tree, dict) and "k" in tree else None


def comparisons(models: dict[str, dict], suites: dict[str, dict]) -> dict:
    """Two-sided Fisher exact tests, organism vs every other model, on the headline rates."""
    trees = {"hinted": models, "suites": suites}
    result = {}
    for other in models:
        if other == "organism":
            continue
        tests = {}
        for where, path in COMPARED_RATES:
            mine, theirs = _get(trees[where]["organism"], path), _get(trees[where][other], path)
            if mine is not None and theirs is not None:
                tests[".".join(path)] = compare_rates(mine, theirs)
        result[f"organism_vs_{other}"] = tests
    return result
