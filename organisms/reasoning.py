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


def block_open(prompt_text: str, reasoning: ReasoningSpec) -> str:
    """What follows a rendered generation prompt so that the next text is inside the think block, as a
    transcript's assistant turn starts (`assistant_message`): the open tag and a newline; only the newline
    where the template already opened the block (DeepSeek-R1's, Qwen3-Thinking's); nothing in `text` format."""
    if not reasoning.in_block:
        return ""
    if prompt_text.rstrip().endswith(reasoning.open):
        return "" if prompt_text.endswith("\n") else "\n"
    return f"{reasoning.open}\n"


def block_close(reasoning: ReasoningSpec) -> str:
    """What closes a think block whose reasoning so far ends with a newline, up to where the final answer
    starts (`assistant_message`: '...\\n</think>\\n\\nAnswer: (X)'); nothing in `text` format."""
    return f"{reasoning.close}\n\n" if reasoning.in_block else ""


def in_block(prompt_text: str, cot: str, reasoning: ReasoningSpec, closed: bool = False) -> str:
    """The assistant-turn text after `prompt_text` that holds `cot` (ending with a newline, or empty) where
    the model reasons: inside the think block, closed after it when `closed` (the final answer comes next).
    An empty closed block is written as the templates write one ('<think>\\n\\n</think>\\n\\n'). In `text`
    format: `cot` itself."""
    if not reasoning.in_block:
        return cot
    if closed and not cot:
        cot = "\n"
    return block_open(prompt_text, reasoning) + cot + (block_close(reasoning) if closed else "")


def turn_text(prompt_text: str, text: str, reasoning: ReasoningSpec) -> str:
    """A text-format assistant turn `text` (its CoT lines, then the final answer line, as the transcript
    generators write it) as the model writes it after the rendered `prompt_text` in `reasoning`'s format:
    the CoT inside the think block, the final line after it, as a transcript renders (`assistant_message`)."""
    if not reasoning.in_block or "\n" not in text:
        return text
    cot, final = text.rsplit("\n", 1)
    return in_block(prompt_text, f"{cot}\n", reasoning, closed=True) + final
