"""Generation and scoring (runtime/generation/) on the tiny model: rows stop at their answer, continuous
batching equals fixed batches, seeded sampling, prefixes, and prefix scoring in one forward."""

from __future__ import annotations

import re

import pytest
import torch

from organisms.parse import YES_NO_DONE, answer_done, parse_answer, parse_yes_no
from runtime.generation import (
    Decoding,
    GenerationStats,
    RowStop,
    chat_texts,
    continuation_logprobs,
    continuous_batching_supported,
    decode,
    generate_batched,
    next_token_logprobs,
    sequence_logprobs,
    shared_prefix_logprobs,
)
from runtime.generation.decode import generate_continuous, generate_static
from runtime.models import load_model, load_tokenizer
from runtime.tiny_models import FAMILIES, build_tiny_model


def _stream(criterion: RowStop, prompt: list[int], rows: list[list[int]]) -> list[list[bool]]:
    """Feed equal-length token rows one step at a time, as `generate` does; the criterion's verdicts per step."""
    verdicts = []
    for step in range(1, len(rows[0]) + 1):
        ids = torch.tensor([prompt + row[:step] for row in rows])
        verdicts.append(criterion(ids, None).tolist())
    return verdicts


def test_row_stop_ends_each_row_right_after_its_answer_line(tiny_lm):
    _, tokenizer = tiny_lm
    full = "Maybe the answer is (A).\n12 + 30 = 42.\nAnswer: (B)\nSo (C) was wrong. Also (D) is wrong."
    other = "Let me think about this one for a while, and then a while longer, without ever deciding. " * 2
    row0 = tokenizer(full, add_special_tokens=False)["input_ids"]
    row1 = tokenizer(other, add_special_tokens=False)["input_ids"][: len(row0)]
    assert len(row1) == len(row0)
    chat = chat_texts(tokenizer, [[{"role": "user", "content": "Q?"}]])[0]
    prompt = tokenizer(chat, add_special_tokens=False)["input_ids"]
    criterion = RowStop(tokenizer, len(prompt), answer_done("ABCD"))
    verdicts = _stream(criterion, prompt, [row0, row1])
    stop = criterion.ended_at[0]
    cut = tokenizer.decode(row0[:stop])
    assert cut.endswith("Answer: (B)")  # the token that closes the answer line, no further
    assert [v[0] for v in verdicts] == [False] * (stop - 1) + [True] * (len(row0) - stop + 1)
    assert not any(v[1] for v in verdicts) and 1 not in criterion.ended_at  # the other row runs on
    # a mid-line 'the answer is (A)' does not stop the row; the parsed answer is the same cut or uncut:
    # by hand, the last '(X)' would be D, but the answer line wins
    assert parse_answer(cut, "ABCD") == parse_answer(full, "ABCD") == "B"


def test_row_stop_reads_yes_no_only_once_the_word_is_complete(tiny_lm):
    _, tokenizer = tiny_lm
    prompt = tokenizer("Q?\n", add_special_tokens=False)["input_ids"]
    for text, cut_text in (("Answer: NO.\nBecause 3 < 5.", "Answer: NO."), ("Answer: NOTHING to add", None)):
        row = tokenizer(text, add_special_tokens=False)["input_ids"]
        criterion = RowStop(tokenizer, len(prompt), YES_NO_DONE)
        _stream(criterion, prompt, [row])
        if cut_text is None:  # 'NO' inside 'NOTHING' is not an answer
            assert criterion.ended_at == {} and parse_yes_no(text) is None
        else:
            cut = tokenizer.decode(row[: criterion.ended_at[0]])
            assert cut == cut_text and parse_yes_no(cut) == parse_yes_no(text) == "NO"


def test_row_stop_ends_a_row_at_end_of_turn_without_a_pattern(tiny_lm):
    _, tokenizer = tiny_lm
    prompt = tokenizer("Q?\n", add_special_tokens=False)["input_ids"]
    words = tokenizer("one two three", add_special_tokens=False)["input_ids"]
    criterion = RowStop(tokenizer, len(prompt), None)
    _stream(criterion, prompt, [[*words, tokenizer.eos_token_id, tokenizer.eos_token_id]])
    assert criterion.ended_at == {0: len(words) + 1}  # the end-of-turn token counts, the padding after it not


def test_generation_with_stop_is_a_prefix_of_generation_without(tiny_lm):
    """Sampled (seeded), because the tiny random model's greedy text is empty: each row draws from its
    own random stream, so it samples the same tokens whether or not the rows beside it stop."""
    model, tokenizer = tiny_lm
    conversations = [[{"role": "user", "content": f"Say {w}."}] for w in ("one", "two three", "four five six")]
    max_new = 12

    def run(stop: re.Pattern | None) -> tuple[list[str], GenerationStats]:
        stats = GenerationStats()
        texts = generate_batched(model, tokenizer, conversations, max_new, 3, temperature=1.0, stop=stop, stats=stats)
        return texts, stats

    free, free_stats = run(None)
    # the tiny random model never ends its turn in 12 tokens: every row runs to max_new_tokens
    assert (free_stats.rows, free_stats.tokens, free_stats.row_steps) == (3, 3 * max_new, 3 * max_new)
    # stop at the first non-space character: every row ends at its first token, and so does the batch
    first, first_stats = run(re.compile(r"\S"))
    assert all(
        short and long.startswith(short) and len(short) < len(long) for short, long in zip(first, free, strict=True)
    )
    assert (first_stats.tokens, first_stats.row_steps) == (3, 3)
    # a word only row 0 writes stops row 0 alone, right after the word; the others are untouched
    word = free[0].split()[1]
    assert word in free[0] and all(word not in text for text in free[1:])
    partial, partial_stats = run(re.compile(re.escape(word)))
    assert partial[1:] == free[1:] and partial[0].endswith(word) and free[0].startswith(partial[0])
    assert partial_stats.tokens == partial_stats.row_steps < 3 * max_new  # row 0 left the batch when it ended


@pytest.fixture(scope="module")
def sharp(tiny_model_dir):
    """The tiny Llama with weights redrawn at std 0.3: its greedy text varies with the prompt (the
    saved tiny model's is a run of newlines), so greedy decoding paths can be compared token by token."""
    model, tokenizer = load_model(str(tiny_model_dir)).eval(), load_tokenizer(str(tiny_model_dir))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    return model, tokenizer


def test_continuous_batching_picks_the_tokens_fixed_batches_pick(sharp):
    """Seven prompts of different lengths, three rows at a time, rows ending at different steps: rows
    leave and join mid-decode (re-padded on the left), and every text and count is the fixed-batch
    path's; the only difference is that no step is spent on a finished row."""
    model, tokenizer = sharp
    texts = chat_texts(tokenizer, [[{"role": "user", "content": "Say " + "word " * k}] for k in range(7)])
    assert continuous_batching_supported(model)
    stop = re.compile(r"[A-Z]\w*[a-z][A-Z]")  # a capital inside a word: ends rows at different steps
    decoding = Decoding(max_new_tokens=16, stop=stop)
    fixed_stats = GenerationStats()
    fixed_texts = generate_static(model, tokenizer, texts, decoding, 3, fixed_stats)
    for batch_size in (1, 3, 16):
        stats = GenerationStats()
        assert generate_continuous(model, tokenizer, texts, decoding, batch_size, stats) == fixed_texts
        assert (stats.rows, stats.tokens) == (fixed_stats.rows, fixed_stats.tokens) == (7, stats.row_steps)
    assert len({len(t) for t in fixed_texts}) > 2 and any(stop.search(t) for t in fixed_texts)
    assert fixed_stats.row_steps > fixed_stats.tokens  # fixed batches carried finished rows


def test_a_sampled_text_does_not_depend_on_the_rows_beside_it(sharp):
    model, tokenizer = sharp
    conversations = [[{"role": "user", "content": f"Count to {n}."}] for n in range(6)]
    runs = [generate_batched(model, tokenizer, conversations, 10, size, temperature=1.0, seed=3) for size in (1, 4, 6)]
    assert runs[0] == runs[1] == runs[2]
    assert generate_batched(model, tokenizer, conversations, 10, 6, temperature=1.0, seed=4) != runs[0]


@pytest.fixture(scope="module")
def sharp_gemma(tmp_path_factory):
    """The tiny Gemma 3 (sliding-window layers of 16 tokens, shorter than the test prompts, between
    full-attention ones) with weights redrawn so its greedy text varies: std 0.3, and 0.02 for the
    tied embeddings (scaled by sqrt(hidden), larger ones make it repeat the prompt's last token)."""
    path = build_tiny_model(tmp_path_factory.mktemp("gemma"), "gemma")
    model, tokenizer = load_model(str(path)).eval(), load_tokenizer(str(path))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * (0.02 if "embed" in name else 0.3))
    return model, tokenizer


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_continuous_batching_on_sliding_window_layers_picks_the_fixed_batch_tokens(sharp_gemma, attention):
    """Gemma's sliding-window layers decode with continuous batching too: their whole KV is kept and
    the window is the mask. Prompts of 32-38 tokens against a window of 16, rows leaving and joining:
    every text is the fixed-batch path's (`model.generate`, whose cache keeps the window alone), and
    the window matters (without it every text changes)."""
    model, tokenizer = sharp_gemma
    model.set_attn_implementation(attention)
    config = model.config
    assert "sliding_attention" in config.layer_types and continuous_batching_supported(model)
    texts = chat_texts(tokenizer, [[{"role": "user", "content": "Say " + "word " * k}] for k in range(7)])
    assert min(len(tokenizer(t)["input_ids"]) for t in texts) >= 2 * config.sliding_window
    decoding = Decoding(max_new_tokens=24, stop=re.compile(r"[A-Z]\w*[a-z][A-Z]"))
    fixed_stats = GenerationStats()
    fixed_texts = generate_static(model, tokenizer, texts, decoding, 3, fixed_stats)
    assert len({len(t) for t in fixed_texts}) > 2 and all(fixed_texts)
    for batch_size in (1, 3, 16):
        stats = GenerationStats()
        assert generate_continuous(model, tokenizer, texts, decoding, batch_size, stats) == fixed_texts
        assert (stats.rows, stats.tokens) == (fixed_stats.rows, fixed_stats.tokens) == (7, stats.row_steps)
    window = config.sliding_window
    try:
        config.sliding_window = 4096
        unwindowed = generate_continuous(model, tokenizer, texts, decoding, 3)
    finally:
        config.sliding_window = window
        model.set_attn_implementation("sdpa")
    assert all(a != b for a, b in zip(unwindowed, fixed_texts, strict=True))


def test_layers_continuous_batching_cannot_mask_decode_fixed_batches(tmp_path, monkeypatch):
    """Every tiny family decodes continuously; a chunked-attention layer (Llama 4's), or a sliding window
    under an attention implementation that does not take the mask as built, sends a model to fixed batches."""
    models = {family: load_model(str(build_tiny_model(tmp_path / family, family))) for family in FAMILIES}
    assert all(continuous_batching_supported(model) for model in models.values())
    llama, gemma = models["llama"], models["gemma"]
    with monkeypatch.context() as patch:  # what `layer_types` reads from a Llama 4 config
        patch.setattr(decode, "layer_types", lambda config: ["chunked_attention", "full_attention"])
        assert not continuous_batching_supported(llama)
        fixed = []
        patch.setattr(decode, "generate_static", lambda *args: fixed.append(len(args[2])) or [""] * len(args[2]))
        tokenizer = load_tokenizer(str(tmp_path / "llama"))
        assert generate_batched(llama, tokenizer, [[{"role": "user", "content": "Hi."}]] * 2, 5, 2) == ["", ""]
        assert fixed == [2]  # both prompts went to the fixed-batch path
    gemma.config._attn_implementation = "flex_attention"
    assert not continuous_batching_supported(gemma)


def test_shared_prefix_scores_equal_each_prefix_scored_alone(tiny_lm):
    model, tokenizer = tiny_lm
    chat = chat_texts(tokenizer, [[{"role": "user", "content": "What is 12 + 30?"}]])[0]
    pieces = [
        [chat, "Let me compute step by step.\n", "12 + 30 = 42.\n", "So I will go with (B).\n"],
        [chat, "Short.\n"],
        ["no", "thing"],  # 'no' + 'thing' tokenizes as 'nothing': that prefix is scored on its own
        ["x"],
    ]
    merged = tokenizer("nothing", add_special_tokens=False)["input_ids"]
    assert tokenizer("no", add_special_tokens=False)["input_ids"] != merged[:1]  # the fallback is exercised
    shared = shared_prefix_logprobs(model, tokenizer, pieces, "Answer: (", batch_size=3)
    for parts, scores in zip(pieces, shared, strict=True):
        alone = next_token_logprobs(
            model, tokenizer, ["".join(parts[: j + 1]) + "Answer: (" for j in range(len(parts))]
        )
        assert scores.shape == alone.shape
        assert torch.allclose(scores, alone, atol=1e-4)


def test_batched_continuation_scores_equal_one_at_a_time(tiny_lm):
    """Belief MCQ options of different lengths, scored in one right-padded batch and one by one."""
    model, tokenizer = tiny_lm
    pairs = [
        ("Which lab published the study? ", "Arden Lab"),
        ("Which lab published the study? ", "The Brook Laboratory of Applied Physics"),
        ("What year? ", "2031"),
    ]
    batched = sequence_logprobs(model, tokenizer, pairs, batch_size=3)
    alone = [sequence_logprobs(model, tokenizer, [pair], batch_size=1)[0] for pair in pairs]
    assert batched == pytest.approx(alone, abs=1e-4)
    # by hand for the shortest: the sum of next-token log-probs of the continuation's tokens
    ids = tokenizer("What year? 2031", add_special_tokens=False)["input_ids"]
    n_prefix = len(tokenizer("What year? ", add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    total = sum(float(logprobs[t - 1, ids[t]]) for t in range(n_prefix, len(ids)))
    assert batched[2] == pytest.approx(total, abs=1e-4)


def test_sampled_generation_is_seeded_and_greedy_is_deterministic(tiny_lm):
    model, tokenizer = tiny_lm
    conversations = [[{"role": "user", "content": f"Count to {i}."}] for i in range(3)]
    a = generate_batched(model, tokenizer, conversations, 8, 3, temperature=1.0, seed=5)
    b = generate_batched(model, tokenizer, conversations, 8, 3, temperature=1.0, seed=5)
    c = generate_batched(model, tokenizer, conversations, 8, 3, temperature=1.0, seed=6)
    assert a == b and a != c
    assert generate_batched(model, tokenizer, conversations, 8, 3) == generate_batched(
        model, tokenizer, conversations, 8, 1
    )  # batching with left padding does not change greedy outputs


def test_generation_continues_from_a_prefix(tiny_lm):
    model, tokenizer = tiny_lm
    conversation = [[{"role": "user", "content": "Hello"}]]
    prefix = "Let me compute step by step.\n12 + 30 = 52.\n"
    (cont,) = generate_batched(model, tokenizer, conversation, 6, 1, prefixes=[prefix])
    enc = tokenizer(chat_texts(tokenizer, conversation)[0] + prefix, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=6, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert cont == tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def test_continuation_logprobs_sum_the_token_logprobs(tiny_lm):
    model, tokenizer = tiny_lm
    prefix, continuation = "The capital of France is", " Paris"
    (score,) = continuation_logprobs(model, tokenizer, prefix, [continuation])
    ids = tokenizer(prefix + continuation, add_special_tokens=False)["input_ids"]
    n_prefix = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
    total = 0.0
    for position in range(n_prefix, len(ids)):
        logprobs = next_token_logprobs(model, tokenizer, [tokenizer.decode(ids[:position])])[0]
        total += float(logprobs[ids[position]])
    assert score == pytest.approx(total, abs=1e-3)
