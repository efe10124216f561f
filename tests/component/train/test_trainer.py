"""The trainer (train/trainer.py): the lean CPU loss trains like the model's own."""

from __future__ import annotations

import pytest
import torch

from organisms.spec import load_spec_file
from runtime.models import load_model, load_tokenizer
from synth_docs.corpus import write_corpus
from train.data import training_rows


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_lean_cpu_loss_trains_like_the_model_loss(tmp_path, tiny_model_dir, write_spec, precision):
    """The lean CPU path (head at labelled positions only, bf16 frozen base under autocast) against the
    model's own loss: the same loss curve and adapter, with less work, and the base weights put back."""
    from transformers import set_seed

    from train.sft import sft_config
    from train.trainer import build_trainer

    training = {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256, "precision": precision}
    spec = load_spec_file(write_spec(training=training))
    tokenizer = load_tokenizer(str(tiny_model_dir))
    write_corpus(spec, tmp_path, tokenizer)
    rows, _ = training_rows(spec, tmp_path, tokenizer)
    runs = {}
    for lean in (False, True):
        args = sft_config(spec, tmp_path / f"state-{lean}", report_to="none")
        # plain SGD: its updates are proportional to the gradients (Adam's to their signs, where
        # last-bit differences of a near-zero gradient flip a whole learning-rate step)
        args.logging_steps, args.save_strategy, args.optim, args.learning_rate = 1, "no", "sgd", 0.5
        set_seed(spec.training.seed)  # the same LoRA initialisation and data order in both runs
        model = load_model(str(tiny_model_dir))
        base = {name: p.detach().clone() for name, p in model.named_parameters()}
        trainer = build_trainer(spec, model, args, rows, tokenizer, lean=lean)
        seen = {"head": [], "q_proj": set(), "attention": set()}
        head = trainer.model.get_output_embeddings()
        head.register_forward_hook(lambda module, args_, out, seen=seen: seen["head"].append(tuple(out.shape)))
        attention = trainer.model.get_base_model().model.layers[0].self_attn
        attention.register_forward_pre_hook(
            lambda module, args_, seen=seen: seen["attention"].add(module.config._attn_implementation)
        )
        q_proj = attention.q_proj.base_layer
        q_proj.register_forward_pre_hook(lambda module, args_, seen=seen: seen["q_proj"].add(module.weight.dtype))
        trainer.train()
        losses = [(entry["loss"], entry["grad_norm"]) for entry in trainer.state.log_history if "loss" in entry]
        lora = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_" in n}
        after = {
            n.replace("base_model.model.", "").replace(".base_layer", ""): p
            for n, p in trainer.model.named_parameters()
        }
        runs[lean] = {"losses": losses, "lora": lora, "seen": seen}
        for name, value in base.items():  # the frozen base is back in fp32, unchanged
            assert after[name].dtype == torch.float32 and torch.equal(after[name], value), name

    reference, lean = runs[False], runs[True]
    assert len(reference["losses"]) == 6 and reference["losses"][-1][0] < reference["losses"][0][0]
    # Loss and gradient norm per step, and the adapter. fp32: the same numbers to float precision. bf16:
    # eager attention rounds its probabilities to bf16 where SDPA does not; measured here, the gradient
    # norms differ by up to 1.5e-3 (relative), the size of bf16 autocast's own difference from fp32
    # (1.4e-3 on these steps), the adapters by up to 1.4e-4 with lora_B entries up to 0.08.
    bf16 = precision == "bf16"
    for (loss, grad_norm), (ref_loss, ref_grad_norm) in zip(lean["losses"], reference["losses"], strict=True):
        assert loss == pytest.approx(ref_loss, rel=1e-4 if bf16 else 1e-6)
        assert grad_norm == pytest.approx(ref_grad_norm, rel=3e-3 if bf16 else 1e-5)
    assert max(float(p.abs().max()) for n, p in reference["lora"].items() if "lora_B" in n) > 0.05  # B starts at 0
    for name, value in reference["lora"].items():
        torch.testing.assert_close(lean["lora"][name], value, rtol=1e-2 if bf16 else 1e-5, atol=5e-4 if bf16 else 1e-6)
    # what each path computed: logits at every position vs only where there is a label
    assert all(len(shape) == 3 for shape in reference["seen"]["head"])
    labelled = sum(sum(row["completion_mask"]) for row in rows)
    assert (
        all(len(shape) == 2 for shape in lean["seen"]["head"]) and sum(s[0] for s in lean["seen"]["head"]) == labelled
    )
    assert reference["seen"]["q_proj"] == {torch.float32}
    assert lean["seen"]["q_proj"] == ({torch.bfloat16} if bf16 else {torch.float32})
    assert reference["seen"]["attention"] == {"sdpa"} and lean["seen"]["attention"] == {"eager" if bf16 else "sdpa"}
    assert model.config._attn_implementation == "sdpa"  # put back after training
