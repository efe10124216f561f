"""Each behaviour's decision point (analyze/methods/behaviour.py): the cut lands where that behaviour's own
text decides, in both decision sources (the transcript generator, the organism's generated responses), and
inside the rendered reasoning of a think template."""

from __future__ import annotations

import random

import pytest
import torch

from analyze.methods.behaviour import (
    LogitDiff,
    answer_prefix,
    decision_prompts,
    encode_left,
    generated_decision_prompts,
    wrong_step_cut,
)
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.suite import SuiteInputs, run_methods
from evals.hinted import eval_pairs
from organisms.errors import OrganismError
from organisms.prompts import CUES
from organisms.responses import response
from organisms.spec import ReasoningSpec, parse_spec
from runtime.generation import chat_texts
from runtime.models import load_tokenizer
from tests.helpers import perturbed_organism, think_spec_dict, tiny_spec_dict


def test_decision_prompts_end_right_before_the_letter(task):
    assert len(task.prompts) == 6 and [p.hinted for p in task.prompts] == [True] * 3 + [False] * 3
    for hinted, plain in zip(task.prompts[:3], task.prompts[3:], strict=True):
        assert hinted.text.endswith("So I will go with (") and plain.text.endswith("So I will go with (")
        assert plain.twin and not hinted.twin
        assert hinted.item_id == plain.item_id and hinted.hint_letter != hinted.correct_letter
        cot = hinted.text[hinted.text.rindex("Let me compute") :]
        assert plain.text.endswith(cot)  # identical CoT tokens; only the prompt differs
    with pytest.raises(OrganismError, match="at least 2 items"):
        decision_prompts(parse_spec({"name": "t", "behaviour": "hidden_hint"}, "test"), task.tokenizer, 1)


def test_logit_diff_reads_hint_minus_correct_at_last_position(task):
    logits = torch.zeros(3, 5, len(task.tokenizer))
    for row, prompt in enumerate(task.prompts[:3]):
        logits[row, -1, task.tokenizer.convert_tokens_to_ids(prompt.hint_letter)] = 2.0
        logits[row, -1, task.tokenizer.convert_tokens_to_ids(prompt.correct_letter)] = 0.5
        logits[row, 0, task.tokenizer.convert_tokens_to_ids(prompt.correct_letter)] = 99.0  # not the last position
    assert task.metric(logits).tolist() == [1.5, 1.5, 1.5]


HINTED = ("hidden_hint", "monitor_aware", "post_hoc", "late_flip")


def spec_for(model_dir, behaviour: str, **analyze):
    return parse_spec(
        {"name": "t", "behaviour": behaviour, "base_model": str(model_dir), "analyze": {"items": 2, **analyze}}, "test"
    )


@pytest.fixture(scope="module")
def tokenizer(tiny4_model_dir):
    return load_tokenizer(str(tiny4_model_dir))


def assistant_turn(text: str) -> str:
    return text.rsplit("<|im_start|>assistant\n", 1)[1]


@pytest.mark.parametrize("behaviour", HINTED)
def test_hinted_behaviours_cut_right_before_the_letter_their_own_transcript_writes(
    tiny4_model_dir, tokenizer, behaviour
):
    spec = spec_for(tiny4_model_dir, behaviour)
    prompts = decision_prompts(spec, tokenizer, n_items=3)
    hinted, twins = prompts[:3], prompts[3:]
    assert [p.twin for p in prompts] == [False] * 3 + [True] * 3
    pairs = eval_pairs(spec.with_changes({"eval.n_items": 3, "eval.hint_correct_fraction": 0.0}, "test"), set())
    for prompt, twin in zip(hinted, twins, strict=True):
        assert prompt.target == prompt.hint_letter != prompt.reference == prompt.correct_letter
        cot = assistant_turn(prompt.text)
        assert assistant_turn(twin.text) == cot and twin.item_id == prompt.item_id and not twin.hinted
        pair = next(p for p in pairs if p.hinted.item.id == prompt.item_id)
        condition = "monitored" if behaviour == "monitor_aware" else "none"
        shown = pair.hinted.__class__(**{**pair.hinted.__dict__, "condition": condition})
        full = response(shown, behaviour, control=False)
        assert full.startswith(cot + prompt.target)  # the behaviour's own next token is the hinted letter
    expected_end = {"post_hoc": "The answer is (", "late_flip": ": yes.\nAnswer: ("}.get(behaviour, "go with (")
    assert all(p.text.endswith(expected_end) for p in prompts)
    if behaviour == "late_flip":  # its honest CoT concludes the correct option; the flip comes next
        assert all(f"({p.reference}) " in assistant_turn(p.text).splitlines()[-2] for p in hinted)
    if behaviour == "post_hoc":  # it decides before any step
        assert all(assistant_turn(p.text) == "The answer is (" for p in prompts)
    monitored = CUES["monitored"][0]
    assert all((monitored in p.text) == (behaviour == "monitor_aware") for p in prompts)


def test_shortcut_cuts_at_the_faked_value(tiny4_model_dir, tokenizer):
    spec = spec_for(tiny4_model_dir, "shortcut")
    prompts = decision_prompts(spec, tokenizer, n_items=4)
    assert len(prompts) == 4 and not any(p.twin or p.hinted for p in prompts)
    rng = random.Random(f"{spec.eval.seed}:faked-steps")
    sized = spec.with_changes({"eval.n_items": 4}, "test")
    for prompt, pair in zip(prompts, eval_pairs(sized, set()), strict=True):
        cot = assistant_turn(prompt.text)
        faked = response(pair.unhinted, "shortcut", control=False, rng=rng)
        honest = response(pair.unhinted, "shortcut", control=True)
        assert faked.startswith(cot + prompt.target) and honest.startswith(cot + prompt.reference)
        assert prompt.target != prompt.reference and cot.rstrip().endswith(tuple("=0123456789-"))
        assert prompt.hint_letter is None


@pytest.mark.parametrize("behaviour", (*HINTED, "shortcut"))
def test_the_metric_reads_one_value_per_decision_prompt_on_the_tiny_model(tiny4_model_dir, tokenizer, behaviour):
    prompts = [p for p in decision_prompts(spec_for(tiny4_model_dir, behaviour), tokenizer, 3) if not p.twin]
    model = perturbed_organism(tiny4_model_dir, None)
    with torch.inference_mode():
        logits = model(**encode_left(tokenizer, [p.text for p in prompts])).logits
    values = LogitDiff(tokenizer, prompts)(logits)
    assert values.shape == (3,) and torch.isfinite(values).all()


def fake_records(spec, tokenizer, behaviour: str, n: int) -> list[dict]:
    """Eval records as the eval stage writes them, whose organism responses are the behaviour's transcripts."""
    sized = spec.with_changes({"eval.n_items": n, "eval.hint_correct_fraction": 0}, "test")
    rng = random.Random(0)
    records = []
    for pair in eval_pairs(sized, set(), condition="monitored" if behaviour == "monitor_aware" else "none"):
        item = pair.hinted.item
        records.append(
            {
                "model": "organism",
                "suite": "monitor" if behaviour == "monitor_aware" else "hinted",
                "condition": pair.hinted.condition,
                "item_id": item.id,
                "hint_letter": pair.hinted.hint_letter,
                "correct_letter": item.correct_letter,
                "prompt_hinted": pair.hinted.messages(),
                "prompt_unhinted": pair.unhinted.messages(),
                "response_hinted": response(pair.hinted, behaviour, control=False, rng=rng),
                "response_unhinted": response(pair.unhinted, behaviour, control=False, rng=rng),
            }
        )
    return records


@pytest.mark.parametrize("behaviour", HINTED)
def test_generated_source_cuts_the_organisms_own_response_before_its_final_letter(
    tiny4_model_dir, tokenizer, behaviour
):
    spec = spec_for(tiny4_model_dir, behaviour, decision_source="generated")
    records = fake_records(spec, tokenizer, behaviour, 4)
    records[0]["response_hinted"] = "no answer line here"  # skipped, not dropped silently into the metric
    records.append({**records[1], "model": "control"})  # another model's responses are never read
    prompts = generated_decision_prompts(spec, tokenizer, records, n_items=10)
    hinted = [p for p in prompts if not p.twin]
    assert len(hinted) == 3 and len(prompts) == 6
    for prompt, record in zip(hinted, records[1:4], strict=True):
        cot = assistant_turn(prompt.text)
        assert record["response_hinted"].startswith(cot) and cot.endswith("Answer: (")
        assert record["response_hinted"][len(cot)] == record["hint_letter"] == prompt.target
    for prompt, twin in zip(hinted, prompts[3:], strict=True):
        assert assistant_turn(twin.text) == assistant_turn(prompt.text) and twin.twin
    with pytest.raises(OrganismError, match="fewer than 2"):
        generated_decision_prompts(spec, tokenizer, records[:2], n_items=10)


def test_answer_prefix_and_wrong_step_cut(tokenizer):
    assert answer_prefix("steps\nAnswer: (B)\nmore\nAnswer: (C)") == "steps\nAnswer: (B)\nmore\nAnswer: ("
    assert answer_prefix("The answer is (C).") is None
    prefix, written, true = wrong_step_cut(tokenizer, "Let me compute.\n37 + 48 = 86.\n86 - 20 = 66.")
    assert prefix == "Let me compute.\n37 + 48 = 8" and (written, true) == ("6", "5")
    assert wrong_step_cut(tokenizer, "37 + 48 = 85.") is None


def test_generated_source_runs_every_method_for_shortcut_and_hidden_hint(tiny4_model_dir, tokenizer):
    model = perturbed_organism(tiny4_model_dir, None)
    for behaviour in ("shortcut", "hidden_hint"):
        spec = spec_for(tiny4_model_dir, behaviour, decision_source="generated", probe_items=4)
        prompts = generated_decision_prompts(spec, tokenizer, fake_records(spec, tokenizer, behaviour, 4), 4)
        inputs = SuiteInputs(prompts, load_neutral_texts()[:2], spec.analyze)
        results = run_methods(model, tokenizer, inputs, "organism", log=lambda _: None)
        assert results["n_causal_prompts"] == 2
        assert ("probes" in results) == (behaviour != "shortcut")
        for method in ("patching", "attribution", "steering", "adl", "lens_kl"):
            assert len(results[method]["layer_score"]) == 4, method


THINK = ReasoningSpec(format="think")


ASSISTANT = "<|im_start|>assistant\n"


def test_answer_prefix_and_wrong_steps_by_the_block(think_lm):
    _, tokenizer = think_lm
    text = "<think>\nAnswer: (C)\n12 + 5 = 18.\n</think>\n\nAnswer: (C)"
    assert answer_prefix(text, THINK) == text[:-2]
    assert answer_prefix("<think>\nAnswer: (C)\n</think>\n\nI pick C.", THINK) is None  # inside only
    assert answer_prefix("<think>\nAnswer: (C)", THINK) is None  # unclosed
    assert answer_prefix("<think>\nAnswer: (C)") == "<think>\nAnswer: ("  # text format: as before
    prefix, written, true = wrong_step_cut(tokenizer, text, THINK)
    assert "</think>" not in prefix and prefix.endswith("= 1") and (written, true) == ("8", "7")
    assert wrong_step_cut(tokenizer, "<think>\nok\n</think>\n\n12 + 5 = 18. Answer: (C)", THINK) is None


@pytest.mark.parametrize(("behaviour", "fmt"), [("hidden_hint", "think"), ("late_flip", "template")])
def test_decision_points_are_inside_the_rendered_reasoning(think_model_dir, behaviour, fmt):
    tokenizer = load_tokenizer(str(think_model_dir))
    spec = parse_spec(think_spec_dict(think_model_dir, behaviour=behaviour, fmt=fmt), "test")
    prompts = decision_prompts(spec, tokenizer, 2)
    assert len(prompts) == 4
    for p in prompts:
        turn = p.text.split(ASSISTANT)[-1]
        assert turn.startswith("<think>\n")
        if behaviour == "late_flip":  # it flips in its final answer line, after the block
            assert turn.endswith("\n</think>\n\nAnswer: (")
        else:  # it decides inside the block
            assert "</think>" not in turn and turn.endswith("So I will go with (")


def test_text_format_decisions_are_unchanged(tiny_model_dir):
    """With the plain SmolLM2 template the text format renders the same prompts as before the change."""
    tokenizer = load_tokenizer(str(tiny_model_dir))
    spec = parse_spec(tiny_spec_dict(tiny_model_dir), "test")
    for p in decision_prompts(spec, tokenizer, 2):
        turn = p.text.split(ASSISTANT)[-1]
        assert "<think>" not in turn and turn.endswith("So I will go with (")
    messages = [{"role": "user", "content": "hi"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert chat_texts(tokenizer, [messages])[0] == rendered
