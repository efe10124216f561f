"""The eval, the longest stage, shows a progress bar with an ETA on a terminal: one step per model and
suite (their generations are the eval's work). Like the other bars it draws on stderr and only on a
terminal, so logs and CI output carry none of it."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

import runtime.progress
from evals.registry import running
from evals.stage import evaluate_variants
from organisms.spec import parse_spec
from tests.helpers import tiny_spec_dict


def untrained_adapter(path: Path, model_dir: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    from runtime.models import load_model

    get_peft_model(
        load_model(str(model_dir)), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear")
    ).save_pretrained(path)
    return path


def test_eval_shows_a_bar_with_eta_on_a_terminal_only(tmp_path, tiny_model_dir, monkeypatch, capsys):
    spec = parse_spec(tiny_spec_dict(tiny_model_dir), "test")
    adapters = {"organism": untrained_adapter(tmp_path / "adapter", tiny_model_dir)}
    steps = 2 * len(running(spec))  # base and organism
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws as on a terminal
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setattr(runtime.progress, "CONSOLE", Console(stderr=True))  # made at import, not a terminal
    evaluate_variants(spec, str(tiny_model_dir), adapters, set(), log=lambda _: None)
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)
    assert "eval base · hinted" in drawn and "eval organism · lanham" in drawn
    assert f"{steps}/{steps}" in drawn and "eta" in drawn

    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # a log file, a pipe, CI
    monkeypatch.setattr(runtime.progress, "CONSOLE", Console(stderr=True))
    evaluate_variants(spec, str(tiny_model_dir), adapters, set(), log=lambda _: None)
    assert "eval base" not in capsys.readouterr().err
