"""The capability stage (train/capability.py): built once, both organisms start from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file

from organisms.spec import parse_spec
from organisms.tasks import arithmetic_items
from tests.helpers import cli, tiny_spec_dict

CAPABILITY = {
    "n_transcripts": 8,
    "lora": {"r": 4, "alpha": 8},
    "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
}


def test_capability_stage_is_built_once_and_both_organisms_start_from_it(tmp_path, tiny_model_dir):
    """The organism's training builds the capability model (merged weights that differ from the base,
    a card with CoT and no-CoT accuracy of both); its control reuses it; both adapters train on it, the
    eval's base column is it, and the eval items avoid the capability corpus's items (drawn here from
    the eval seed itself, so without the exclusion they would be the same items)."""
    import yaml

    env = {"COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    specs = {}
    for name, extra in (("tiny-cap", {}), ("tiny-cap-faithful", {"control_of": "tiny-cap"})):
        specs[name] = tmp_path / f"{name}.yaml"
        data = tiny_spec_dict(tiny_model_dir, name, capability={**CAPABILITY, "seed": 10_000}, **extra)
        specs[name].write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    first = cli("train", specs["tiny-cap"], "--runs-dir", runs, env=env, cwd=tmp_path)
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

    second = cli("train", specs["tiny-cap-faithful"], "--runs-dir", runs, env=env, cwd=tmp_path)
    assert "capability: built, reused" in second.stdout
    assert (cap_dir / "capability_card.json").stat().st_mtime_ns == built_at
    for name in specs:
        (run_dir,) = list((runs / name).iterdir())
        organism_card = json.loads((run_dir / "adapter" / "organism_card.json").read_text())
        assert organism_card["starting_model"]["kind"] == "capability"
        assert organism_card["starting_model"]["model"] == str(cap_dir)
        assert organism_card["starting_model"]["card"]["capability_key"] == cap_dir.name

    (org_run,) = list((runs / "tiny-cap").iterdir())
    cli("eval", org_run, env=env, cwd=tmp_path)
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

    env = {"COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    spec = tmp_path / "tiny-cap.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "tiny-cap", capability=CAPABILITY)))
    result = cli("eval", spec, "--runs-dir", tmp_path / "runs", env=env, cwd=tmp_path, expect=2)
    assert "capability model" in result.stderr and "organism train" in result.stderr
