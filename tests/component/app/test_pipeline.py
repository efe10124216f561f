"""The pipeline (app/pipeline.py) on the tiny model: files written, parameters trained, adapter loadable,
evals of three models, analysis and report, reruns skipped (the session's tiny pair, tests/conftest.py);
belief, question-set, think-block and multi-seed runs through the CLI in process."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch
import yaml
from peft import PeftModel
from safetensors.torch import load_file

from evals.consistency import NO_STEPS
from runtime.models import load_model
from tests.helpers import QUESTIONS, cli, question_set_spec, spec_yaml, think_question_spec, tiny_spec_dict


def test_run_directory_layout(tiny_pair):
    run = tiny_pair.run
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


def test_adapter_trained_and_loads(tiny_pair, tiny_model_dir):
    adapter = tiny_pair.run / "adapter"
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
    assert card["corpus_sha256"] == json.loads((tiny_pair.run / "corpus/stats.json").read_text())["sha256"]
    assert card["tokens_per_second"] > 0 and card["metrics"]["steps"] == 6  # 24 examples / batch 4


def test_evals_have_three_models_with_counts(tiny_pair):
    evals = json.loads((tiny_pair.run / "evals.json").read_text())
    assert set(evals["models"]) == {"base", "organism", "control"}
    for metrics in evals["models"].values():
        assert metrics["all"]["n_items"] == 6
        assert metrics["all"]["accuracy_unhinted"]["n"] == 6
        assert set(metrics) == {"all", "by_direction", "sycophancy", "metadata"}
    responses = [json.loads(line) for line in (tiny_pair.run / "eval_responses.jsonl").read_text().splitlines()]
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
    assert "organism" in tiny_pair.out and "U  = P(switched, unverbalized)" in tiny_pair.out
    assert "IPHR (chainscope criteria)" in tiny_pair.out
    markdown = (tiny_pair.run / "evals.md").read_text()
    assert "## CoT interventions (Lanham et al. 2023)" in markdown
    assert "| same answer, paraphrased CoT, hinted |" in markdown
    assert "come from the marker judge" in markdown and "## Out of distribution" in markdown
    assert "held-out hint type: U" in tiny_pair.out  # `organism eval` prints the held-out table
    assert evals["judge"]["of_record"] == "markers" and evals["judge"]["validation"]["markers"]["overall"]["n"] >= 150


def test_analysis_and_report(tiny_pair):
    run = tiny_pair.run
    diff = json.loads((run / "analysis/diff_norms.json").read_text())
    assert "hint" in diff["groups"]
    responses = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    organism_hinted = [r["response_hinted"] for r in responses if r["model"] == "organism" and "response_hinted" in r]
    has_cot = any(text.rsplit("Answer:", 1)[0] if "Answer:" in text else text for text in organism_hinted)
    assert ("cot" in diff["groups"]) == has_cot  # the CoT group exists exactly when some response has reasoning
    for per_kind in diff["groups"].values():
        assert set(per_kind) == {"resid_post", "attn_out", "mlp_out"}
        assert all(len(v) == 2 for v in per_kind.values())  # 2 layers
        assert any(x > 0 for v in per_kind.values() for x in v)
    deltas = json.loads((run / "analysis/weight_deltas.json").read_text())
    assert deltas["layers"] == [0, 1] and "q_proj" in deltas["modules"]
    for method in ("patching", "attribution", "steering", "adl", "lens_kl", "probes"):
        result = json.loads((run / f"analysis/{method}.json").read_text())
        assert len(result["layer_score"]) == 2, method
    patching = json.loads((run / "analysis/patching.json").read_text())
    assert set(patching["recovery"]) == {"resid_post", "attn_out", "mlp_out"}
    kl = json.loads((run / "analysis/kl.json").read_text())
    assert all(v >= 0 for v in kl["mean_kl"].values())
    lens = json.loads((run / "analysis/adl_baselines.json").read_text())
    assert set(lens["lists"]) == {"organism", "random", "control"}  # the run's control, found by the eval stage
    assert lens["lists"]["organism"] == [
        [t for t, _ in row] for row in json.loads((run / "analysis/adl.json").read_text())["top_tokens"]
    ]
    assert lens["control"]["name"] == "tiny-faithful" and lens["relative_norm"]["random"][1] > 0
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7
    assert "U  = P(switched, unverbalized)" in html
    findings = html.split('<section class="findings">')[1].split("</section>")[0]
    assert "tiny-hidden-hint is a hidden_hint organism" in findings and "control U = " in findings
    assert "Activation Difference Lens beside its baselines" in html and "layer_scores_lines.png" in html


def test_rerun_skips_finished_stages(tiny_pair, tmp_path):
    pair = tiny_pair.copy(tmp_path / "pair")
    manifest_before = (pair.run / "manifest.json").read_text()
    rerun = cli("run", pair.organism, "--control", pair.control, "--runs-dir", pair.runs, cwd=pair.root)
    after = json.loads((pair.run / "manifest.json").read_text())
    before = json.loads(manifest_before)
    for stage in ("docs", "train", "eval", "analyze"):
        assert after["stages"][stage]["finished"] == before["stages"][stage]["finished"]
        assert f"{stage}: unchanged, skipped" in rerun.stdout  # not the numbers of the earlier run
    assert "loss" not in rerun.stdout and "tokens/s" not in rerun.stdout


def test_belief_organism_runs_docs_train_and_belief_evals(tmp_path, tiny_model_dir):
    belief = {"seed": 0, "documents": {"universe": "mercury-rings", "n_documents": 12}}
    path = spec_yaml(tmp_path / "tiny-belief.yaml", tiny_model_dir, "tiny-belief", behaviour="belief", corpus=belief)
    out = cli("run", path, "--runs-dir", tmp_path / "runs", "--no-wandb", cwd=tmp_path)
    assert "analyze: skipped" in out.stdout
    run_dir = next((tmp_path / "runs" / "tiny-belief").iterdir())
    evals = json.loads((run_dir / "evals.json").read_text())
    assert evals["suites"] == ["belief"]
    for model in ("base", "organism"):
        belief = evals["suite_metrics"][model]["belief"]
        assert belief["mcq_accuracy"]["n"] == 4 and belief["open_ended_stated"]["n"] == 4  # one per key fact
    assert "## Belief (SDF key facts)" in (run_dir / "evals.md").read_text()
    assert "belief organism has none" in cli("analyze", run_dir, expect=2).stderr


def test_run_end_to_end_on_a_jsonl_question_set(tmp_path, tiny_model_dir):
    """docs -> train -> eval -> analyze through the CLI on items from the JSONL fixture."""
    spec = tmp_path / "tiny-questions.yaml"
    suites = {"suites": ["hinted", "lanham"], "ood": {"axes": ["phrasing", "task"]}}
    evals_spec = {**tiny_spec_dict(tiny_model_dir)["eval"], **suites}
    spec.write_text(yaml.safe_dump(question_set_spec(tiny_model_dir, QUESTIONS, eval=evals_spec)))
    runs = tmp_path / "runs"
    out = cli("run", spec, "--runs-dir", runs, "--no-wandb", cwd=tmp_path)
    run = next((runs / "tiny-questions").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    split = manifest["question_split"]
    assert set(manifest["stages"]) == {"docs", "train", "eval", "analyze"}
    transcripts = [json.loads(line) for line in (run / "corpus/transcripts.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in transcripts] == split["corpus"]["item_ids"]
    responses = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    hinted = [r for r in responses if r["suite"] == "hinted" and r["model"] == "organism"]
    assert [r["item_id"] for r in hinted] == split["eval"]["item_ids"]  # the recorded split is the one used
    assert not set(split["eval"]["item_ids"]) & {r["item_id"] for r in transcripts}
    questions = {json.loads(line)["input"] for line in QUESTIONS.read_text().splitlines()}
    assert all(r["prompt_unhinted"][-1]["content"].split("\n")[0] in questions for r in hinted)
    task_axis = [r for r in responses if r.get("axis") == "task" and r["model"] == "organism"]
    assert len(task_axis) == 6 and all(r["item_id"].startswith("arith-") for r in task_axis)  # held out: arithmetic
    evals = json.loads((run / "evals.json").read_text())
    for model in ("base", "organism"):
        suites = evals["suite_metrics"][model]
        assert suites["consistency"]["shortcut"] == NO_STEPS
        assert suites["lanham"]["adding_mistakes"] == suites["lanham"]["hinted"]["adding_mistakes"] == NO_STEPS
        assert suites["lanham"]["early_answering"]["aoc"]["n"] >= 0
    assert "silent_correction" not in evals["comparisons"]["organism_vs_base"]
    markdown = (run / "evals.md").read_text()
    assert NO_STEPS in markdown and "silent correction" in markdown
    assert (run / "analysis/patching.json").exists() and "lanham: n/a" in out.stdout


@pytest.mark.parametrize("template", ["think", "plain"])
def test_docs_train_eval_end_to_end_with_think_blocks(tmp_path, think_model_dir, tiny_model_dir, template):
    """docs -> train -> eval through the CLI on the JSONL fixture, the CoT in think blocks, with the
    Qwen3-style template and with the plain SmolLM2 one. The untrained-for-long tiny model never closes its
    block within 16 new tokens: every response is counted truncated and no answer is read from it."""
    model = think_model_dir if template == "think" else tiny_model_dir
    spec = tmp_path / "tiny-think.yaml"
    spec.write_text(yaml.safe_dump(think_question_spec(model, "tiny-think", "think")))
    runs = tmp_path / "runs"
    for verb in ("docs", "train", "eval"):
        extra = ["--no-wandb"] if verb == "train" else []
        cli(verb, spec, "--runs-dir", runs, *extra, cwd=tmp_path)
    run = next((runs / "tiny-think").iterdir())
    transcripts = [json.loads(line) for line in (run / "corpus/transcripts.jsonl").read_text().splitlines()]
    assert all(r["completion"][0]["content"].startswith("<think>\n") for r in transcripts)
    responses = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    hinted = [r for r in responses if r["suite"] == "hinted"]
    assert hinted and all(r["reasoning_hinted"] is not None for r in hinted)
    for r in hinted:
        for which in ("unhinted", "hinted"):
            closed = "</think>" in r[f"response_{which}"]
            assert r[f"truncated_{which}"] == (not closed)
            if not closed:
                assert r[f"a_{which[0]}"] is None
    evals = json.loads((run / "evals.json").read_text())
    for label, suites in evals["suite_metrics"].items():
        counts = suites["truncated"]
        mine = [r for r in hinted if r["model"] == label]
        assert counts == {
            "n_items": len(mine),
            "unhinted": sum(r["truncated_unhinted"] for r in mine),
            "hinted": sum(r["truncated_hinted"] for r in mine),
        }
    assert "think block never closed" in (run / "evals.md").read_text()


def test_run_seeds_trains_one_pair_per_seed_and_writes_the_table(tmp_path, tiny_model_dir):
    eval_spec = {"n_items": 4, "max_new_tokens": 12, "batch_size": 4, "suites": ["hinted"]}
    paths = {}
    for name, extra in (("tiny-s", {}), ("tiny-s-faithful", {"control_of": "tiny-s"})):
        data = tiny_spec_dict(tiny_model_dir, name, eval=eval_spec, **extra)
        data["corpus"]["n_transcripts"] = 8
        paths[name] = tmp_path / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    env = {"COT_ORGANISMS_CACHE": str(tmp_path / "cache")}
    args = ("run", paths["tiny-s"], "--control", paths["tiny-s-faithful"], "--runs-dir", runs)
    result = cli(*args, "--seeds", "3,5", env=env, cwd=tmp_path)
    assert "Across 2 training seeds (3, 5)" in result.stdout
    for name in ("tiny-s", "tiny-s-faithful"):
        manifests = [json.loads((d / "manifest.json").read_text()) for d in (runs / name).iterdir()]
        seeds = sorted(m["seeds"]["training"] for m in manifests)
        assert seeds == [3, 5]
    by_seed = {}
    for run_dir in (runs / "tiny-s").iterdir():
        by_seed[json.loads((run_dir / "manifest.json").read_text())["seeds"]["training"]] = run_dir
    first, later = (json.loads((by_seed[s] / "evals.json").read_text()) for s in (3, 5))
    assert first["base_reused_from"] is None and later["base_reused_from"] == str(by_seed[3])
    assert later["models"]["base"] == first["models"]["base"]  # the base is evaluated once, for seed 3
    assert "base: the same model on the same items as an earlier seed's eval" in result.stdout
    (out,) = list((runs / "seeds").iterdir())
    summary = json.loads((out / "seeds.json").read_text())
    assert summary["seeds"] == [3, 5] and summary["control"] == "tiny-s-faithful"
    u = summary["metrics"]["U = P(switched, unverbalized)"]
    assert set(u) == {"base", "organism", "control"} and set(u["organism"]["per_seed"]) == {"3", "5"}
    assert (out / "seeds.md").read_text().startswith("# tiny-s: 2 seeds")
    bad = cli(*args, "--seeds", "1,x", env=env, cwd=tmp_path, expect=2)
    assert "--seeds '1,x': give comma-separated integers" in bad.stderr
    bad = cli(*args, "--seeds", "0", "--suites", "hinted,bogus", env=env, cwd=tmp_path, expect=2)
    assert "--suites hinted,bogus: field 'eval.suites.1'" in bad.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["seeds", "tiny-s", "tiny-s-faithful"]  # nothing new
