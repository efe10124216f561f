"""The served engine (runtime/engine.py): it cuts a completion where the hf engine's row stop would, and the
spec checks of `eval.engine` (the engine against a real server: tests/e2e/runtime/test_engine.py)."""

from __future__ import annotations

import pytest
import torch

from evals.stage import evaluate_variants
from organisms.errors import OrganismError
from organisms.spec import parse_spec
from runtime.engine import cut_at_stop
from runtime.generation import RowStop
from runtime.models import load_tokenizer
from tests.helpers import tiny_spec_dict


def test_cut_at_stop_keeps_what_hf_row_stop_keeps(tiny_model_dir):
    """The server's full completion, cut here, is the text RowStop would have ended the row with."""
    import re

    tokenizer = load_tokenizer(str(tiny_model_dir))
    stop = re.compile(r"^[ \t]*answer[ \t]*:[ \t]*\(?[ \t]*([A-D])[ \t]*\)", re.IGNORECASE | re.MULTILINE)
    text = "Step one: 3 + 4 = 7.\nAnswer: (B) because it is.\nAnswer: (C)"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    row_stop = RowStop(tokenizer, 0, stop)
    for k in range(1, len(ids) + 1):
        if bool(row_stop(torch.tensor([ids[:k]]), None)[0]):
            break
    expected = tokenizer.decode(ids[: row_stop.ended_at[0]], skip_special_tokens=True).strip()
    assert cut_at_stop(tokenizer, text, stop) == (expected, row_stop.ended_at[0])
    assert expected.endswith("Answer: (B)")
    assert cut_at_stop(tokenizer, "no answer here", stop)[0] == "no answer here"


EVAL = {"n_items": 6, "max_new_tokens": 24, "batch_size": 6, "suites": ["hinted"], "bootstrap_resamples": 200}


def test_engine_spec_checks(tiny_model_dir):
    """Defaults stay out of the dump (run ids unchanged); the served engine refuses, before any
    generation, the suites that need log-probabilities, naming eval.engine and the suite."""
    plain = parse_spec(tiny_spec_dict(tiny_model_dir, eval=EVAL), "test")
    assert "engine" not in plain.model_dump()["eval"] and "served" not in plain.model_dump()["eval"]
    served = {"base_url": "http://127.0.0.1:1/v1", "base": "b"}
    with pytest.raises(OrganismError, match=r"eval\.engine .openai. cannot run the lanham suite"):
        parse_spec(
            tiny_spec_dict(
                tiny_model_dir, eval={**EVAL, "suites": ["hinted", "lanham"], "engine": "openai", "served": served}
            ),
            "t",
        )
    with pytest.raises(OrganismError, match=r"needs eval.served"):
        parse_spec(tiny_spec_dict(tiny_model_dir, eval={**EVAL, "engine": "openai"}), "t")
    spec = parse_spec(tiny_spec_dict(tiny_model_dir, eval={**EVAL, "engine": "openai", "served": served}), "t")
    assert spec.model_dump()["eval"]["engine"] == "openai"
    with pytest.raises(OrganismError, match=r"eval\.served\.organism"):
        evaluate_variants(spec, str(tiny_model_dir), {"organism": tiny_model_dir}, set(), log=lambda _: None)
