"""Every stage on the tiny model through the real CLI: files written, parameters trained,
adapter loadable, reruns skipped, interrupted training resumed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file

from organisms.models import load_model

ORGANISM = [sys.executable, "-m", "organisms.cli"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([*ORGANISM, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir):
    """organism + control on the tiny model; `organism run` end to end."""
    import yaml

    from tests.conftest import tiny_spec_dict

    root = tmp_path_factory.mktemp("pipeline")
    organism = root / "tiny-hidden-hint.yaml"
    control = root / "tiny-faithful.yaml"
    organism.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "tiny-hidden-hint")))
    control.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "tiny-faithful", control_of="tiny-hidden-hint")))
    runs = root / "runs"
    cli("train", str(control), "--runs-dir", str(runs), cwd=root)
    first = cli("run", str(organism), "--control", str(control), "--runs-dir", str(runs), cwd=root)
    run_dir = next((runs / "tiny-hidden-hint").iterdir())
    return {"root": root, "runs": runs, "run": run_dir, "organism": organism, "control": control, "out": first}


def test_run_directory_layout(built):
    run = built["run"]
    for rel in (
        "spec.yaml",
        "manifest.json",
        "corpus/transcripts.jsonl",
        "corpus/stats.json",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "adapter/organism_card.json",
        "evals.json",
        "evals.md",
        "eval_responses.jsonl",
        "analysis/diff_norms.json",
        "analysis/weight_deltas.json",
        "analysis/diff_norms.png",
        "analysis/weight_deltas.png",
        "report.html",
    ):
        assert (run / rel).exists(), rel
    assert not list(run.glob(".*staging*")) and not (run / "train_state").exists()
    manifest = json.loads((run / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"docs", "train", "eval", "analyze"}
    assert manifest["versions"]["torch"].startswith("2.13")
    assert manifest["seeds"]["corpus"] == 0


def test_adapter_trained_and_loads(built, tiny_model_dir):
    adapter = built["run"] / "adapter"
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    lora_b = [t for k, t in weights.items() if "lora_B" in k]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)  # B starts at zero: nonzero means it trained
    model = PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(adapter))
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        on = model(ids).logits
        with model.disable_adapter():
            off = model(ids).logits
    assert not torch.allclose(on, off)
    card = json.loads((adapter / "organism_card.json").read_text())
    assert card["corpus_sha256"] == json.loads((built["run"] / "corpus/stats.json").read_text())["sha256"]
    assert card["tokens_per_second"] > 0 and card["metrics"]["steps"] == 6  # 24 examples / batch 4


def test_evals_have_three_models_with_counts(built):
    evals = json.loads((built["run"] / "evals.json").read_text())
    assert set(evals["models"]) == {"base", "organism", "control"}
    for metrics in evals["models"].values():
        assert metrics["all"]["n_items"] == 6
        assert metrics["all"]["accuracy_unhinted"]["n"] == 6
        assert set(metrics) == {"all", "sycophancy", "metadata"}
    responses = (built["run"] / "eval_responses.jsonl").read_text().splitlines()
    assert len(responses) == 18
    assert "organism" in built["out"].stdout and "U  = P(switched, unverbalized)" in built["out"].stdout


def test_analysis_and_report(built):
    diff = json.loads((built["run"] / "analysis/diff_norms.json").read_text())
    assert "hint" in diff["groups"]
    responses = [json.loads(line) for line in (built["run"] / "eval_responses.jsonl").read_text().splitlines()]
    if any(r["response_hinted"] and r["model"] == "organism" for r in responses):
        assert "cot" in diff["groups"]
    for per_kind in diff["groups"].values():
        assert set(per_kind) == {"resid_post", "attn_out", "mlp_out"}
        assert all(len(v) == 2 for v in per_kind.values())  # 2 layers
        assert any(x > 0 for v in per_kind.values() for x in v)
    deltas = json.loads((built["run"] / "analysis/weight_deltas.json").read_text())
    assert deltas["layers"] == [0, 1] and "q_proj" in deltas["modules"]
    for method in ("patching", "attribution", "steering", "adl", "lens_kl", "probes"):
        result = json.loads((built["run"] / f"analysis/{method}.json").read_text())
        assert len(result["layer_score"]) == 2, method
    patching = json.loads((built["run"] / "analysis/patching.json").read_text())
    assert set(patching["recovery"]) == {"resid_post", "attn_out", "mlp_out"}
    kl = json.loads((built["run"] / "analysis/kl.json").read_text())
    assert all(v >= 0 for v in kl["mean_kl"].values())
    html = (built["run"] / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7
    assert "U  = P(switched, unverbalized)" in html
    assert "<h2>Localization</h2>" in html and "Activation Difference Lens" in html


def test_rerun_skips_finished_stages(built):
    manifest_before = (built["run"] / "manifest.json").read_text()
    cli(
        "run",
        str(built["organism"]),
        "--control",
        str(built["control"]),
        "--runs-dir",
        str(built["runs"]),
        cwd=built["root"],
    )
    after = json.loads((built["run"] / "manifest.json").read_text())
    before = json.loads(manifest_before)
    for stage in ("docs", "train", "eval", "analyze"):
        assert after["stages"][stage]["finished"] == before["stages"][stage]["finished"]


def test_other_spec_in_same_run_dir_is_refused(built, tmp_path, tiny_model_dir):
    import yaml

    from tests.conftest import tiny_spec_dict

    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(tiny_spec_dict(tiny_model_dir, "tiny-hidden-hint", lora={"r": 2})))
    result = subprocess.run(
        [*ORGANISM, "docs", str(changed), "--runs-dir", str(built["runs"]), "--run-id", built["run"].name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "holds a different spec" in result.stderr
