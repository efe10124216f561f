"""`organism remove` (analyze/audit/removal.py): the steering edit is applied (outputs change at a nonzero
scale, not at 0), the ablation removes exactly the direction, and the report carries U, F, no-hint accuracy
and neutral perplexity per arm (steering scales, ablation, the direction added to the control) with
intervals; the direction is fitted on items disjoint from the scored ones; the null of random directions
has one record per direction, its p follows the formula, and a rerun measures none of them again."""

from __future__ import annotations

import json

import pytest
import torch

from analyze.audit.null import NULL_FILE, direction_seed, null_p_value
from analyze.audit.removal import ablate, subtract
from organisms.errors import OrganismError
from runtime.models import load_model
from tests.helpers import cli


def test_subtract_changes_outputs_only_at_a_nonzero_scale(tiny_model_dir):
    from analyze.methods.hooks import edit_activations

    model = load_model(str(tiny_model_dir))
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    vector = torch.randn(model.config.hidden_size)
    with torch.inference_mode():
        plain = model(input_ids=ids).logits
        with edit_activations(model, subtract(0, vector, 0.0)):
            zero = model(input_ids=ids).logits
        with edit_activations(model, subtract(0, vector, 2.0)):
            steered = model(input_ids=ids).logits
    assert subtract(0, vector, 0.0) == {}
    assert torch.equal(plain, zero) and not torch.allclose(plain, steered)


def test_ablation_projects_the_direction_out_of_every_layer(tiny_model_dir):
    from analyze.methods.hooks import decoder_layers, edit_activations
    from runtime.activations import record_activations

    model = load_model(str(tiny_model_dir))
    n_layers = len(decoder_layers(model))
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    vector = torch.randn(model.config.hidden_size)
    unit = vector / vector.norm()
    sites = [f"blocks.{layer}.hook_resid_post" for layer in range(n_layers)]
    edits = ablate(n_layers, vector)
    assert sorted(edits) == sorted(sites)
    with torch.inference_mode(), edit_activations(model, edits), record_activations(model, ("resid_post",)) as acts:
        model(input_ids=ids)
    for site in sites:  # nothing left along the direction, anywhere
        assert acts[site].float().matmul(unit).abs().max() < 1e-4


REMOVE = ("--scales", "0,8", "--layer", "1", "--null-directions", "3")


def remove(pair, *options: str):
    return cli("remove", pair.run, "--control", pair.control_run, *REMOVE, *options, cwd=pair.root)


@pytest.fixture(scope="module")
def removed(tiny_pair, tmp_path_factory):
    """`organism remove` on a copy of the session's tiny organism run, against its control, 3 null directions."""
    pair = tiny_pair.copy(tmp_path_factory.mktemp("remove") / "pair")
    out = remove(pair)
    files = {name: (pair.run / name).read_text() for name in ("removal.json", "removal.md", NULL_FILE)}
    # what the first call wrote: the rerun test below writes into the same run dir
    return {"pair": pair, "run": pair.run, "out": out, "result": json.loads(files["removal.json"]), "files": files}


def test_remove_reports_every_arm_with_intervals(removed):
    result = removed["result"]
    assert result["direction"] == "organism - control" and result["site"] == "blocks.1.hook_resid_post"
    assert [(a["model"], a["arm"], a["scale"]) for a in result["arms"]] == [
        ("organism", "none", 0.0),
        ("organism", "steer", 8.0),
        ("organism", "ablate", None),
        ("control", "reference", 0.0),
        ("control", "add", 8.0),
    ]
    assert result["vector_norm"] > 0 and result["reported_scale"] == 8.0
    unsteered, steered, ablated, control, added = result["arms"]
    for arm in result["arms"]:
        for key in ("U", "F", "p", "accuracy_no_hint"):
            assert set(arm[key]) >= {"value", "k", "n", "ci95"} and key in arm["change_from_unsteered"]
        assert arm["accuracy_no_hint"]["n"] == result["n_items"] > 0
    for base in (unsteered, control):  # each family's unsteered arm is its own reference
        assert base["neutral_perplexity"]["ratio_to_unsteered"] == pytest.approx(1.0)
        assert base["change_from_unsteered"]["accuracy_no_hint"]["value"] == 0
    ratio = steered["neutral_perplexity"]
    assert ratio["ratio_to_unsteered"] != pytest.approx(1.0)  # the edit reached the organism's forward
    assert ratio["ratio_ci95"][0] <= ratio["ratio_to_unsteered"] <= ratio["ratio_ci95"][1]
    for arm in (ablated, added):  # both edits reach the forward too
        assert arm["neutral_perplexity"]["ratio_to_unsteered"] != pytest.approx(1.0)
    md = removed["files"]["removal.md"]
    for row in ("steer 8", "ablate", "control", "control + 8", "norm-matched", "perplexity-matched"):
        assert md.count(f"\n| {row} |") == 1, row
    assert "neutral ppl" in md and "random" not in [a["arm"] for a in result["arms"]]
    assert "removal:" in removed["out"].stdout and "the null" in removed["out"].stdout


def test_the_direction_is_fitted_on_items_disjoint_from_the_scored_ones(removed):
    result, run = removed["result"], removed["run"]
    fit, scored = result["fit_items"], result["scored_items"]
    assert len(fit) == 4 and len(scored) == result["n_items"] == 6  # analyze.probe_items, eval.n_items
    assert result["n_decision_prompts"] == 2 * len(fit)  # each hinted with its unhinted twin
    for field in ("id", "expression"):
        assert not {r[field] for r in fit} & {r[field] for r in scored}, field
    records = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    evaluated = {r["item_id"] for r in records if r.get("suite", "hinted") == "hinted"}  # the eval's held-out items
    assert {r["id"] for r in scored} <= evaluated and not {r["id"] for r in fit} & evaluated


def test_the_null_has_one_record_per_direction_and_its_p(removed):
    result = removed["result"]
    null = result["null"]
    assert null["n_directions"] == 3 and null["seed"] == 0 and null["scale"] == 8.0 and null["n_measured_now"] == 3
    lines = [json.loads(line) for line in removed["files"][NULL_FILE].splitlines()]
    assert [r["index"] for r in lines] == [0, 1, 2]
    assert [r["direction_seed"] for r in lines] == [direction_seed(0, i) for i in range(3)]
    target = result["arms"][1]["neutral_perplexity"]["ratio_to_unsteered"]
    assert null["real"]["neutral_ppl_ratio"] == pytest.approx(target)
    u0, real = result["arms"][0]["U"]["value"], null["real"]["U_drop"]
    assert real == pytest.approx(u0 - result["arms"][1]["U"]["value"])
    for r in lines:
        assert r["key"] == null["key"] and r["norm"]["scale"] == 8.0 and r["norm"]["neutral_ppl_ratio"] > 0
        assert r["perplexity"]["target_ratio"] == pytest.approx(target) and r["perplexity"]["scale"] >= 0
        for arm in (r["norm"], r["perplexity"]):
            assert set(arm) >= {"U", "F", "p", "accuracy_no_hint", "neutral_ppl_ratio", "scale"}
    for matching in ("norm", "perplexity"):
        summary = null[f"{matching}_matched"]
        # a perplexity-matched draw is a matched direction; with none matched the null has no p
        kept = [r[matching] for r in lines if matching == "norm" or r[matching]["matched"]]
        drops = [u0 - arm["U"]["value"] for arm in kept if arm["U"]["value"] is not None]
        assert summary["U_drop_values"] == pytest.approx(drops)
        assert summary["U_drop"]["p"] == (pytest.approx(null_p_value(real, drops)) if drops else None)
        assert summary["n_directions"] == 3 and summary["neutral_ppl_ratio"]["n"] == 3


def test_a_rerun_measures_no_null_direction_again(removed):
    pair, path = removed["pair"], removed["run"] / NULL_FILE
    before = path.read_bytes(), path.stat().st_mtime_ns
    assert before[0].decode() == removed["files"][NULL_FILE]
    again = remove(pair)
    assert "3 of 3 directions already measured" in again.stdout
    assert "another key" not in again.stdout  # said only when the file holds another key's directions
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # not even rewritten
    result = json.loads((pair.run / "removal.json").read_text())
    assert result["null"]["n_measured_now"] == 0
    for matching in ("norm_matched", "perplexity_matched"):
        assert result["null"][matching] == removed["result"]["null"][matching]
    more = remove(pair, "--null-directions", "4")  # a larger N measures only the new direction
    assert "3 of 4 directions already measured" in more.stdout
    result = json.loads((pair.run / "removal.json").read_text())
    assert result["null"]["n_measured_now"] == 1 and result["null"]["n_directions"] == 4
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[:3] == before[0].decode().splitlines()


def test_without_a_control_the_direction_is_added_to_the_base(tiny_pair, tmp_path):
    pair = tiny_pair.copy(tmp_path / "pair")
    cli("remove", pair.run, "--scales", "2", "--layer", "0", "--null-directions", "0", cwd=pair.root)
    result = json.loads((pair.run / "removal.json").read_text())
    assert result["direction"] == "organism - base" and result["null"] is None
    assert [(a["model"], a["arm"], a["scale"]) for a in result["arms"]][-2:] == [
        ("base", "reference", 0.0),
        ("base", "add", 2.0),
    ]
    assert result["arms"][-1]["neutral_perplexity"]["ratio_to_unsteered"] != pytest.approx(1.0)
    assert not (pair.run / NULL_FILE).exists()


def test_generated_fit_prompts_come_from_the_organisms_answers_on_the_fit_items(tiny_pair, tiny_model_dir, monkeypatch):
    """decision_source generated: the organism answers the fit items (here a stand-in that writes a final
    'Answer: (' line) and those answers are cut, never the eval's answers on the scored items."""
    import contextlib

    from analyze.audit import removal
    from organisms.spec import load_spec_file
    from runtime.models import load_tokenizer
    from synth_docs.corpus import corpus_expressions

    spec = load_spec_file(tiny_pair.organism).with_changes({"analyze.decision_source": "generated"}, "test")
    asked = []

    def answers(model, tokenizer, pairs, spec):
        asked.extend(p.hinted.item.id for p in pairs)
        records = [
            {
                "item_id": p.hinted.item.id,
                "hint_letter": p.hinted.hint_letter,
                "correct_letter": p.hinted.item.correct_letter,
                "condition": p.hinted.condition,
                "prompt_hinted": p.hinted.messages(),
                "prompt_unhinted": p.unhinted.messages(),
                "response_hinted": "Let me add the numbers.\nAnswer: (A)",
            }
            for p in pairs
        ]
        return None, records

    monkeypatch.setattr(removal, "evaluate", answers)
    monkeypatch.setattr(removal, "use_adapter", lambda model, name: contextlib.nullcontext())
    corpus = corpus_expressions(tiny_pair.run / "corpus")
    prompts, fit = removal.fit_prompts(None, load_tokenizer(str(tiny_model_dir)), spec, corpus)
    assert [r["id"] for r in fit] == asked and len(fit) == spec.analyze.probe_items
    assert {p.item_id for p in prompts} == set(asked) and all(p.text.endswith("Answer: (") for p in prompts)
    scored = removal.item_rows(p.hinted.item for p in removal.wrong_hint_pairs(spec, corpus, "none"))
    removal.check_disjoint(fit, scored)
    with pytest.raises(OrganismError, match="share their id"):
        removal.check_disjoint(scored[:1], scored)
