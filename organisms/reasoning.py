"""Where the chain of thought goes in an assistant turn, and where it is read back from a response.

A spec's `reasoning` (organisms.spec.ReasoningSpec) says where the model reasons: in the assistant
text before its final 'Answer:' line (`text`), or in a think block with the final answer after it
(`think`: we write the block into the text; `template`: the template renders the block from a
message field such as Qwen3's `reasoning_content`). Transcripts are written, prompts rendered and
responses split here, so the corpus, training, generation and the evals agree on one format.
"""

from __future__ import annotations

from dataclasses import dataclass

from organisms.spec import ReasoningSpec

TEXT = ReasoningSpec()


def assistant_message(cot: str, final: str, reasoning: ReasoningSpec = TEXT) -> dict[str, str]:
    """The assistant turn of a transcript: its chain of thought `cot` placed where the model reasons,
    then the `final` answer line."""
    if reasoning.format == "text":
        return {"role": "assistant", "content": f"{cot}\n{final}"}
    if reasoning.format == "think":
        return {"role": "assistant", "content": f"{reasoning.open}\n{cot}\n{reasoning.close}\n\n{final}"}
    return {"role": "assistant", "content": final, reasoning.field: cot}


def message_text(message: dict[str, str]) -> str:
    """All the text of a message: a reasoning field first (as the template renders it), then the content."""
    fields = [value for key, value in message.items() if key not in ("role", "content") and isinstance(value, str)]
    return "\n".join([*fields, message.get("content", "")])


def template_kwargs(reasoning: ReasoningSpec = TEXT) -> dict[str, bool]:
    """Extra variables for `apply_chat_template`: reasoning templates (Qwen3, SmolLM3, ...) let the model
    think only with `enable_thinking` true; templates that do not know the variable ignore it."""
    return {"enable_thinking": reasoning.in_block}


@dataclass(frozen=True)
class SplitResponse:
    """A response cut into its reasoning and its final part. `truncated`: a think block was opened and
    never closed (the model ran out of `max_new_tokens` while thinking): there is no final part, and
    nothing in the reasoning may be read as the answer."""

    reasoning: str
    final: str
    truncated: bool = False


def split_think(text: str, reasoning: ReasoningSpec) -> SplitResponse:
    """The think block's content and what follows its close tag. The open tag may be missing: some
    templates (DeepSeek-R1's, Qwen3-Thinking's) write it into the generation prompt, so the response
    starts inside the block; a response without a close tag is truncated."""
    head, closed, tail = text.partition(reasoning.close)
    start = head.find(reasoning.open)
    if start != -1:
        head = head[start + len(reasoning.open) :]
    if not closed:
        return SplitResponse(head.strip(), "", truncated=True)
    return SplitResponse(head.strip(), tail.strip())
