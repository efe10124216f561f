"""W&B keeps its own files (debug logs, artifact staging) under COT_ORGANISMS_CACHE, not in the home
directory's ~/.cache/wandb and ~/.local/share/wandb; a user's own WANDB_CACHE_DIR / WANDB_DATA_DIR win.
A real offline W&B run, so the check is where W&B itself writes."""

from __future__ import annotations

import os

import pytest

from organisms.catalog import resolve_spec
from runtime.tracking import report_to

W_AND_B = ("WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT")


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in W_AND_B:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "home"


def test_an_offline_wandb_run_writes_nothing_under_home(tmp_path, home):
    import wandb

    spec = resolve_spec("hidden-hint").with_changes({"training.wandb.enabled": True}, "test")
    assert report_to(spec) == "wandb" and os.environ["WANDB_MODE"] == "offline"
    run = wandb.init(dir=str(tmp_path / "run"), project="test", job_type="test")
    table = wandb.Table(columns=["prompt"])
    table.add_data("What is 2 + 2?")
    run.log({"loss": 1.0, "samples": table})
    run.finish()
    assert not (home / ".cache" / "wandb").exists() and not (home / ".local" / "share" / "wandb").exists()
    assert any((tmp_path / "cache" / "wandb").rglob("*.log"))


def test_a_users_own_wandb_dirs_win(tmp_path, home, monkeypatch):
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "mine-data"))
    spec = resolve_spec("hidden-hint").with_changes({"training.wandb.enabled": True}, "test")
    report_to(spec)
    assert os.environ["WANDB_CACHE_DIR"] == str(tmp_path / "mine")
    assert os.environ["WANDB_DATA_DIR"] == str(tmp_path / "mine-data")
