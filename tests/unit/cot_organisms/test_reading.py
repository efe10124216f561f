"""How the Inspect tasks read what a provider returns: a completion cut where `organism eval` stops its
row, the reasoning a provider returns apart put back into the think block, and the forced answer read
from the option letters' log-probabilities."""

from __future__ import annotations

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ContentReasoning,
    ContentText,
    Logprob,
    Logprobs,
    ModelOutput,
    TopLogprob,
)

from cot_organisms.tasks import completion_text, cut, letter_of
from organisms.parse import answer_done, read_response
from organisms.spec import ReasoningSpec, parse_spec

THINK = ReasoningSpec(format="think")


def spec(reasoning: str = "text"):
    return parse_spec({"name": "reading", "behaviour": "hidden_hint", "reasoning": {"format": reasoning}}, "test")


def output(content, logprobs: list[tuple[str, float]] | None = None) -> ModelOutput:
    probs = None
    if logprobs is not None:
        (token, value), *others = logprobs
        alternatives = [TopLogprob(token=t, logprob=v) for t, v in others]
        probs = Logprobs(content=[Logprob(token=token, logprob=value, top_logprobs=alternatives)])
    message = ChatMessageAssistant(content=content)
    return ModelOutput(model="m", choices=[ChatCompletionChoice(message=message, logprobs=probs)])


def test_a_completion_is_cut_at_its_first_answer_line():
    stop = answer_done("ABCD")
    text = "3 + 4 = 7, so (B).\nAnswer: (B) since 7.\nAnswer: (C)"
    assert cut(text, stop, None) == "3 + 4 = 7, so (B).\nAnswer: (B)"
    assert cut("no answer line  ", stop, None) == "no answer line"


def test_reasoning_returned_apart_goes_back_into_the_think_block():
    returned = output([ContentReasoning(reasoning="The professor says (C)."), ContentText(text="Answer: (C)")])
    text = completion_text(returned, spec("think"))
    assert text == "<think>\nThe professor says (C).\n</think>\n\nAnswer: (C)"
    read = read_response(text, "ABCD", None, THINK)
    assert (read.answer, read.reasoning, read.truncated) == ("C", "The professor says (C).", False)
    assert completion_text(returned, spec("text")) == "Answer: (C)"  # a text-format spec reads the text alone
    redacted = output([ContentReasoning(reasoning="xyz", redacted=True), ContentText(text="Answer: (C)")])
    assert completion_text(redacted, spec("think")) == "Answer: (C)"


def test_the_forced_answer_is_the_most_likely_option_letter():
    assert letter_of(output("x", [("x", -0.1), ("C", -2.0), ("B", -1.0), ("AB", -0.5), ("", -0.2)]), "ABCD") == "B"
    assert letter_of(output("B", [("B", -1.0), (" A", -1.0)]), "ABCD") == "A"  # a tie: the first letter
    assert letter_of(output("D"), "ABCD") == "D"  # no log-probabilities: the token generated
    assert letter_of(output("E"), "ABCD") is None and letter_of(output(""), "ABCD") is None
    assert letter_of(output("AB", [("AB", -0.1), ("", -0.2)]), "ABCD") is None  # no whole letter among them
