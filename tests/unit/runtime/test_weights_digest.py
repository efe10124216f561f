"""A model directory's digest (runtime/weights.py): by content, every file transformers reads, cached by
(path, size, mtime, ctime, inode) so a second look costs no read, and never stale after an edit."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runtime import weights


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"weights-one")
    (model / "tokenizer.json").write_text("{}")
    (model / "README.md").write_text("not the model")
    (model / ".hidden").write_text("not the model")
    return model


def test_the_digest_covers_every_file_transformers_reads(model_dir):
    digest = weights.directory_digest(model_dir)
    assert sorted(digest["files"]) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert digest["files"]["model.safetensors"] == hashlib.sha256(b"weights-one").hexdigest()
    (model_dir / "README.md").write_text("edited")
    assert weights.directory_digest(model_dir) == digest  # documentation is not the model


def test_new_weights_at_the_same_path_are_another_model(model_dir):
    before = weights.model_identity(str(model_dir))
    (model_dir / "model.safetensors").write_bytes(b"weights-two")  # same size, same path
    after = weights.model_identity(str(model_dir))
    assert before["sha256"] != after["sha256"] and not weights.same_model(before, after)
    assert weights.weights_key(str(model_dir)) == {"sha256": after["sha256"]}


def test_a_cached_digest_costs_no_read_and_a_restored_mtime_does_not_fool_it(model_dir, monkeypatch):
    weights.directory_digest(model_dir)
    reads = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: reads.append(self) or real_open(self, *a, **k))
    weights.directory_digest(model_dir)
    assert not [p for p in reads if p.parent == model_dir]  # every file's digest came from the cache
    file = model_dir / "model.safetensors"
    stat = file.stat()
    file.write_bytes(b"weights-two")
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # size and mtime as before: ctime still moves
    assert (
        weights.directory_digest(model_dir)["files"]["model.safetensors"] == hashlib.sha256(b"weights-two").hexdigest()
    )


def test_a_relative_base_model_is_recorded_as_an_absolute_path(model_dir, monkeypatch):
    monkeypatch.chdir(model_dir.parent)
    identity = weights.model_identity("model")
    assert identity["kind"] == "local" and identity["model"] == str(model_dir.resolve())


def test_an_embedded_name_and_a_hub_id_are_keyed_without_hashing(monkeypatch):
    monkeypatch.setattr(weights, "hub_revision", lambda ref: "abc123")
    assert weights.model_key("embedded:smollm2-135m")["embedded"] == "embedded:smollm2-135m"
    assert weights.model_key("Org/Some-Model") == {"hub": "Org/Some-Model", "revision": "abc123"}
    assert weights.weights_key("embedded:smollm2-135m") is None and weights.weights_key("Org/Some-Model") is None


def test_the_environment_names_device_threads_dtype_and_processes():
    env = weights.environment("fp32")
    assert set(env) == {"device", "torch_threads", "dtype", "world_size"} and env["dtype"] == "fp32"
    on_gpu = {**env, "device": "cuda (some GPU)"}
    assert "torch_threads" in weights.environment_key({**env, "device": "cpu"})
    assert "torch_threads" not in weights.environment_key(on_gpu)  # CPU threads do not enter GPU arithmetic
