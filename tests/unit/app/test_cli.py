"""The CLI in process, no model: list and show, and bad benchmark options refused before any write."""

from __future__ import annotations

import yaml

from tests.helpers import assert_one_line_error, cli


def test_cli_list_and_show(tmp_path):
    listed = cli("list", cwd=tmp_path)
    assert "hidden-hint-faithful" in listed.stdout
    shown = cli("show", "hidden-hint", cwd=tmp_path)
    resolved = yaml.safe_load(shown.stdout)
    assert resolved["name"] == "hidden-hint" and resolved["lora"]["r"] == 16
    assert resolved["training"]["precision"] == "auto"  # defaults are filled in


def test_bench_localization_bad_numbers_write_nothing(tmp_path):
    out = tmp_path / "bench"
    result = cli("bench-localization", "--transcripts", "-5", "--tiny-layers", "2", "--out", out, expect=None)
    assert_one_line_error(result, "--transcripts -5: must be >= 4", out)
    assert not out.exists()


def test_bench_localization_refuses_bad_bands(tmp_path):
    result = cli("bench-localization", "--tiny-layers", "4", "--bands", "2-7", "--out", tmp_path / "out", expect=2)
    assert "--bands" in result.stderr and "0-3" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bench_localization_refuses_repeated_seeds_and_few_null_draws(tmp_path):
    for args, message in ((["--seeds", "0,0"], "--seeds '0,0'"), (["--null-draws", "10"], "--null-draws 10")):
        result = cli("bench-localization", "--tiny-layers", "4", *args, "--out", tmp_path / "out", expect=2)
        assert message in result.stderr
    assert not (tmp_path / "out").exists()
