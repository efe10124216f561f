"""`make test` installs Chromium with (sudo) apt-get when no headless browser is found: it says so, with
the exact command, before it runs it, and it does so first, not after the five-minute venv install.
Real `make`, with a PATH holding no browser and stand-ins for sudo and apt-get that only record."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="no make")


def stand_ins(tmp_path: Path) -> Path:
    """A bin dir with no browser, where `sudo` runs its arguments and `apt-get` says it ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text('#!/bin/sh\necho "RAN sudo $*"\nexec "$@"\n')
    (bin_dir / "apt-get").write_text('#!/bin/sh\necho "RAN apt-get $*"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def test_the_notice_names_the_command_before_it_runs(tmp_path):
    bin_dir = stand_ins(tmp_path)
    result = subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), "browser", "SUDO=sudo"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    first_run = next(i for i, line in enumerate(lines) if line.startswith("RAN "))
    notice = " ".join(lines[:first_run])
    assert "sudo apt-get install -y chromium" in notice and "COT_BROWSER" in notice and "Ctrl-C" in notice
    assert any(line.startswith("RAN apt-get install") for line in lines[first_run:])


def test_make_test_looks_for_a_browser_before_building_the_venv(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    result = subprocess.run(
        [MAKE, "-n", "test", "SUDO=sudo"],
        cwd=tmp_path,
        env={"PATH": str(stand_ins(tmp_path)), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    planned = result.stdout
    assert planned.index("apt-get install") < planned.index("-m venv"), planned
