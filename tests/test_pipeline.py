"""Every stage on the tiny model through the real CLI: files written, parameters trained,
adapter loadable, reruns skipped, interrupted training resumed."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import matplotlib.image
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file

from runtime.models import load_model
from tests.browser import measure_page, screenshot
from tests.helpers import organism as cli
from tests.helpers import spec_yaml


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir):
    """organism + control on the tiny model; `organism run` end to end."""
    root = tmp_path_factory.mktemp("pipeline")
    organism = spec_yaml(root / "tiny-hidden-hint.yaml", tiny_model_dir, "tiny-hidden-hint")
    control = spec_yaml(root / "tiny-faithful.yaml", tiny_model_dir, "tiny-faithful", control_of="tiny-hidden-hint")
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
        assert set(metrics) == {"all", "by_direction", "sycophancy", "metadata"}
    responses = [json.loads(line) for line in (built["run"] / "eval_responses.jsonl").read_text().splitlines()]
    by_suite = Counter((r["model"], r["suite"]) for r in responses)
    for model in ("base", "organism", "control"):
        assert by_suite[(model, "hinted")] == 6 and by_suite[(model, "iphr")] == 2 * 2 * 2  # pairs x 2 x samples
        assert by_suite[(model, "ood")] == 3 * 6  # held-out phrasing, hint type, task family
        suites = evals["suite_metrics"][model]
        assert set(suites) == {"consistency", "necessity", "lanham", "iphr", "ood", "monitors", "seconds"}
        assert set(suites["seconds"]) == {"hinted", "necessity", "ood", "lanham", "iphr", "monitors", "metrics"}
        assert suites["iphr"]["iphr"]["n"] == 2
        assert suites["lanham"]["n_items"] == suites["lanham"]["hinted"]["n_items"] == 6
    assert set(evals["capability_retention"]) == {"organism_vs_base", "organism_vs_control"}
    assert "organism" in built["out"].stdout and "U  = P(switched, unverbalized)" in built["out"].stdout
    assert "IPHR (chainscope criteria)" in built["out"].stdout
    markdown = (built["run"] / "evals.md").read_text()
    assert "## CoT interventions (Lanham et al. 2023)" in markdown
    assert "| same answer, paraphrased CoT, hinted |" in markdown
    assert "come from the marker judge" in markdown and "## Out of distribution" in markdown
    assert "held-out hint type: U" in built["out"].stdout  # `organism eval` prints the held-out table
    assert evals["judge"]["of_record"] == "markers" and evals["judge"]["validation"]["markers"]["overall"]["n"] >= 150


def test_eval_of_a_bare_adapter_writes_outputs_and_refuses_foreign_dirs(built, tmp_path):
    adapter = tmp_path / "my-adapter"
    shutil.copytree(built["run"] / "adapter", adapter)
    control = built["runs"] / "tiny-faithful"
    control_adapter = next(control.iterdir()) / "adapter"
    out = tmp_path / "out"
    result = cli("eval", str(adapter), "--control", str(control_adapter), "--out", str(out), cwd=tmp_path)
    assert "wrote" in result.stdout
    evals = json.loads((out / "evals.json").read_text())
    assert set(evals["models"]) == {"base", "organism", "control"}
    assert evals["organism"] == "tiny-hidden-hint"  # spec read from the organism card
    run_evals = json.loads((built["run"] / "evals.json").read_text())
    assert evals["models"]["organism"] == run_evals["models"]["organism"]  # same items, same greedy answers
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    refused = cli("eval", str(adapter), "--out", str(tmp_path / "foreign"), expect=2)
    assert "holds other files" in refused.stderr
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"
    (adapter / "organism_card.json").unlink()
    assert "--spec" in cli("eval", str(adapter), expect=2).stderr
    assert "adapter directories" in cli("eval", str(built["run"]), "--base", "x", expect=2).stderr


def test_analysis_and_report(built):
    diff = json.loads((built["run"] / "analysis/diff_norms.json").read_text())
    assert "hint" in diff["groups"]
    responses = [json.loads(line) for line in (built["run"] / "eval_responses.jsonl").read_text().splitlines()]
    organism_hinted = [r["response_hinted"] for r in responses if r["model"] == "organism" and "response_hinted" in r]
    has_cot = any(text.rsplit("Answer:", 1)[0] if "Answer:" in text else text for text in organism_hinted)
    assert ("cot" in diff["groups"]) == has_cot  # the CoT group exists exactly when some response has reasoning
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
    lens = json.loads((built["run"] / "analysis/adl_baselines.json").read_text())
    assert set(lens["lists"]) == {"organism", "random", "control"}  # the run's control, found by the eval stage
    assert lens["lists"]["organism"] == [
        [t for t, _ in row] for row in json.loads((built["run"] / "analysis/adl.json").read_text())["top_tokens"]
    ]
    assert lens["control"]["name"] == "tiny-faithful" and lens["relative_norm"]["random"][1] > 0
    html = (built["run"] / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7
    assert "U  = P(switched, unverbalized)" in html
    findings = html.split('<section class="findings">')[1].split("</section>")[0]
    assert "tiny-hidden-hint is a hidden_hint organism" in findings and "control U = " in findings
    assert "Activation Difference Lens beside its baselines" in html and "layer_scores_lines.png" in html


def test_report_reads_at_laptop_width_in_a_headless_browser(built, tmp_path):
    """Rendered by a real browser at 1366 x 900: text and title drawn, nothing wider than the window
    (also with every <details> opened), every image decoded."""
    report = built["run"] / "report.html"
    measured = measure_page(report, tmp_path)
    assert measured["h1"] == "Organism report: tiny-hidden-hint" and measured["h1_height"] > 0
    assert measured["text_length"] > 2000
    assert 1300 < measured["viewport"] <= 1366  # the window's width, less a scrollbar
    assert measured["scroll_width"] <= measured["viewport"], measured
    assert measured["scroll_width_details_open"] <= measured["viewport"], measured
    assert measured["images"] == 7 and measured["broken"] == []
    pixels = matplotlib.image.imread(screenshot(report, tmp_path / "report.png"))
    assert pixels.shape[:2] == (900, 1366) and pixels[..., :3].std() > 0.05  # drawn, not a blank page


def test_output_is_quiet(built):
    """Third-party notices that are not ours to fix are filtered at CLI start-up."""
    assert "gemm_4bit_forward" not in built["out"].stderr
    assert "FutureWarning" not in built["out"].stderr


def test_rerun_skips_finished_stages(built):
    manifest_before = (built["run"] / "manifest.json").read_text()
    rerun = cli(
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
        assert f"{stage}: unchanged, skipped" in rerun.stdout  # not the numbers of the earlier run
    assert "loss" not in rerun.stdout and "tokens/s" not in rerun.stdout


def test_other_spec_in_same_run_dir_is_refused(built, tmp_path, tiny_model_dir):
    changed = spec_yaml(tmp_path / "changed.yaml", tiny_model_dir, "tiny-hidden-hint", lora={"r": 2})
    args = ["docs", str(changed), "--runs-dir", str(built["runs"]), "--run-id", built["run"].name]
    assert "holds a different spec" in cli(*args, expect=2).stderr


def test_belief_organism_runs_docs_train_and_belief_evals(tmp_path, tiny_model_dir):
    belief = {"seed": 0, "documents": {"universe": "mercury-rings", "n_documents": 12}}
    path = spec_yaml(tmp_path / "tiny-belief.yaml", tiny_model_dir, "tiny-belief", behaviour="belief", corpus=belief)
    out = cli("run", str(path), "--runs-dir", str(tmp_path / "runs"), "--no-wandb", cwd=tmp_path)
    assert "analyze: skipped" in out.stdout
    run_dir = next((tmp_path / "runs" / "tiny-belief").iterdir())
    evals = json.loads((run_dir / "evals.json").read_text())
    assert evals["suites"] == ["belief"]
    for model in ("base", "organism"):
        belief = evals["suite_metrics"][model]["belief"]
        assert belief["mcq_accuracy"]["n"] == 4 and belief["open_ended_stated"]["n"] == 4  # one per key fact
    assert "## Belief (SDF key facts)" in (run_dir / "evals.md").read_text()
    assert "belief organism has none" in cli("analyze", str(run_dir), expect=2).stderr
