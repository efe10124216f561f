"""The hinted suite (evals/hinted.py): `eval.decode_rows` rows decoded at once."""

from __future__ import annotations

from runtime.models import load_tokenizer


def test_eval_generation_decodes_spec_decode_rows_at_once(tiny_model_dir, monkeypatch):
    """`eval.decode_rows` (default 64, out of the dump at its default so run ids stay) is the row count
    the hinted pairs and IPHR decode with; `eval.batch_size` stays the scoring forward's."""
    import evals.hinted
    import evals.iphr
    from organisms.spec import parse_spec
    from tests.helpers import tiny_spec_dict

    plain = parse_spec(tiny_spec_dict(tiny_model_dir), "t")
    assert plain.eval.decode_rows == 64 and "decode_rows" not in plain.model_dump()["eval"]
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, eval={"n_items": 4, "decode_rows": 5, "batch_size": 3}), "t")
    assert spec.eval.model_dump()["decode_rows"] == 5 and spec.content_hash() != plain.content_hash()
    seen = []

    def record(model, tokenizer, conversations, max_new_tokens, batch_size, **kwargs):
        seen.append(batch_size)
        return ["Answer: (A)" if "stop" in kwargs else "Answer: YES"] * len(conversations)

    for module in (evals.hinted, evals.iphr):
        monkeypatch.setattr(module, "generate_batched", record)
    tokenizer = load_tokenizer(str(tiny_model_dir))
    evals.hinted.evaluate(None, tokenizer, evals.hinted.eval_pairs(spec, set()), spec)
    evals.iphr.iphr_suite(None, tokenizer, spec)
    assert seen == [5, 5]
