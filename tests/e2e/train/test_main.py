"""The training front doors (train/__main__.py): `python -m train` is `organism train`, and `accelerate
launch` with 2 CPU processes (DDP, and FSDP's config)."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
from peft import PeftModel

from runtime.models import load_model
from tests.helpers import ORGANISM, REPO
from tests.helpers import run_cmd as run

CONFIGS = REPO / "accelerate_configs"


FRONT_DOORS = {"organism-train": [*ORGANISM, "train"], "python-m-train": [sys.executable, "-m", "train"]}


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_qlora_without_gpu_is_a_clear_error(tmp_path, write_spec, door):
    """Both front doors are one command: same refusal, same exit code, nothing written."""
    spec = write_spec(lora={"quantize": "4bit"})
    no_cuda = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # the same refusal on a GPU machine
    cmd = [*FRONT_DOORS[door], str(spec), "--runs-dir", str(tmp_path / "runs")]
    result = run(cmd, tmp_path, env=no_cuda, expect=2)
    assert "field 'lora.quantize': 4-bit QLoRA needs a CUDA GPU" in " ".join(result.stderr.split())
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_python_m_train_is_the_organism_train_command(tmp_path):
    helps = {door: run([*cmd, "--help"], tmp_path).stdout for door, cmd in FRONT_DOORS.items()}
    options = {door: sorted(set(re.findall(r"--[a-z][a-z-]+", text))) for door, text in helps.items()}
    assert options["python-m-train"] == options["organism-train"] == ["--help", "--no-wandb", "--run-id", "--runs-dir"]
    assert "Usage: python -m train [OPTIONS]" in " ".join(helps["python-m-train"].split())


LAUNCHES = {
    "cpu_ddp": (["--config_file", str(CONFIGS / "cpu_ddp.yaml")], {"type": "DDP", "world_size": 2}),
    # fsdp.yaml is for GPUs: 2 processes, no bf16 here. accelerate runs CPU processes as DDP whatever
    # the config asks, and the card says so instead of claiming FSDP.
    "fsdp": (
        ["--config_file", str(CONFIGS / "fsdp.yaml"), "--num_processes", "2", "--mixed_precision", "no"],
        {"type": "DDP", "world_size": 2, "requested": "FSDP"},
    ),
}


@pytest.mark.parametrize("launch", LAUNCHES)
def test_accelerate_launch_two_cpu_processes(tmp_path, tiny_model_dir, write_spec, launch):
    """A real `accelerate launch` with 2 gloo ranks: disjoint shards, one adapter, and it loads."""
    config, expected = LAUNCHES[launch]
    spec = write_spec("tiny-ddp", corpus={"n_transcripts": 24}, training={"epochs": 1, "batch_size": 3})
    runs = tmp_path / "runs"
    port = str(29577 + list(LAUNCHES).index(launch))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *config, "--main_process_port", port]
    no_cuda = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = run([*cmd, "-m", "train", str(spec), "--runs-dir", str(runs), "--no-wandb"], REPO, env=no_cuda)
    assert result.stdout.count("train: loss") == 1  # only the main process reports and writes
    (run_dir,) = list((runs / "tiny-ddp").iterdir())
    card = json.loads((run_dir / "adapter" / "organism_card.json").read_text())
    assert card["shards"] == {"world_size": 2, "examples_per_rank": [12, 12], "overlap_between_ranks": 0}
    assert card["distributed"] == expected
    assert card["metrics"]["steps"] == 4  # 24 examples / (3 per rank x 2 ranks)
    assert not list(run_dir.glob(".adapter*"))
    adapted = PeftModel.from_pretrained(load_model(str(tiny_model_dir)), str(run_dir / "adapter"))
    lora_b = [p for name, p in adapted.named_parameters() if "lora_B" in name]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # trained (lora_B starts at zero)
