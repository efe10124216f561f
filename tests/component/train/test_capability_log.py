"""The capability stage's Trainer logs go to a log file beside the capability model, as the organism's go
to its run's train.log: the console shows the progress bar and the stage's own lines, not raw log dicts."""

from __future__ import annotations

import json

from organisms.cache import capability_dir
from organisms.spec import parse_spec
from runtime.weights import capability_key
from tests.helpers import tiny_spec_dict
from train.capability import ensure_capability

CAPABILITY = {
    "n_transcripts": 8,
    "lora": {"r": 4, "alpha": 8},
    "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
}


def test_capability_training_logs_to_a_file_not_the_console(tmp_path, tiny_model_dir, monkeypatch, capfd):
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, "tiny-cap-log", capability=CAPABILITY), "test")
    card = ensure_capability(spec)
    assert card is not None and card["steps"] == 2
    out, err = capfd.readouterr()
    assert "train_runtime" not in out + err and "'loss'" not in out + err
    logs = [json.loads(line) for line in (capability_dir(capability_key(spec)) / "train.log").read_text().splitlines()]
    assert logs and logs[-1]["step"] == 2 and "train_runtime" in logs[-1]
