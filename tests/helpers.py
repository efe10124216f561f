"""What the tests share: the real CLI (and other commands) in a subprocess, tiny-model specs, and
the records of an offline W&B run file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ORGANISM = (sys.executable, "-m", "app.cli")


def run_cmd(
    cmd: list[str], cwd: Path | None = None, env: dict | None = None, expect: int | None = 0, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`cmd` in a subprocess with its output captured; asserts exit code `expect` (None: any),
    showing the output's tail when it differs."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if expect is not None:
        assert result.returncode == expect, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def organism(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    expect: int | None = 0,
    prefix: tuple[str, ...] = (),
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """`organism ARGS` (the real CLI) in a subprocess; `prefix` wraps it (e.g. `setpriv ... --`)."""
    return run_cmd([*prefix, *ORGANISM, *args], cwd=cwd, env=env, expect=expect, timeout=timeout)


def tiny_spec_dict(model_dir: Path, name: str = "tiny-hidden-hint", **overrides) -> dict:
    spec = {
        "name": name,
        "behaviour": "hidden_hint",
        "base_model": str(model_dir),
        "corpus": {"seed": 0, "n_transcripts": 24, "hinted_fraction": 0.5},
        "lora": {"r": 4, "alpha": 8},
        "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 3, "max_length": 256},
        "eval": {
            "n_items": 6,
            "max_new_tokens": 16,
            "batch_size": 6,
            "iphr": {"n_pairs": 2, "n_samples": 2},
            "bootstrap_resamples": 200,
        },
    }
    spec.update(overrides)
    return spec


def spec_yaml(path: Path, model_dir: Path, name: str = "tiny-hidden-hint", **overrides) -> Path:
    """A tiny-model spec YAML at `path`."""
    path.write_text(yaml.safe_dump(tiny_spec_dict(model_dir, name, **overrides)))
    return path


def wandb_records(run_file: Path) -> list:
    """Records of an offline `.wandb` file (wandb >= 0.2x ships no Python reader): a 7-byte
    header, then leveldb-log framing in 32 KiB blocks: crc32 (4), length (2), type (1), data."""
    from wandb.proto import wandb_internal_pb2

    raw = run_file.read_bytes()
    assert raw[:4] == b":W&B", "not a W&B transaction log"
    records, chunks, pos, block = [], b"", 7, 32768
    while pos + 7 <= len(raw):
        if block - pos % block < 7:  # block trailer padding
            pos += block - pos % block
            continue
        length = int.from_bytes(raw[pos + 4 : pos + 6], "little")
        kind = raw[pos + 6]
        data = raw[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        chunks = data if kind in (1, 2) else chunks + data  # FULL/FIRST start, MIDDLE/LAST extend
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunks)
            records.append(record)
    return records
