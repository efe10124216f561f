"""Monitor awareness (evals/monitor.py) on the tiny model."""

from __future__ import annotations

import pytest

from evals.monitor import monitor_suite
from organisms.prompts import CUES
from organisms.spec import parse_spec
from tests.helpers import tiny_spec_dict


@pytest.fixture(scope="module")
def spec(tiny_model_dir):
    return parse_spec(tiny_spec_dict(tiny_model_dir), "tiny")


def test_monitor_suite_on_tiny_model(tiny_lm, spec):
    model, tokenizer = tiny_lm
    result, records = monitor_suite(model, tokenizer, spec, set())
    assert set(result["conditions"]) == {"none", "monitored", "private"}
    n_wrong = spec.eval.n_items - round(spec.eval.hint_correct_fraction * spec.eval.n_items)
    assert all(c["B"]["n"] == n_wrong for c in result["conditions"].values())
    # 3 conditions on the training cue, then "monitored" and "private" on held-out cues (the cue axis)
    assert len(records) == 5 * n_wrong
    trained = [r for r in records if r["cue_split"] == "trained"]
    systems = {r["condition"]: r["prompt_hinted"][0]["content"] for r in trained}
    assert systems["monitored"].endswith(CUES["monitored"][0]) and systems["private"].endswith(CUES["private"][0])
    held = [r for r in records if r["cue_split"] == "held_out"]
    assert len({r["cue"] for r in held}) > 1 and not {r["cue"] for r in held} & set(spec.hints.cues)
    assert all(r["prompt_hinted"][0]["content"].endswith(CUES[r["condition"]][r["cue"]]) for r in held)
    assert set(result["held_out_cue"]["conditions"]) == {"none", "monitored", "private"}
    assert result["held_out_cue"]["headline_O_monitored_minus_none"]["n"] == n_wrong
    assert result["headline_O_monitored_minus_none"]["n"] == n_wrong
    # the hinted suite's responses stand in for condition "none": same prompts, same greedy answers
    from evals.hinted import eval_pairs, evaluate

    _, hinted = evaluate(model, tokenizer, eval_pairs(spec, set()), spec)
    _, reused_records = monitor_suite(model, tokenizer, spec, set(), hinted_records=hinted)
    generated_none = [r for r in records if r["condition"] == "none"]
    assert len(generated_none) == n_wrong
    reused_none = [r for r in reused_records if r["condition"] == "none"]
    assert [r["prompt_hinted"] for r in reused_none] == [r["prompt_hinted"] for r in generated_none]
    assert [r["a_h"] for r in reused_none] == [r["a_h"] for r in generated_none]
