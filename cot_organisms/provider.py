"""The `organism/` model provider: a base model (HF id, local checkpoint or `embedded:...`) with an optional
peft LoRA adapter, generating with this project's own generation (`runtime.generation.generate_batched`:
chat template, continuous batching, a stop at the answer line), so that a task asks it exactly what
`organism eval`'s hf engine asks:

    inspect eval cot_organisms/hinted -T spec=hidden-hint \\
        --model organism/embedded:smollm2-135m -M adapter=runs/hidden-hint/<run-id>/adapter

Model args (`-M`): `adapter` (a peft adapter directory; none: the base alone), `reasoning` (text, think or
template: where the model reasons, for prompts that do not say; the tasks say), `batch_size` (rows
decoded at once, as eval.decode_rows; also Inspect's connection limit, so concurrent requests meet in
one batch).

What a request may carry, in its last message's metadata under "cot_organisms" (the tasks set it; other
providers ignore message metadata): `stop` and `stop_flags` (a regex: the row ends once its text matches,
as `RowStop` ends it in `organism eval`), `reasoning` (a ReasoningSpec dump) and `letters` (option letters:
their log-probabilities are returned beside the top ones). A trailing assistant message is continued: it
is the beginning of the final part of the turn (after an empty closed think block when the model
reasons in one), as `evals.necessity.no_cot_answers` forces 'Answer: ('. With `logprobs` and
`max_tokens` 1 the reply is the next token's log-probabilities (`next_token_logprobs`), no sampling.

Greedy decoding (temperature 0 or unset) gives `organism eval`'s texts up to the float rounding of other
batch shapes; a temperature samples with `seed` (default 0), per row as `generate_batched` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import torch
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprob,
    Logprobs,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    TopLogprob,
)
from inspect_ai.tool import ToolChoice, ToolInfo

try:  # Inspect makes a provider with this key only to look up the model's name (no generation)
    from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY
except ImportError:  # pragma: no cover - a later Inspect without it
    MODEL_INFO_LOOKUP_API_KEY = None

from evals.lanham import letter_token_ids
from organisms.reasoning import TEXT, in_block
from organisms.spec import ReasoningSpec
from runtime.generation import chat_texts, generate_batched, next_token_logprobs
from runtime.models import load_model, load_tokenizer, load_with_adapters

NOTE = "cot_organisms"  # the key of a request's metadata (module docstring) and of the output's


@dataclass(frozen=True)
class Request:
    """One generation as the project's generation takes it: a chat, an assistant-turn beginning to
    continue (`prefill`), and how to decode."""

    conversation: tuple[tuple[str, str], ...]  # (role, content)
    prefill: str | None
    max_tokens: int
    temperature: float | None
    seed: int
    stop: tuple[str, int] | None  # (pattern, flags)
    reasoning: ReasoningSpec
    letters: str
    logprobs: bool
    top_logprobs: int

    def decoding(self) -> tuple:
        """What a batch shares: requests that differ only in their chat decode together."""
        return (self.max_tokens, self.temperature, self.seed, self.stop, self.reasoning, self.logprobs)

    def messages(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.conversation]


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    output_tokens: int
    logprobs: Logprobs | None = None


def request_of(messages: list[ChatMessage], config: GenerateConfig, default: ReasoningSpec) -> Request:
    note = (messages[-1].metadata or {}).get(NOTE, {}) if messages else {}
    prefill = None
    if messages and messages[-1].role == "assistant":
        prefill, messages = messages[-1].text, messages[:-1]
    reasoning = ReasoningSpec.model_validate(note["reasoning"]) if "reasoning" in note else default
    greedy = config.temperature is None or config.temperature == 0
    return Request(
        conversation=tuple((m.role, m.text) for m in messages),
        prefill=prefill,
        max_tokens=config.max_tokens or 96,
        temperature=None if greedy else config.temperature,
        seed=config.seed or 0,
        stop=(note["stop"], int(note.get("stop_flags", 0))) if "stop" in note else None,
        reasoning=reasoning,
        letters=note.get("letters", ""),
        logprobs=bool(config.logprobs),
        top_logprobs=config.top_logprobs or 0,
    )


class Batcher:
    """Requests that arrive together run as one batch, one batch at a time, in a worker thread (the
    event loop stays free): whoever holds the lock waits `window` seconds for the others, then runs
    everything pending; requests that arrive meanwhile make the next batch."""

    def __init__(self, run, window: float):
        self.run, self.window = run, window
        self.pending: list[list] = []  # [request, reply or None, error or None]
        self.lock = anyio.Lock()

    async def submit(self, request: Request) -> Reply:
        slot = [request, None, None]
        self.pending.append(slot)
        async with self.lock:
            if slot[1] is None and slot[2] is None:
                await anyio.sleep(self.window)
                batch, self.pending = self.pending, []
                try:
                    replies = await anyio.to_thread.run_sync(self.run, [s[0] for s in batch])
                    for s, reply in zip(batch, replies, strict=True):
                        s[1] = reply
                except Exception as exc:  # every request of the batch fails with it
                    for s in batch:
                        s[2] = exc
        if slot[2] is not None:
            raise slot[2]
        return slot[1]


class OrganismAPI(ModelAPI):
    """A base model (`model_name`) and an optional adapter, loaded once by runtime.models."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (Inspect's ModelAPI signature)
        adapter: str | None = None,
        reasoning: str = "text",
        batch_size: int = 64,
        window: float = 0.05,
        **model_args: Any,
    ):
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        if api_key is not None and api_key == MODEL_INFO_LOOKUP_API_KEY:
            return  # a lookup of the model's name: loading the weights again would double the memory
        if model_args:
            raise ValueError(
                f"organism/{model_name}: unknown model args {sorted(model_args)}; it takes adapter, reasoning, "
                "batch_size (docs/inspect.md)"
            )
        self.tokenizer = load_tokenizer(model_name)
        if adapter is None:
            self.model = load_model(model_name)
        else:
            self.model = load_with_adapters(model_name, {"organism": Path(adapter)})  # the adapter is active
        self.model.eval()
        self.reasoning = TEXT if reasoning == "text" else ReasoningSpec(format=reasoning)
        self.batch_size = int(batch_size)
        self.batcher = Batcher(self.run, float(window))

    def max_connections(self) -> int:
        return self.batch_size

    def max_tokens(self) -> int | None:
        return 96  # eval.max_new_tokens's default; the tasks set the spec's

    async def generate(
        self, input: list[ChatMessage], tools: list[ToolInfo], tool_choice: ToolChoice, config: GenerateConfig
    ) -> ModelOutput:
        if tools:
            raise NotImplementedError("the organism provider generates text only (no tools)")
        request = request_of(input, config, self.reasoning)
        if request.logprobs and request.max_tokens != 1:
            raise NotImplementedError("the organism provider returns log-probabilities of one next token only")
        reply = await self.batcher.submit(request)
        message = ChatMessageAssistant(content=reply.text, model=self.model_name, source="generate")
        return ModelOutput(
            model=self.model_name,
            choices=[ChatCompletionChoice(message=message, stop_reason="unknown", logprobs=reply.logprobs)],
            usage=ModelUsage(
                input_tokens=reply.prompt_tokens,
                output_tokens=reply.output_tokens,
                total_tokens=reply.prompt_tokens + reply.output_tokens,
            ),
            metadata={NOTE: {"stopped_at": request.stop[0]}} if request.stop else None,
        )

    def run(self, requests: list[Request]) -> list[Reply]:
        """Every request, grouped by how it decodes (worker thread)."""
        replies: list[Reply | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.decoding(), []).append(i)
        for indices in groups.values():
            batch = [requests[i] for i in indices]
            for i, reply in zip(indices, self.forced(batch) if batch[0].logprobs else self.decoded(batch), strict=True):
                replies[i] = reply
        return replies

    def prompt_texts(self, batch: list[Request]) -> tuple[list[str], list[str]]:
        """(rendered chats, each prefill placed where the final part of the turn starts)."""
        reasoning = batch[0].reasoning
        texts = chat_texts(self.tokenizer, [r.messages() for r in batch], reasoning)
        prefixes = [
            in_block(t, "", reasoning, closed=True) + r.prefill if r.prefill else ""
            for t, r in zip(texts, batch, strict=True)
        ]
        return texts, prefixes

    def decoded(self, batch: list[Request]) -> list[Reply]:
        first = batch[0]
        texts, prefixes = self.prompt_texts(batch)
        outputs = generate_batched(
            self.model,
            self.tokenizer,
            [r.messages() for r in batch],
            first.max_tokens,
            self.batch_size,
            prefixes=prefixes if any(prefixes) else None,
            temperature=first.temperature,
            seed=first.seed,
            stop=re.compile(*first.stop) if first.stop else None,
            reasoning=first.reasoning,
        )
        return [
            Reply(out, self.count(t + p), self.count(out)) for t, p, out in zip(texts, prefixes, outputs, strict=True)
        ]

    def forced(self, batch: list[Request]) -> list[Reply]:
        """The next token's log-probabilities after each prompt and prefill: the top ones and every
        option letter's (`letters`, as evals.lanham.forced_answers reads them); the reply is the most likely token."""
        texts, prefixes = self.prompt_texts(batch)
        full = [t + p for t, p in zip(texts, prefixes, strict=True)]
        logprobs = next_token_logprobs(self.model, self.tokenizer, full, self.batch_size)
        replies = []
        for text, row, request in zip(full, logprobs, batch, strict=True):
            top = torch.topk(row, max(request.top_logprobs, 1))
            ids = dict.fromkeys([*top.indices.tolist(), *letter_token_ids(self.tokenizer, request.letters)])
            alternatives = [TopLogprob(token=self.tokenizer.decode([i]), logprob=float(row[i])) for i in ids]
            best = int(top.indices[0])
            token = self.tokenizer.decode([best])
            chosen = Logprob(token=token, logprob=float(row[best]), top_logprobs=alternatives)
            replies.append(Reply(token, self.count(text), 1, Logprobs(content=[chosen])))
        return replies

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
