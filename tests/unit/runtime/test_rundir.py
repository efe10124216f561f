"""The one writer (runtime/rundir.py): atomic files, staged directories, stale staging cleared."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runtime.rundir import staged_dir, write_json


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_write_json_is_atomic_and_the_one_format(tmp_path):
    path = write_json(tmp_path / "sub" / "x.json", {"b": 1, "a": [1.5, None]})
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'
    assert write_json(tmp_path / "y.json", {"b": 1, "a": 2}, sort_keys=False).read_text().index('"b"') < 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "y.json"]  # no temp files left


def test_staged_dir_replaces_only_on_success_and_clears_dead_staging(tmp_path):
    final = tmp_path / "corpus"
    with staged_dir(final) as staging:
        (staging / "a.txt").write_text("one")
    assert (final / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), staged_dir(final) as staging:
        (staging / "a.txt").write_text("half")
        raise RuntimeError("killed halfway")
    assert (final / "a.txt").read_text() == "one"  # the previous version, untouched
    dead = tmp_path / f".corpus.staging-{dead_pid()}"
    alive = tmp_path / f".corpus.staging-{os.getppid()}"  # another live process may be building it
    dead.mkdir(), alive.mkdir()
    with staged_dir(final) as staging:
        (staging / "a.txt").write_text("two")
    assert not dead.exists() and alive.exists()
    assert (final / "a.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["corpus", alive.name])
