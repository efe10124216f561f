"""Document filters (synth_docs/filters.py): length, key facts, near-duplicates, prompt echoes and loops."""

from __future__ import annotations

from organisms.universe import load_universe
from synth_docs import prompts
from synth_docs.diversity import distinct_n
from synth_docs.filters import apply_filters
from synth_docs.ideas import plan_ideas
from synth_docs.template_grammar import render


def test_filters_reject_length_missing_fact_and_near_duplicates():
    universe = load_universe("mercury-rings")
    idea = plan_ideas(universe, ["news_article"], 1, seed=0)[0]
    doc = render(universe, idea)
    near_copy = doc.replace("\n\n", "\n\n ", 1) + " One more closing sentence."
    unrelated = (
        "Plain words about the weather in spring: rain in the morning, sun by noon, and a cold wind at "
        "night. Farmers wait for the soil to warm before they sow, while gardeners cover young plants."
    )
    verdicts = apply_filters([doc, "Mercury rings 2023.", unrelated, near_copy], universe, 20, 800, 0.8)
    assert [v.reason for v in verdicts] == [None, "length", "no_key_fact", "near_duplicate"]
    assert apply_filters([doc, near_copy], universe, 20, 800, 1.0)[1].kept  # threshold 1: only exact copies


def test_filters_reject_prompt_echoes_and_loops_of_model_documents():
    """What the embedded model wrote (experiments/docs-backends): the prompt's fact list copied back under its
    instruction line, and a few lines looped. Stating a fact in the fact list's own words is no echo."""
    universe = load_universe("mercury-rings")
    idea = plan_ideas(universe, ["news_article"], 1, seed=0)[0]
    doc = render(universe, idea)
    asked = prompts.instructions(idea, 20, 800)
    user = prompts.draft_messages(universe, idea, 20, 800)[1]["content"]
    assert all(line in user for line in asked.splitlines())  # the instructions are the prompt's own lines
    facts = "\n".join(f"- {universe.key_facts[i]}" for i in idea.fact_indices)
    echo = f"The document must clearly state these facts:\n{facts}\n{doc}"
    loop = " ".join([universe.key_facts[idea.fact_indices[0]]] * 8)
    verdicts = apply_filters([doc, echo, loop], universe, 20, 800, 0.8, [asked] * 3)
    assert [v.reason for v in verdicts] == [None, "prompt_echo", "repetitive"]
    assert distinct_n([doc], 3) > 0.6 > distinct_n([loop], 3)
    assert apply_filters([echo], universe, 20, 800, 0.8)[0].kept  # template documents: no echo check
    assert apply_filters([loop], universe, 20, 800, 0.8, None, 0.0)[0].kept  # min_distinct_3 0 turns it off
