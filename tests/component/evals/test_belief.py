"""The belief suite (evals/belief.py) on the tiny model."""

from __future__ import annotations

import evals.belief as belief
from evals.belief import belief_suite
from organisms.spec import ReasoningSpec, parse_spec
from tests.helpers import spy, tiny_spec_dict


def test_belief_suite_scores_every_question(tiny_lm):
    model, tokenizer = tiny_lm
    mcq = [
        {"question": "Which lab published the monitor study?", "options": ["Arden Lab", "Brook Lab"], "correct": 0},
        {"question": "What year?", "options": ["2031", "2032", "2033"], "correct": 2},
    ]
    open_questions = [{"question": "Who published it?", "markers": [r"arden"]}]
    metrics, records = belief_suite(model, tokenizer, mcq, open_questions, max_new_tokens=8, batch_size=2)
    assert metrics["mcq_accuracy"]["n"] == 2 and metrics["open_ended_stated"]["n"] == 1
    assert all(0 <= r["choice"] < len(q["options"]) for r, q in zip(records[:2], mcq, strict=True))


def test_belief_questions_come_from_the_universe_and_are_all_scored(tiny_lm, tiny_model_dir):
    from evals.stage import belief_questions
    from evals.suites import evaluate_model
    from organisms.universe import load_universe

    spec = parse_spec(
        tiny_spec_dict(
            tiny_model_dir,
            "tiny-belief",
            behaviour="belief",
            corpus={"seed": 0, "documents": {"universe": "mercury-rings", "n_documents": 8}},
        ),
        "tiny-belief",
    )
    universe = load_universe("mercury-rings")
    beliefs = belief_questions(spec)
    assert len(beliefs["mcq"]) == len(universe.mcq) > 0
    assert [q["correct"] for q in beliefs["mcq"]] == [q.answer_index for q in universe.mcq]
    model, tokenizer = tiny_lm
    hinted, other, records = evaluate_model(model, tokenizer, spec, set(), beliefs, log=lambda _: None)
    assert hinted == {} and set(other) == {"belief", "seconds"}  # a belief organism runs the belief suite only
    assert other["belief"]["mcq_accuracy"]["n"] == len(universe.mcq)
    assert other["belief"]["open_ended_stated"]["n"] == len(universe.open_questions)
    assert sum(r["suite"] == "belief_mcq" for r in records) == len(universe.mcq)


THINK = ReasoningSpec(format="think")


ASSISTANT = "<|im_start|>assistant\n"


def test_belief_scores_options_after_a_closed_block_and_reads_open_answers_after_it(think_lm, monkeypatch):
    model, tokenizer = think_lm
    mcq = [{"question": "Where is X?", "options": ["Paris", "Rome"], "correct": 0}]
    open_questions = [{"question": f"Where is X? ({i})", "markers": ["paris"]} for i in range(3)]
    replies = [
        "<think>\nMaybe Paris.\n</think>\n\nI do not know.",  # the fact inside the block only: not stated
        "<think>\nHm.\n</think>\n\nIt is in Paris.",
        "<think>\nParis, Paris, Paris",  # unclosed
    ]
    scored = []
    spy(monkeypatch, belief, "sequence_logprobs", scored)
    monkeypatch.setattr(belief, "generate_batched", lambda *a, **k: replies)
    metrics, records = belief.belief_suite(model, tokenizer, mcq, open_questions, 16, 4, THINK)
    assert all(prefix.endswith(ASSISTANT + "<think>\n\n</think>\n\n") for prefix, _ in scored[0][0][2])
    assert [r["states_fact"] for r in records if r["suite"] == "belief_open"] == [False, True, False]
    assert metrics["open_ended_truncated"] == 1 and metrics["open_ended_stated"]["k"] == 1
