"""Model files made by real processes (runtime/models.py, runtime/tiny_models.py): two processes converting
the embedded model at once, and the docs' tiny-model one-liner."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from runtime.models import load_model
from tests.helpers import REPO

CONVERT = "from runtime.models import resolve_model; print(resolve_model('embedded:smollm2-135m'))"


@pytest.mark.slow
def test_embedded_conversion_is_safe_with_two_processes(tmp_path):
    """Two processes convert into an empty cache at once: both get the same loadable checkpoint."""
    env = {**os.environ, "COT_ORGANISMS_CACHE": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", CONVERT], env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0].strip().splitlines()[-1] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0] == outputs[1]
    target = tmp_path / "models" / "smollm2-135m"
    assert (target / "model.safetensors").exists() and (target / "config.json").exists()
    assert "quantization_config" not in (target / "config.json").read_text()
    assert not list(target.parent.glob("*.tmp-*"))  # no staging dir left behind


def test_docs_tiny_model_command_builds_a_loadable_model(tmp_path):
    """docs/specs.md's one-liner, run as written (with this interpreter)."""
    docs = (REPO / "docs" / "specs.md").read_text()
    (line,) = [x for x in docs.splitlines() if x.startswith('python -c "from runtime.tiny_models import build_tiny')]
    subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=tmp_path, check=True, capture_output=True)
    model = load_model(str(tmp_path / "models" / "tiny-llama"))
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
