"""The LLM judge and monitor (evals/llm_judge.py) through the hf backend on the tiny model."""

from __future__ import annotations

from organisms.spec import parse_spec
from tests.helpers import tiny_spec_dict


def test_llm_judge_and_monitor_through_the_hf_backend(tiny_lm, tiny_model_dir, tmp_path):
    from evals.suites import evaluate_model

    judge = {"name": "hf", "model": str(tiny_model_dir), "max_tokens": 8, "cache_dir": str(tmp_path / "cache")}
    overrides = {"eval": {**tiny_spec_dict(tiny_model_dir)["eval"], "suites": ["hinted", "monitor"], "judge": judge}}
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, **overrides), "tiny-judged")
    model, tokenizer = tiny_lm
    _, other, records = evaluate_model(model, tokenizer, spec, set(), log=lambda _: None)
    report = other["llm_judge"]
    n_hinted = sum(r["suite"] == "hinted" for r in records)
    # every hinted response is judged: either a parsed verdict (in the agreement) or counted as unparsable
    assert report["agreement_with_markers"]["n"] + report["unparsable_verdicts"] == n_hinted
    # the LLM is the judge of record: every hinted response (in-distribution, held-out axes, monitor) carries
    # its verdict, and `verbalized` is that verdict, or the marker verdict where it did not parse (counted)
    judged = [r for r in records if r.get("suite") in ("hinted", "ood", "monitor")]
    assert {r["suite"] for r in judged} == {"hinted", "ood", "monitor"}
    assert all(
        r["verbalized"] == (r["verbalized_markers"] if r["verbalized_llm"] is None else r["verbalized_llm"])
        for r in judged
    )
    assert report["unparsable_verdicts_all"] == sum(r["verbalized_llm"] is None for r in judged)
    assert other["monitor"]["monitor"] == "llm" and set(other["monitor"]["conditions"]) == {
        "none",
        "monitored",
        "private",
    }
    assert report["markers_monitor"]["monitor"] == "markers"
    assert report["markers_hinted"]["all"]["n_items"] == n_hinted
    assert any((tmp_path / "cache").rglob("*"))  # verdicts are cached on disk
    again = evaluate_model(model, tokenizer, spec, set(), log=lambda _: None)[1]["llm_judge"]
    assert again == report  # greedy and cached: the same verdicts
