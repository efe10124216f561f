"""Token groups and activation diffs (analyze/methods/diffing.py), against values known by construction."""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model

from analyze.methods.diffing import diff_norms, group_positions
from organisms.spec import ReasoningSpec
from runtime.generation import chat_texts
from runtime.models import load_model, load_tokenizer


def test_group_positions_cover_hint_cot_and_answer(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    prompt = chat_texts(tokenizer, [[{"role": "user", "content": "HINT-TEXT What is 1 + 2?"}]])[0]
    response = "1 + 2 = 3.\nAnswer: (B)"
    grouped = group_positions(tokenizer, prompt, response, "HINT-TEXT")
    ids = tokenizer(grouped.text, add_special_tokens=False)["input_ids"]
    decode = lambda group: tokenizer.decode([ids[i] for i in grouped.positions[group]])  # noqa: E731
    assert "HINT-TEXT" in decode("hint")
    assert decode("cot").strip().startswith("1 + 2 = 3")
    assert "Answer" not in decode("cot")
    assert decode("answer").strip() == "Answer: (B)"


def test_diff_is_zero_for_untrained_adapter_and_positive_after_perturbation(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    base = load_model(str(tiny_model_dir))
    model = get_peft_model(
        base, LoraConfig(r=2, target_modules=["down_proj"], layers_to_transform=[1]), adapter_name="organism"
    )
    prompt = chat_texts(tokenizer, [[{"role": "user", "content": "HINT q"}]])[0]
    text = group_positions(tokenizer, prompt, "a b c\nAnswer: (A)", "HINT")
    zero = diff_norms(model, tokenizer, [text, text], adapter="organism")
    assert all(v == 0 for per_kind in zero["groups"].values() for vals in per_kind.values() for v in vals)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    moved = diff_norms(model, tokenizer, [text], adapter="organism")
    cot = moved["groups"]["cot"]
    assert cot["mlp_out"][0] == 0 and cot["mlp_out"][1] > 0  # only layer 1's MLP was adapted
    assert cot["resid_post"][0] == 0 and cot["resid_post"][1] > 0


THINK = ReasoningSpec(format="think")


ASSISTANT = "<|im_start|>assistant\n"


def test_diff_groups_take_the_answer_line_after_the_block(think_lm):
    from analyze.methods.diffing import group_positions

    _, tokenizer = think_lm

    def group_text(response: str, reasoning: ReasoningSpec) -> dict[str, str]:
        grouped = group_positions(tokenizer, ASSISTANT, response, None, reasoning)
        ids = tokenizer(grouped.text, add_special_tokens=False)["input_ids"]
        return {g: tokenizer.decode([ids[i] for i in grouped.positions[g]]) for g in ("cot", "answer")}

    closed = group_text("<think>\nAnswer: (B)\n</think>\n\nAnswer: (C)", THINK)
    assert closed["answer"] == "Answer: (C)" and closed["cot"].startswith("<think>")
    unclosed = group_text("<think>\n12 + 5 = 17.\nAnswer: (B)", THINK)
    assert unclosed["answer"] == "" and unclosed["cot"].endswith("Answer: (B)")
    assert group_text("<think>\nAnswer: (B)", ReasoningSpec())["answer"] == "Answer: (B)"  # text: as before
