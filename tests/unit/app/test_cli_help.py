"""`--help` shows a flag as a flag: `--inspect`, not `--inspect <bool>` (which reads as if it took a value);
an option that takes a value still shows its type."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from app.cli import app

COMMANDS = sorted(command.name for command in typer.main.get_command(app).commands.values())


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_no_flag_shows_a_value_placeholder(command):
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "--help" in result.stdout and "<bool>" not in result.stdout


def test_flags_are_listed_and_valued_options_keep_their_type():
    shown = CliRunner().invoke(app, ["docs", "--help"], env={"COLUMNS": "160"}).stdout
    assert "--inspect " in shown and "<int>" in shown  # --n takes a number
    assert "--no-wandb " in CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "160"}).stdout
