"""`organism show --styles` lists the reasoning styles a spec can ask for (corpus.reasoning_style, left out of
`organism show`'s dump at its default), beside the other behaviours, and marks the style of a spec it is given."""

from __future__ import annotations

from typer.testing import CliRunner

import app.cli
from organisms.responses import STEALTH_GRID


def show(*args: str):
    return CliRunner().invoke(app.cli.app, ["show", *args], env={"COLUMNS": "200"})


def test_show_styles_prints_the_grid_and_marks_the_spec():
    result = show("--styles")
    assert result.exit_code == 0, result.output
    for row in STEALTH_GRID:
        assert row.style in result.output and row.behaviour.split(",")[0] in result.output
    assert "rationalized (this spec)" in show("hidden-hint-rationalized", "--styles").output
    assert "contradicts (this spec)" in show("hidden-hint", "--styles").output
    assert "(this spec)" not in show("post-hoc", "--styles").output  # a behaviour with its own recipe
    assert "reasoning_style: rationalized" in show("hidden-hint-rationalized").output  # set: in the dump
    assert show().exit_code == 2  # neither a spec nor --styles
