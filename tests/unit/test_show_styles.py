"""`organism show` lists the reasoning styles a spec can ask for: a comment line under a hiding behaviour's
YAML (the field is left out of the dump at its default), and the stealth grid with --styles."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

import app.cli
from organisms.responses import STEALTH_GRID
from organisms.spec import REASONING_STYLES


def show(*args: str):
    return CliRunner().invoke(app.cli.app, ["show", *args])


def test_show_says_which_style_a_spec_uses_and_stays_yaml():
    for name, style in (("hidden-hint", "contradicts"), ("hidden-hint-rationalized", "rationalized")):
        result = show(name)
        assert result.exit_code == 0, result.output
        assert f"# corpus.reasoning_style: {style}  (one of {' | '.join(REASONING_STYLES)}" in result.output
        assert yaml.safe_load(result.output)["name"] == name  # the comment leaves it valid YAML
    assert "reasoning_style" not in show("post-hoc").output  # a behaviour with its own recipe


def test_show_styles_prints_the_grid_and_marks_the_spec():
    result = show("--styles")
    assert result.exit_code == 0, result.output
    for row in STEALTH_GRID:
        assert row.style in result.output and row.behaviour.split(",")[0] in result.output
    assert "rationalized (this spec)" in show("hidden-hint-rationalized", "--styles").output
    assert show().exit_code == 2  # neither a spec nor --styles
