"""The method suite (analyze/methods/suite.py): bf16 autocast, and every method on generated decision prompts."""

from __future__ import annotations

import torch

from analyze.methods.hooks import (
    record_activations,
)
from runtime.models import load_model


def test_bf16_autocast_keeps_the_unembedding_fp32_and_restores_it(tiny4_model_dir, task):
    from analyze.methods.lens import final_norm
    from analyze.methods.suite import autocast

    model = load_model(str(tiny4_model_dir)).eval()
    head = model.get_output_embeddings()
    with torch.no_grad(), autocast(model, True), record_activations(model, ("resid_post",)) as store:
        logits = model(**task.enc).logits
        inner = torch.get_autocast_dtype("cpu")
    assert inner == torch.bfloat16 and logits.dtype == torch.float32
    with torch.no_grad():
        by_hand = torch.nn.functional.linear(final_norm(model)(store["blocks.3.hook_resid_post"]), head.weight)
    assert torch.allclose(logits, by_hand, atol=1e-4)  # not rounded to bf16
    assert "forward" not in vars(head)  # the module's own forward is back
