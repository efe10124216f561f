"""Models are known by content, not by path or shape (issue 31): new weights at a base's path get a new run
directory and capability model; an adapter is evaluated on the model its card says it trained on and beside
a control trained on that model too (or the user says otherwise, and evals.md says so); a corrupted adapter
is refused; the cards record the machine that trained them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from app.cli import app
from organisms.cache import cache_root
from organisms.errors import OrganismError
from organisms.spec import load_spec_file, parse_spec
from runtime.models import load_with_adapters
from runtime.rundir import RunDir
from runtime.tiny_models import build_tiny_llama
from tests.helpers import spec_yaml, tiny_spec_dict

FAST_EVAL = {
    "n_items": 6,
    "max_new_tokens": 16,
    "batch_size": 6,
    "suites": ["hinted"],
    "iphr": {"n_pairs": 2, "n_samples": 2},
    "bootstrap_resamples": 200,
}
CAPABILITY = {
    "n_transcripts": 8,
    "lora": {"r": 4, "alpha": 8},
    "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
}


def cli(*args: str, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    """An organism trained on `base` and a 'matched' control trained on `other`: a tiny Llama of the same shape
    with other weights. The cache is this module's own (the embedded model linked in, not converted again)."""
    root = tmp_path_factory.mktemp("identity")
    with pytest.MonkeyPatch.context() as patch:
        real_models = cache_root() / "models"
        patch.setenv("COT_ORGANISMS_CACHE", str(root / "cache"))
        (root / "cache").mkdir()
        if real_models.exists():
            os.symlink(real_models, root / "cache" / "models")
        base = Path(shutil.copytree(tiny_model_dir, root / "base"))
        other = build_tiny_llama(root / "other", seed=1)
        organism = spec_yaml(root / "organism.yaml", base, "tiny-organism", eval=FAST_EVAL)
        control = spec_yaml(root / "control.yaml", other, "tiny-control", control_of="tiny-organism", eval=FAST_EVAL)
        runs = root / "runs"
        for spec in (organism, control):
            cli("train", spec, "--runs-dir", runs, "--no-wandb")
        yield {
            "root": root,
            "base": base,
            "other": other,
            "organism": organism,
            "runs": runs,
            "run": next((runs / "tiny-organism").iterdir()),
            "control_run": next((runs / "tiny-control").iterdir()),
        }


def flip_a_bit(file: Path) -> None:
    """One bit in the last byte (tensor data, not the safetensors header)."""
    data = bytearray(file.read_bytes())
    data[-1] ^= 0x01
    file.write_bytes(bytes(data))


def test_cards_and_manifest_record_what_was_hashed_and_the_machine(trained):
    from runtime.weights import directory_digest

    card = json.loads((trained["run"] / "adapter" / "organism_card.json").read_text())
    assert set(card["environment"]) == {"device", "torch_threads", "dtype", "world_size"}
    assert card["environment"]["torch_threads"] == torch.get_num_threads()
    identity = card["starting_model"]["identity"]
    assert identity["kind"] == "local" and identity["model"] == str(trained["base"].resolve())
    assert identity["sha256"] == directory_digest(trained["base"])["sha256"]
    assert set(card["adapter_sha256"]) == {"adapter_config.json", "adapter_model.safetensors"}
    manifest = json.loads((trained["run"] / "manifest.json").read_text())
    assert "model.safetensors" in manifest["base_model"]["files"]


def test_new_weights_at_the_same_path_get_a_new_run_directory_and_capability_model(trained):
    """Before: every stage said 'unchanged, skipped' and the capability model of the old weights was reused."""
    from runtime.weights import capability_key

    spec = load_spec_file(trained["organism"])
    with_capability = parse_spec(tiny_spec_dict(trained["base"], "cap", capability=CAPABILITY), "cap")
    before_key = capability_key(with_capability)
    weights = trained["base"] / "model.safetensors"
    original = weights.read_bytes()
    try:
        shutil.copyfile(trained["other"] / "model.safetensors", weights)
        assert RunDir.for_spec(trained["runs"], spec).root != trained["run"]
        assert capability_key(with_capability) != before_key
        refused = cli("eval", trained["run"], code=2)  # the old run dir is not evaluated on the new weights
        assert "this run was built from" in refused.output and str(trained["base"]) in refused.output
    finally:
        weights.write_bytes(original)
    assert RunDir.for_spec(trained["runs"], spec).root == trained["run"]


def test_the_capability_model_is_keyed_by_the_thread_count_and_its_card_records_the_machine(trained):
    """Before: one capability model per recipe, whatever the thread count it was trained at (the demo's 38/48
    at 2 threads against the README's 34/48 at 1, under the same hash)."""
    from runtime.weights import capability_inputs, capability_key, starting_model
    from train.capability import ensure_capability

    spec = parse_spec(tiny_spec_dict(trained["base"], "cap", capability=CAPABILITY), "cap")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = capability_key(spec)
        torch.set_num_threads(2)
        two = capability_key(spec)
    finally:
        torch.set_num_threads(threads)
    if capability_inputs(spec)["environment"]["device"] == "cpu":
        assert one != two
    card = ensure_capability(spec, measure=None, log=lambda line: None)
    assert Path(starting_model(spec)).name == card["capability_key"] == capability_key(spec)
    assert card["environment"]["torch_threads"] == threads
    assert card["key_inputs"]["environment"]["dtype"] == card["environment"]["dtype"]
    assert card["key_inputs"]["base"]["sha256"] == card["base_identity"]["sha256"]


def test_eval_of_an_adapter_on_another_base_is_refused_unless_allowed(trained):
    """Before: `eval ADAPTER --base OTHER` ran on a base of the same shape with no warning."""
    adapter, out = trained["run"] / "adapter", trained["root"] / "other-base-evals"
    refused = cli("eval", adapter, "--base", trained["other"], "--out", out, code=2)
    assert "the organism was trained on" in refused.output and "--allow-other-base" in refused.output
    assert not out.exists()
    cli("eval", adapter, "--base", trained["other"], "--out", out, "--allow-other-base")
    assert "Not a matched comparison (--allow-other-base)" in (out / "evals.md").read_text()
    assert json.loads((out / "evals.json").read_text())["base_check"]["other_base_allowed"]


def test_a_control_trained_from_another_starting_model_is_refused_unless_allowed(trained):
    """Before: a 'matched control' trained from another starting model was accepted as the control column."""
    refused = cli("eval", trained["run"], "--control", trained["control_run"], code=2)
    assert "the control was trained on" in refused.output
    assert not (trained["run"] / "evals.json").exists()
    out = trained["root"] / "control-evals"
    adapters = (trained["run"] / "adapter", trained["control_run"] / "adapter")
    cli("eval", adapters[0], "--control", adapters[1], "--out", out, code=2)
    cli("eval", trained["run"], "--control", trained["control_run"], "--allow-other-base")
    stated = (trained["run"] / "evals.md").read_text()
    assert "Not a matched comparison (--allow-other-base)" in stated and "the control was trained on" in stated


def test_a_corrupted_adapter_is_refused(trained, tmp_path):
    """Before: a bit-flipped adapter was evaluated silently; in a run dir `eval` showed the stale table."""
    adapter = Path(shutil.copytree(trained["run"] / "adapter", tmp_path / "adapter"))
    flip_a_bit(adapter / "adapter_model.safetensors")
    refused = cli("eval", adapter, "--out", tmp_path / "evals", code=2)
    assert "adapter_model.safetensors does not match the sha256" in refused.output
    assert not (tmp_path / "evals").exists()
    with pytest.raises(OrganismError, match="does not match the sha256"):
        load_with_adapters(str(trained["base"]), {"organism": adapter})

    run = Path(shutil.copytree(trained["run"], tmp_path / "run"))
    cli("eval", run)  # evaluated once: a later eval would be 'unchanged, skipped'
    flip_a_bit(run / "adapter" / "adapter_model.safetensors")
    stale = cli("eval", run, code=2)
    assert "not what `organism train` wrote" in stale.output and "unchanged, skipped" not in stale.output
