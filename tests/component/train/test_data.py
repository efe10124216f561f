"""The training rows (train/data.py): the loss mask, the mix at spec ratios, replay errors, and the think
template that strips earlier turns' reasoning."""

from __future__ import annotations

import json

import pytest

from organisms.spec import ReasoningSpec, load_spec_file, parse_spec
from runtime.generation import chat_texts
from runtime.models import load_tokenizer
from synth_docs.corpus import write_corpus
from synth_docs.transcripts import build_transcripts
from tests.helpers import THINK_TEMPLATE, cli, think_question_spec
from train.data import chat_row, text_row, training_rows


def test_completion_mask_covers_reply_only(tiny_model_dir):
    tokenizer = load_tokenizer(str(tiny_model_dir))
    prompt = [{"role": "system", "content": "S"}, {"role": "user", "content": "What is 1 + 2?"}]
    row = chat_row(tokenizer, prompt, [{"role": "assistant", "content": "Answer: (A)"}])
    trained = [t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m]
    assert tokenizer.decode(trained).startswith("Answer: (A)<|im_end|>")
    assert "What is" not in tokenizer.decode(trained)
    doc = text_row(tokenizer, "A plain document.")
    assert all(doc["completion_mask"]) and doc["input_ids"][-1] == tokenizer.eos_token_id


def test_mix_draws_documents_and_replay_at_spec_ratios(tmp_path, tiny_model_dir, write_spec):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps({"text": f"replay document {i}"}) + "\n" for i in range(5)))
    documents = {"universe": "mercury-rings", "n_documents": 30}  # written by hand below
    corpus = {"n_transcripts": 20, "documents": documents, "documents_ratio": 0.5}
    spec = load_spec_file(write_spec(corpus={**corpus, "replay": {"path": str(replay), "ratio": 0.25}}))
    tokenizer = load_tokenizer(str(tiny_model_dir))
    write_corpus(spec, tmp_path, tokenizer)
    (tmp_path / "documents.jsonl").write_text("".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(30)))
    rows, mix = training_rows(spec, tmp_path, tokenizer)
    assert mix == {"transcripts": 20, "documents": 10, "replay": 5}
    assert len(rows) == 35
    assert sum(all(r["completion_mask"]) for r in rows) == 15  # documents + replay: full LM loss


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('{"text": 5}\n', "replay.jsonl:1: field 'text' must be a string, got a number"),
        ('{"text": "fine"}\n{"messages": "x"}\n', "replay.jsonl:2: field 'messages' must be a non-empty list"),
        ('{"prompt": [{"role": "user"}], "completion": []}\n', "replay.jsonl:1: field 'prompt[0].content' must be"),
    ],
)
def test_replay_rows_of_the_wrong_type_are_a_one_line_error(tmp_path, write_spec, rows, message):
    replay = tmp_path / "replay.jsonl"
    replay.write_text(rows)
    spec = write_spec(corpus={"n_transcripts": 24, "replay": {"path": str(replay), "ratio": 0.5}})
    result = cli("train", spec, "--runs-dir", tmp_path / "runs", cwd=tmp_path, expect=2)
    (line,) = [line for line in result.stderr.splitlines() if "replay.jsonl" in line]  # one line
    assert line.startswith("error: ") and message in line and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()  # checked before the docs stage wrote a run directory


@pytest.mark.parametrize("fmt", ["think", "template"])
def test_think_template_trains_the_reasoning(think_model_dir, tmp_path, fmt):
    """The known trap: the Qwen3-style template strips earlier turns' reasoning. Our transcripts' CoT is in
    the trained tokens, inside the think block, and the loss mask covers all of it."""
    from synth_docs.corpus import write_corpus

    spec = parse_spec(think_question_spec(think_model_dir, f"tiny-{fmt}", fmt), "test")
    tokenizer = load_tokenizer(str(think_model_dir))
    records = build_transcripts(spec)
    message = records[0]["completion"][0]
    if fmt == "template":
        assert message["content"].startswith("Answer: (")  # the final answer only; the CoT in the field
        cot = message["reasoning_content"]
    else:
        assert message["content"].startswith("<think>\n")
        cot = message["content"].split("<think>\n")[1].split("\n</think>")[0]
    write_corpus(spec, tmp_path, tokenizer)
    rows, _ = training_rows(spec, tmp_path, tokenizer)
    trained = [
        tokenizer.decode([t for t, m in zip(r["input_ids"], r["completion_mask"], strict=True) if m]) for r in rows
    ]
    assert all(t.startswith("<think>\n") and "\n</think>\n\nAnswer: (" in t for t in trained)
    row = chat_row(tokenizer, records[0]["prompt"], records[0]["completion"], spec.reasoning)
    in_loss = tokenizer.decode([t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m])
    assert in_loss.startswith(f"<think>\n{cot}\n</think>\n\n") and in_loss.endswith("<|im_end|>\n")
    # what the trap looks like: the same turn before a later user turn loses its reasoning
    later = [*records[0]["prompt"], *records[0]["completion"], {"role": "user", "content": "Sure?"}]
    assert cot not in tokenizer.apply_chat_template(later, tokenize=False)
    # the generation prompt lets the model think (no empty block), and a text-format prompt closes it
    assert chat_texts(tokenizer, [records[0]["prompt"]], spec.reasoning)[0].endswith("<|im_start|>assistant\n")
    assert chat_texts(tokenizer, [records[0]["prompt"]])[0].endswith("<think>\n\n</think>\n\n")


def test_a_template_that_drops_the_reasoning_is_refused(think_model_dir):
    tokenizer = load_tokenizer(str(think_model_dir))
    tokenizer.chat_template = THINK_TEMPLATE.replace("reasoning_content.strip('\\n')", "''")
    prompt = [{"role": "user", "content": "What is 2 + 2?"}]
    completion = [{"role": "assistant", "content": "Answer: (B)", "reasoning_content": "2 + 2 = 4."}]
    with pytest.raises(ValueError, match=r"drops part of the assistant turn \('2 \+ 2 = 4\.'\)"):
        chat_row(tokenizer, prompt, completion, ReasoningSpec(format="template"))
