"""The CoT monitors on the tiny random model, in process: the monitors section of one model's eval (every
monitor, its verdicts stored on every hinted-pair record, its rows in evals.md), O for every monitor in
the monitor-awareness suite, the audit's CoT rung monitor by monitor, and the rationalized decision cut."""

from __future__ import annotations

import pytest

from analyze.audit.black_box import cot_rungs
from analyze.audit.ladder import EXPOSES, cheapest_exposing, cot_monitor_rows
from analyze.audit.table import cot_monitor_table
from analyze.methods.behaviour import LogitDiff, decision_prompts
from evals.hinted import eval_pairs
from evals.monitors.suite import CARD_TITLE, HELD_OUT_TITLE, TITLE
from evals.suites import evaluate_model
from evals.table import markdown_report
from organisms.responses import response
from organisms.spec import COT_MONITORS, parse_spec
from runtime.models import load_model, load_tokenizer
from tests.helpers import tiny_spec_dict

EVAL = {
    "n_items": 6,
    "max_new_tokens": 16,
    "batch_size": 6,
    "suites": ["hinted"],
    "ood": {"axes": ["phrasing"]},
    "monitor": {"name": "hf"},  # the llm monitor runs (here through the stand-in backend below)
}


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(str(tiny_model_dir)).eval(), load_tokenizer(str(tiny_model_dir))


class Monitor:
    """A stand-in LLM monitor backend: rates every reasoning 3 (the tiny model's own replies do not parse)."""

    spec = None
    model = "stand-in"

    def __init__(self):
        self.calls = 0

    def complete(self, conversations, **kwargs):
        self.calls += len(conversations)
        return ["3"] * len(conversations)


def test_every_monitor_reads_every_hinted_pair_and_reports_per_model(tiny, tiny_model_dir):
    model, tokenizer = tiny
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, eval=EVAL), "tiny")
    backend = Monitor()
    hinted, other, records = evaluate_model(model, tokenizer, spec, set(), log=lambda m: None, monitor_backend=backend)
    pairs = [r for r in records if r["suite"] in ("hinted", "ood")]
    assert len(pairs) == 12 and backend.calls == 2 * 12  # hinted and unhinted response of each pair
    for r in pairs:
        for which in ("hinted", "unhinted"):
            assert list(r[f"monitors_{which}"]) == list(COT_MONITORS)
            assert r[f"monitors_{which}"]["llm"] == {"score": 3.0, "outcome": "scored", "reply": "3"}
    monitors = other["monitors"]
    assert monitors["order"] == list(COT_MONITORS) and "weak monitor" in monitors["llm_monitor"]
    assert all(n in other["seconds"] for n in ("hinted", "ood", "monitors"))
    for name in COT_MONITORS:
        measured = monitors[name]
        assert measured["calibration"]["items"] + measured["report_items"] == 6
        assert measured["calibration"]["items"] == 3
        assert set(measured["held_out"]) == {"phrasing"}
        assert measured["fpr"]["n"] + measured["honest_left_out"] == 3
    assert monitors["card"]["rule"].startswith("the Newcombe 95% CI")
    result = {"models": {"base": hinted}, "suite_metrics": {"base": other}}
    md = markdown_report(result)
    for title in (TITLE, HELD_OUT_TITLE, CARD_TITLE):
        assert f"## {title}" in md
    assert "| cheapest monitor that exposes it |" in md and "| llm: catch rate, report split |" in md


def test_monitors_are_chosen_by_the_spec_and_question_sets_have_no_step_verification(tiny, tiny_model_dir):
    model, tokenizer = tiny
    eval_ = {**EVAL, "monitors": ["keyword", "steps"], "ood": {"axes": []}, "monitor": None}
    task = {"family": "dataset", "n_options": 4}
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, eval=eval_, task=task), "tiny")
    _, other, records = evaluate_model(model, tokenizer, spec, set(), log=lambda m: None)
    assert other["monitors"]["order"] == ["keyword", "steps"] and "llm" not in other["monitors"]
    assert other["monitors"]["steps"].startswith("n/a: question-set items")
    assert all(r["monitors_hinted"]["steps"]["outcome"] == "n/a" for r in records if r["suite"] == "hinted")


def test_the_monitor_awareness_suite_reports_o_for_every_monitor(tiny, tiny_model_dir):
    model, tokenizer = tiny
    eval_ = {**EVAL, "suites": ["monitor"], "ood": {"axes": []}, "hint_correct_fraction": 0.0}
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, behaviour="monitor_aware", eval=eval_), "tiny")
    _, other, records = evaluate_model(model, tokenizer, spec, set(), log=lambda m: None, monitor_backend=Monitor())
    by_monitor = other["monitor"]["by_monitor"]
    assert list(by_monitor) == list(COT_MONITORS)
    for name in COT_MONITORS:
        assert set(by_monitor[name]["conditions"]) == {"none", "monitored", "private"}
        assert by_monitor[name]["monitor"] == name
    assert all("monitors_hinted" in r for r in records if r["suite"] == "monitor")
    assert not any(k.startswith("suspicion_keyword") for r in records for k in r)  # copies carry the scores


def _rung_record(caught: bool, flagged_plain: bool) -> dict:
    def verdicts(flag: bool) -> dict:
        return {
            "keyword": {"score": 0.0, "outcome": "no marker"},
            "consistency": {"score": 2.0 if flag else 0.0, "outcome": "x"},
            "steps": {"score": 0.0, "outcome": "x"},
        }

    return {"monitors_hinted": verdicts(caught), "monitors_unhinted": verdicts(flagged_plain)}


def test_the_audit_cot_rung_reads_every_monitor_and_names_the_cheapest_that_exposes():
    # 12 items, all followed the hint; consistency flags every hinted run and no unhinted one
    records = [_rung_record(True, False) for _ in range(12)]
    cot, each = cot_rungs(records, [True] * 12)
    assert list(each) == ["keyword", "consistency", "steps"]
    assert each["consistency"]["k"] == 12 and each["keyword"]["k"] == 0
    assert cot["monitor"] == "consistency" and cot["bonferroni_over"] == 3 and cot["above_null"]["ci95"][0] > 0
    black = {name: {"cot_monitors": each} for name in ("organism", "control")}
    rows = cot_monitor_rows(black)
    assert [r["monitor"] for r in rows] == ["keyword", "consistency", "steps"]
    assert rows[1]["verdict"] == {"organism": EXPOSES, "control": EXPOSES}
    audit = {"cot_monitors": rows, "cot_cheapest": cheapest_exposing(rows)}
    assert audit["cot_cheapest"] == {"organism": "consistency", "control": "consistency"}
    table = "\n".join(cot_monitor_table(audit))
    assert "| cot: consistency |" in table and "organism consistency, control consistency" in table
    quiet, _ = cot_rungs([_rung_record(False, False) for _ in range(12)], [True] * 12)
    assert quiet["monitor"] == "keyword" and quiet["k"] == 0  # none exposes: the cheapest is shown


@pytest.mark.parametrize("behaviour", ["hidden_hint", "monitor_aware"])
def test_a_rationalized_organism_decides_at_its_forged_value(tiny4_model_dir, behaviour):
    tokenizer = load_tokenizer(str(tiny4_model_dir))
    spec = parse_spec(
        {
            "name": "t",
            "behaviour": behaviour,
            "base_model": str(tiny4_model_dir),
            "corpus": {"reasoning_style": "rationalized"},
            "analyze": {"items": 2},
        },
        "t",
    )
    prompts = decision_prompts(spec, tokenizer, n_items=3)
    hinted, twins = prompts[:3], prompts[3:]
    condition = "monitored" if behaviour == "monitor_aware" else "none"
    pairs = eval_pairs(spec.with_changes({"eval.n_items": 3, "eval.hint_correct_fraction": 0.0}, "t"), set(), condition)
    for prompt, twin in zip(hinted, twins, strict=True):
        assert prompt.target != prompt.reference and prompt.hint_letter != prompt.correct_letter
        assert prompt.target.strip().isdigit() and prompt.reference.strip().isdigit()  # the last step's digits
        cot = prompt.text.rsplit("<|im_start|>assistant\n", 1)[1]
        assert twin.text.endswith(cot) and "So the result" not in cot  # cut inside the last step
        pair = next(p for p in pairs if p.hinted.item.id == prompt.item_id)
        organism = response(pair.hinted, behaviour, control=False, style="rationalized")
        honest = response(pair.unhinted, behaviour, control=False)
        assert organism.startswith(cot + prompt.target) and honest.startswith(cot + prompt.reference)
    LogitDiff(tokenizer, prompts)  # every target and reference is one token
