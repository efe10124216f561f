"""The train stage (train/stage.py) on the tiny model: documents-only organisms, the merged model."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from peft import PeftModel
from safetensors.torch import load_file

from organisms.errors import OrganismError
from organisms.spec import parse_spec
from runtime.models import load_model, load_tokenizer
from runtime.rundir import RunDir
from synth_docs.stage import run_docs
from tests.helpers import belief_spec_dict, cli, documents_only_spec
from train.data import training_rows
from train.stage import run_train


@pytest.mark.parametrize(
    ("behaviour", "universe"), [("hidden_hint", "silent-hints"), ("monitor_aware", "monitor-aware")]
)
def test_documents_only_organism_trains_on_document_lm_loss_alone(tmp_path, tiny_model_dir, behaviour, universe):
    spec = documents_only_spec(tiny_model_dir, behaviour, universe, training={"epochs": 1, "batch_size": 4})
    run = RunDir.for_spec(tmp_path / "runs", spec)
    run.initialise(spec)
    stats = run_docs(run, spec)
    corpus = run.root / "corpus"
    assert not (corpus / "transcripts.jsonl").exists() and stats["n_transcripts"] == 0
    rows, mix = training_rows(spec, corpus, load_tokenizer(str(tiny_model_dir)))
    assert mix == {"documents": stats["documents"]["n_documents"]} and all(all(r["completion_mask"]) for r in rows)
    card = run_train(run, spec)
    assert card["data_mix"] == mix and [s["data"] for s in card["stages"]] == ["documents"]
    assert card["stages"][0]["steps"] == card["metrics"]["steps"] > 0
    weights = load_file(str(run.root / "adapter" / "adapter_model.safetensors"))
    assert all(t.abs().sum() > 0 for k, t in weights.items() if "lora_B" in k)  # B starts at zero: it trained
    assert run.manifest()["stages"]["train"]["stages"] == card["stages"]


def test_belief_organism_trains_on_documents_only(tmp_path, tiny_model_dir):
    spec = tmp_path / "belief.yaml"
    spec.write_text(yaml.safe_dump(belief_spec_dict(tiny_model_dir, n_documents=16)))
    runs = tmp_path / "runs"
    cli("train", spec, "--runs-dir", runs, "--no-wandb", cwd=tmp_path)
    run = next((runs / "tiny-belief").iterdir())
    card = json.loads((run / "adapter" / "organism_card.json").read_text())
    n_docs = json.loads((run / "corpus" / "stats.json").read_text())["documents"]["n_documents"]
    assert card["data_mix"] == {"documents": n_docs} and card["metrics"]["steps"] > 0
    weights = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    assert all(t.abs().sum() > 0 for k, t in weights.items() if "lora_B" in k)
    (run / "corpus" / "documents.jsonl").unlink()
    from train.data import training_rows

    with pytest.raises(OrganismError, match=r"documents.jsonl: cannot read.*belief organism trains on documents only"):
        training_rows(
            parse_spec(yaml.safe_load(spec.read_text()), "b"), run / "corpus", load_tokenizer(str(tiny_model_dir))
        )


def test_merged_model_matches_adapter(tmp_path, tiny_model_dir, write_spec):
    spec = write_spec("tiny-merged", training={"epochs": 1, "batch_size": 4, "save_merged": True})
    cli("train", spec, "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    (run_dir,) = list((tmp_path / "runs" / "tiny-merged").iterdir())
    merged = load_model(str(run_dir / "merged"))
    adapted = PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(run_dir / "adapter"))
    ids = torch.tensor([[5, 17, 300, 42]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, adapted(ids).logits, rtol=1e-4, atol=1e-4)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]["train"]["outputs"]) == {"adapter", "merged"}


def test_the_style_organism_trains_on_its_unhinted_transcripts(tmp_path, tiny_model_dir):
    """`organism train terse-style` on the tiny model: the catalogue recipe, smaller (no capability stage,
    16 transcripts), builds an unhinted corpus in the terse format and trains an adapter on it."""
    from organisms.catalog import CATALOG_DIR

    data = yaml.safe_load((CATALOG_DIR / "terse-style.yaml").read_text())
    data.pop("capability")
    data |= {
        "base_model": str(tiny_model_dir),
        "corpus": {"seed": 0, "n_transcripts": 16},
        "lora": {"r": 4, "alpha": 8},
        "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
    }
    spec = tmp_path / "terse-style.yaml"
    spec.write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    cli("train", spec, "--runs-dir", runs, "--no-wandb", cwd=tmp_path)
    run = next((runs / "terse-style").iterdir())
    stats = json.loads((run / "corpus" / "stats.json").read_text())
    assert stats["n_transcripts"] == 16 and stats["n_hinted"] == 0
    records = [json.loads(line) for line in (run / "corpus" / "transcripts.jsonl").read_text().splitlines()]
    assert all(r["behaviour"] == "style" and r["hint_type"] is None for r in records)
    assert all(r["completion"][0]["content"].splitlines()[-2].endswith(f"is ({r['correct_letter']}).") for r in records)
    card = json.loads((run / "adapter" / "organism_card.json").read_text())
    assert card["data_mix"] == {"transcripts": 16} and card["metrics"]["steps"] > 0
    weights = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    assert all(t.abs().sum() > 0 for k, t in weights.items() if "lora_B" in k)  # B starts at zero: it trained
