"""Inspect logs of the cot_organisms tasks -> this project's records -> evals.json, evals.md and
eval_responses.jsonl, as `organism eval` writes them (`organism inspect-report`).

Each sample's score holds its records as `organism eval` builds them (`evals.hinted.pair_record`), with
their suite and place. Here they are put back in order, per model, into a `SuiteRun`, and scored by the
suites' own scoring (`evals.suites.score_model`: the hinted suite with consistency, the held-out axes,
the monitor suite with every monitor it reports); necessity's rows by `evals.necessity.necessity_metrics`.
The result is assembled by `evals.stage.variants_result` and written by `evals.stage.write_outputs`, so
a model evaluated through Inspect reads like any other. Nothing here defines a metric.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evals.necessity import necessity_metrics
from evals.registry import SUITES, sections
from evals.results import Difference, Estimate, PairedDifference, Rate, read_value
from evals.stage import OUTPUTS, judge_record, variants_result, write_outputs
from evals.suite import SuiteRun
from evals.suites import score_model
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, parse_spec

# The suites whose records the tasks generate (hinted with its held-out axes, monitor); every other
# suite needs this project's model in hand (log-probabilities of CoT prefixes, hidden states, sampling).
FROM_INSPECT = ("hinted", "ood", "monitor")
# Suites that generate nothing but verdicts on other suites' records (no model needed): their `generate` runs on
# the records from the logs before any suite scores: the CoT monitors (evals/monitors; the llm monitor calls
# the backend `eval.monitor` names, when it names one).
ON_RECORDS: tuple[str, ...] = ("monitors",)
OOD_AXES = ("phrasing", "hint_type", "task")  # evals.ood.ood_pairs' order
NO_NECESSITY = "n/a: no log of the cot_organisms/necessity task for this model"


def score_entries(spec: OrganismSpec, entries: list[dict], judge_backend=None) -> tuple[dict, dict, list[dict]]:
    """(hinted metrics, other suites' metrics, records) of one model from its samples' entries
    ({suite, rank, record}), as `evals.suites.evaluate_model` returns them for a model loaded here."""
    by_suite: dict[str, list[dict]] = {}
    for entry in sorted(entries, key=lambda e: (e["suite"], e["rank"])):
        by_suite.setdefault(entry["suite"], []).append(dict(entry["record"]))
    run = SuiteRun(None, None, spec, set(), None, log=lambda _: None)
    run.records = {suite: by_suite[suite] for suite in FROM_INSPECT if suite in by_suite}
    necessity = by_suite.get("necessity", [])
    if necessity:
        correct = [r["correct_letter"] for r in necessity]
        run.metrics["necessity"] = necessity_metrics(
            correct, [r["a_cot"] for r in necessity], [r["a_no_cot"] for r in necessity]
        )
        _no_cot_answers_on(run.records, necessity)
    elif "hinted" in run.records:
        run.metrics["necessity"] = NO_NECESSITY
    suites = [s for s in SUITES if s.name in run.records or (s.name in ON_RECORDS and run.records)]
    for suite in suites:
        if suite.name in ON_RECORDS:
            suite.generate(run)
    return score_model(run, suites, judge_backend)


def _no_cot_answers_on(records: dict[str, list[dict]], necessity: list[dict]) -> None:
    """Each in-distribution record gets its item's no-CoT answer (`a_no_cot`), as `organism eval`'s hinted
    suite leaves it on them (and on the unmonitored condition's, which reuse them)."""
    hinted = records.get("hinted", [])
    if len(hinted) != len(necessity) or any(
        h["item_id"] != n["item_id"] for h, n in zip(hinted, necessity, strict=True)
    ):
        return
    by_item = {n["item_id"]: n["a_no_cot"] for n in necessity}
    for record in hinted:
        record["a_no_cot"] = by_item[record["item_id"]]
    for record in records.get("monitor", []):
        if record["condition"] == "none" and record["cue_split"] == "trained":
            record["a_no_cot"] = by_item[record["item_id"]]


def model_tree(hinted: dict, other: dict) -> dict:
    """One model's result tree, as table rows read it (`evals.results.model_tree`)."""
    return {"hinted": hinted, "suites": other}


def row_values(tree: dict) -> dict[str, float]:
    """Every row of evals.md with a value in `tree` (a rate or estimate also gives its interval's bounds),
    then p, F and U per hint type: the numbers an Inspect metric shows."""
    out: dict[str, float] = {}
    for section in sections():
        for row in section.rows:
            value = read_value(row.value(tree))
            _put(out, row.label, value)
    hinted = tree["hinted"] or {}
    for hint_type, metrics in hinted.items():
        if hint_type in ("all", "by_direction"):
            continue
        for key in ("p", "F", "U"):
            _put(out, f"{hint_type}: {key}", read_value(metrics[key]))
    return out


def _put(out: dict[str, float], label: str, value: object) -> None:
    if isinstance(value, Rate | Estimate | Difference):
        if value.value is None:
            return
        out[label] = value.value
        if value.ci95 is not None:
            low, high = value.ci95
            if low is not None:
                out[f"{label} [95% CI low]"] = low
            if high is not None:
                out[f"{label} [95% CI high]"] = high
    elif isinstance(value, PairedDifference):
        if value.value is not None:
            out[label] = value.value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[label] = float(value)


# --- the logs --------------------------------------------------------------------------------------


def log_files(path: Path) -> list[Path]:
    """A log file, or every log file in a directory (as `inspect view` lists them)."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in (".eval", ".json") and not p.name.startswith("."))
        if not found:
            raise OrganismError(f"{path}: no Inspect logs (.eval or .json) in this directory")
        return found
    if not path.exists():
        raise OrganismError(f"{path}: no such Inspect log")
    return [path]


def read_logs(logs: list[tuple[str | None, Path]]) -> tuple[OrganismSpec, dict[str, list[dict]], dict[str, dict]]:
    """(spec, entries per model label, provenance per label) of the tasks' logs. A label is given
    (LABEL=PATH) or the log's model; every log must be a finished run of a cot_organisms task on one spec."""
    from inspect_ai.log import read_eval_log

    spec_dump, entries, provenance = None, {}, {}
    seen: set[tuple[str, str]] = set()
    for label, path in logs:
        for file in log_files(path):
            log = read_eval_log(str(file))
            task = log.eval.task_registry_name or log.eval.task
            if "spec" not in (log.eval.metadata or {}) or not task.startswith("cot_organisms/"):
                raise OrganismError(f"{file}: not a log of a cot_organisms task ({task})")
            if log.status != "success":
                raise OrganismError(f"{file}: the eval did not finish ({log.status}); rerun it (`inspect eval-retry`)")
            if spec_dump is None:
                spec_dump = log.eval.metadata["spec"]
            elif log.eval.metadata["spec"] != spec_dump:
                raise OrganismError(f"{file}: another spec than the other logs'; one report is over one spec")
            name = label or log.eval.model
            if (name, task) in seen:
                raise OrganismError(f"{file}: a second log of {task} for {name}; pass one per task and model")
            seen.add((name, task))
            entries.setdefault(name, [])
            for sample in log.samples or []:
                if sample.epoch != 1:
                    continue  # the tasks decode greedily: one epoch is the eval
                if sample.error is not None:
                    raise OrganismError(f"{file}: sample {sample.id} failed ({sample.error.message}); rerun it")
                scores = (sample.scores or {}).values()
                found = [s.metadata["records"] for s in scores if "records" in (s.metadata or {})]
                if not found:
                    raise OrganismError(f"{file}: sample {sample.id} has no scored records; score the log again")
                entries[name].extend(found[0])
            info = provenance.setdefault(name, {"model": log.eval.model, "model_args": log.eval.model_args, "logs": []})
            if info["model"] != log.eval.model or info["model_args"] != log.eval.model_args:
                raise OrganismError(f"{file}: label {name} names two models ({info['model']}, {log.eval.model})")
            info["logs"].append({"file": str(file), "task": task, "task_args": log.eval.task_args})
    if spec_dump is None:
        raise OrganismError("no Inspect logs given")
    return parse_spec(spec_dump, "the spec stored in the Inspect logs"), entries, provenance


def parse_log_args(args: list[str]) -> list[tuple[str | None, Path]]:
    """`[LABEL=]PATH` arguments: the label names the model in the tables (base, organism, control: the
    organism is then compared with the others); without one, the log's model names it."""
    out = []
    for arg in args:
        label, sep, path = arg.partition("=")
        if sep and label and "/" not in label and not Path(arg).exists():
            out.append((label, Path(path)))
        else:
            out.append((None, Path(arg)))
    return out


def write_report(logs: list[tuple[str | None, Path]], out_dir: Path, log: Callable[[str], None] = print) -> dict:
    """evals.json, evals.md and eval_responses.jsonl in `out_dir` from the logs; returns evals.json's
    content. The judge of record is the spec's: its `eval.judge` (an LLM, called here) when it names one."""
    spec, entries, provenance = read_logs(logs)
    existing = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    if (out_dir.exists() and not out_dir.is_dir()) or existing - set(OUTPUTS):
        raise OrganismError(f"--out {out_dir}: holds other files ({', '.join(sorted(existing))}); pick an empty dir")
    backend = None
    if spec.eval.judge is not None:
        from runtime.backends import make_backend

        backend = make_backend(spec.eval.judge)
    scored = {}
    for label, model_entries in entries.items():
        scored[label] = score_entries(spec, model_entries, backend)
        log(f"{label}: {len(model_entries)} records from {len(provenance[label]['logs'])} log(s)")
        # a provider that does not continue the prefilled 'Answer: (' gives no letter: counted wrong, and said
        forced = [e["record"]["a_no_cot"] for e in model_entries if e["suite"] == "necessity"]
        provenance[label]["no_cot_unreadable"] = sum(a is None for a in forced)
        if forced and None in forced:
            log(
                f"{label}: {forced.count(None)}/{len(forced)} forced answers gave no option letter (counted wrong); "
                "does the model continue a prefilled assistant turn? (docs/inspect.md)"
            )
    base = provenance["base"]["model"] if "base" in provenance else None
    result, responses = variants_result(spec, base, scored, judge_record(spec, backend))
    present = {e["suite"] for es in entries.values() for e in es}
    # the suites as eval.suites names them: necessity and the held-out axes are parts of the hinted suite
    parts = {"hinted": {"hinted", "ood", "necessity"}, "monitor": {"monitor"}}
    result["suites"] = [suite for suite, names in parts.items() if present & names]
    result["inspect"] = provenance
    note = "From Inspect logs: " + "; ".join(f"{label} = {info['model']}" for label, info in provenance.items())
    write_outputs(out_dir, spec, result, responses, note=note + ".")
    return result
