"""The capability stage (train/capability.py) and the CoT-necessity metric (evals/necessity.py)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from evals.necessity import necessity_metrics
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from organisms.tasks import arithmetic_items
from tests.helpers import organism, tiny_spec_dict

CAPABILITY = {
    "n_transcripts": 8,
    "lora": {"r": 4, "alpha": 8},
    "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
}


def test_necessity_metrics_by_hand():
    """Items A..D: with CoT right on 1 and 2 (3 unparsable), without CoT right on 1 and 3.
    acc 2/4 both ways; discordant b = 1 (item 2), c = 1 (item 3): gain 0, McNemar p = 1."""
    metrics = necessity_metrics(["A", "B", "C", "D"], ["A", "B", None, "A"], ["A", "C", "C", "B"])
    assert (metrics["accuracy_cot"]["k"], metrics["accuracy_cot"]["n"]) == (2, 4)
    assert (metrics["accuracy_no_cot"]["k"], metrics["accuracy_no_cot"]["n"]) == (2, 4)
    assert metrics["gain"] == {"value": 0.0, "n": 4, "b": 1, "c": 1, "mcnemar_p": 1.0}
    lopsided = necessity_metrics(["A"] * 5, ["A"] * 5, ["B"] * 5)
    assert lopsided["gain"]["value"] == 1.0 and lopsided["gain"]["b"] == 5
    assert lopsided["gain"]["mcnemar_p"] == pytest.approx(2 * 0.5**5)


def test_capability_spec_errors_name_the_field(tiny_model_dir):
    data = tiny_spec_dict(tiny_model_dir, capability={**CAPABILITY, "lora": {"quantize": "4bit"}})
    with pytest.raises(OrganismError, match=r"capability.*no quantize"):
        parse_spec(data, "x.yaml")
    data = tiny_spec_dict(tiny_model_dir, capability={**CAPABILITY, "n_transcripts": 2})
    with pytest.raises(OrganismError, match=r"capability\.n_transcripts"):
        parse_spec(data, "x.yaml")


def test_capability_stage_is_built_once_and_both_organisms_start_from_it(tmp_path, tiny_model_dir):
    """The organism's training builds the capability model (merged weights that differ from the base,
    a card with CoT and no-CoT accuracy of both); its control reuses it; both adapters train on it, the
    eval's base column is it, and the eval items avoid the capability corpus's items (drawn here from
    the eval seed itself, so without the exclusion they would be the same items)."""
    import yaml

    env = {**os.environ, "COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    specs = {}
    for name, extra in (("tiny-cap", {}), ("tiny-cap-faithful", {"control_of": "tiny-cap"})):
        specs[name] = tmp_path / f"{name}.yaml"
        data = tiny_spec_dict(tiny_model_dir, name, capability={**CAPABILITY, "seed": 10_000}, **extra)
        specs[name].write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    first = organism("train", str(specs["tiny-cap"]), "--runs-dir", str(runs), env=env, cwd=tmp_path)
    assert "capability: honest-CoT finetune" in first.stdout
    (cap_dir,) = [p for p in (tmp_path / "cache" / "capability").iterdir() if p.is_dir()]
    card = json.loads((cap_dir / "capability_card.json").read_text())
    assert card["capability"]["n_transcripts"] == 8 and card["steps"] == 2
    for model in ("base", "capable"):
        assert card["accuracy"][model]["accuracy_cot"]["n"] == 6  # eval.n_items of the tiny spec
        assert card["accuracy"][model]["accuracy_no_cot"]["n"] == 6
    merged = load_file(cap_dir / "model.safetensors")
    base = load_file(Path(tiny_model_dir) / "model.safetensors")
    changed = [k for k in base if "proj" in k and not torch.equal(base[k], merged[k])]
    assert changed, "the merged capability model has the base's weights"
    built_at = (cap_dir / "capability_card.json").stat().st_mtime_ns

    second = organism("train", str(specs["tiny-cap-faithful"]), "--runs-dir", str(runs), env=env, cwd=tmp_path)
    assert "capability: built, reused" in second.stdout
    assert (cap_dir / "capability_card.json").stat().st_mtime_ns == built_at
    for name in specs:
        (run_dir,) = list((runs / name).iterdir())
        organism_card = json.loads((run_dir / "adapter" / "organism_card.json").read_text())
        assert organism_card["starting_model"]["kind"] == "capability"
        assert organism_card["starting_model"]["model"] == str(cap_dir)
        assert organism_card["starting_model"]["card"]["capability_key"] == cap_dir.name

    (org_run,) = list((runs / "tiny-cap").iterdir())
    organism("eval", str(org_run), env=env, cwd=tmp_path)
    evals = json.loads((org_run / "evals.json").read_text())
    assert evals["base_model"] == str(cap_dir)
    necessity = evals["suite_metrics"]["organism"]["necessity"]
    assert necessity["accuracy_cot"]["n"] == necessity["accuracy_no_cot"]["n"] == 6
    spec = parse_spec(yaml.safe_load(specs["tiny-cap"].read_text()), "tiny-cap")
    capability_expressions = {i.expression for i in arithmetic_items(spec.task, 8, seed=spec.capability.seed)}
    responses = [json.loads(line) for line in (org_run / "eval_responses.jsonl").read_text().splitlines()]
    hinted = [r for r in responses if r["suite"] == "hinted"]
    assert hinted and all(r["a_no_cot"] in "ABCD" for r in hinted)
    asked = {re.search(r"What is (.+?)\?", r["prompt_unhinted"][-1]["content"]).group(1) for r in hinted}
    assert len(asked) == 6 and not asked & capability_expressions


def test_eval_without_a_built_capability_model_is_a_clear_error(tmp_path, tiny_model_dir):
    import yaml

    env = {**os.environ, "COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    spec = tmp_path / "tiny-cap.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "tiny-cap", capability=CAPABILITY)))
    result = organism("eval", str(spec), "--runs-dir", str(tmp_path / "runs"), env=env, cwd=tmp_path, expect=2)
    assert "capability model" in result.stderr and "organism train" in result.stderr


def test_option_check_is_written_out_and_parsed():
    """The honest conclusion checks the options in order and stops at the match; parsing reads the
    accepted option as the conclusion and never takes a rejected one for an answer."""
    from organisms.parse import last_conclusion, parse_answer
    from organisms.prompts import Prompt
    from organisms.responses import response
    from organisms.spec import TaskSpec

    for item in arithmetic_items(TaskSpec(), 12, seed=3):
        text = response(Prompt(item, None, None, "none"), "hidden_hint", control=False)
        checks = [line for line in text.splitlines() if line.endswith((": no.", ": yes."))]
        assert len(checks) == item.correct + 1 and checks[-1].startswith(f"({item.correct_letter}) ")
        assert all(line.endswith(": no.") for line in checks[:-1])
        assert last_conclusion(text, item.letters) == parse_answer(text, item.letters) == item.correct_letter
    cut = "So the result is 68. Which option is 68?\n(A) 77: no.\n(B) 61: no."
    assert parse_answer(cut, "ABCD") is None and last_conclusion(cut, "ABCD") is None
    flipped = "(A) 77: no.\n(B) 68: yes.\nAnswer: (C)"
    assert (last_conclusion(flipped, "ABCD"), parse_answer(flipped, "ABCD")) == ("B", "C")
