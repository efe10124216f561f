"""`eval.engine: openai`: a served model stands where the eval suites pass a loaded model.

`ServedModel` is what `runtime.generation.generate_batched` hands the prompts to (`generate_served`): the prompts are
rendered here by the tokenizer's chat template exactly as for the hf engine (assistant-turn
prefixes appended), sent raw to the server's `/v1/completions` endpoint with `max_concurrency`
requests in flight, and each completion is cut where the hf engine would have stopped its row
(`cut_at_stop`). Greedy decoding therefore gives the hf engine's texts, up to the numerics of
batching (tests/e2e/runtime/test_engine.py checks equality on the tiny model).

What the server does not give: log-probabilities and hidden states (`transformers serve` returns
no logprobs; vLLM returns top-k only), so the scoring functions refuse a `ServedModel` with an
error naming `eval.engine` (`runtime.generation.needs_hf`), and the spec refuses the suites that
need them (`HF_ONLY_SUITES`).
A regex `stop` cannot be sent (servers take literal strings), so the server generates up to
`max_new_tokens` or its end of turn and the rest is dropped here: spent, not used.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.spec import BackendSpec, ServedSpec
from runtime.generation.decode import Decoding, GenerationStats


@dataclass
class ServedModel:
    """One served model (`name` on the server at `served.base_url`) for the variant `label`."""

    served: ServedSpec
    name: str
    label: str = "base"
    _backend: object = field(default=None, repr=False)
    _cache: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def backend(self):
        """The HTTP client (organisms/backends/http.py: retries, concurrency). Its response cache is a
        fresh directory per ServedModel: a served name such as `organism` may name other weights
        tomorrow, so responses are never reused across evals."""
        if self._backend is None:
            from runtime.backends.openai_completions import OpenAICompletionsBackend

            self._cache = tempfile.TemporaryDirectory(prefix="cot-organisms-engine-")
            spec = BackendSpec(
                name="openai",
                model=self.name,
                base_url=self.served.base_url,
                max_concurrency=self.served.max_concurrency,
                max_retries=self.served.max_retries,
                timeout=self.served.timeout,
            )
            self._backend = OpenAICompletionsBackend(spec, self.name, Path(self._cache.name))
        return self._backend

    def complete(
        self, texts: list[str], max_new_tokens: int, temperature: float | None, seed: int
    ) -> tuple[list[str], int]:
        """Raw completions of `texts` (greedy when `temperature` is None; sampled with seed + row
        otherwise), in order, and the completion tokens the server spent on them."""
        backend = self.backend()
        before = backend.usage.completion_tokens
        seeds = [seed + i for i in range(len(texts))] if temperature is not None else [seed] * len(texts)
        outputs = backend.complete(
            texts,
            temperature=0.0 if temperature is None else temperature,
            max_tokens=max_new_tokens,
            seeds=seeds,
            desc=f"eval {self.label}",
        )
        return outputs, backend.usage.completion_tokens - before

    def generate_served(
        self,
        tokenizer: PreTrainedTokenizerBase,
        texts: list[str],
        decoding: Decoding,
        stats: GenerationStats | None = None,
    ) -> list[str]:
        """`runtime.generation.generate_batched` on the server, for chat-rendered `texts`. `stats`: tokens
        kept (as the hf engine counts them, less the end-of-turn token the server does not return),
        row-steps = tokens the server generated."""
        prompts = [prompt_for_server(tokenizer, t) for t in texts]
        raw, spent = self.complete(prompts, decoding.max_new_tokens, decoding.temperature, decoding.seed)
        cut = [cut_at_stop(tokenizer, text, decoding.stop) for text in raw]
        if stats is not None:
            stats.add(GenerationStats(len(texts), sum(n for _, n in cut), spent))
        return [text for text, _ in cut]


def served_models(served: ServedSpec, labels: list[str]) -> dict[str, ServedModel]:
    """A ServedModel per eval variant (base, organism, control), each named in `eval.served`."""
    models = {}
    for label in labels:
        name = getattr(served, label, None)
        if not name:
            raise OrganismError(
                f"eval.served.{label}: name the served model of the {label} (e.g. a vLLM --lora-modules name); "
                "docs/engine.md"
            )
        models[label] = ServedModel(served, name, label)
    return models


def prompt_for_server(tokenizer: PreTrainedTokenizerBase, text: str) -> str:
    """`text` as the server must receive it to tokenize it as the hf engine does (without special
    tokens added): a server's tokenizer adds its BOS itself, so a leading BOS in the text goes."""
    bos = tokenizer.bos_token
    if bos and text.startswith(bos):
        with_special = tokenizer(text[len(bos) :])["input_ids"]
        if with_special[:1] == [tokenizer.bos_token_id]:
            return text[len(bos) :]
    return text


def cut_at_stop(tokenizer: PreTrainedTokenizerBase, text: str, stop: re.Pattern | None) -> tuple[str, int]:
    """(the text the hf engine keeps, its tokens): the shortest token prefix of `text` whose decoding
    matches `stop`, as `runtime.generation.RowStop` ends a row; all of it when none matches."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if stop is not None:  # every prefix, not only when the whole text matches: a `$` may match early
        for k in range(1, len(ids) + 1):
            kept = tokenizer.decode(ids[:k], skip_special_tokens=True)
            if stop.search(kept) is not None:
                return kept.strip(), k
    return tokenizer.decode(ids, skip_special_tokens=True).strip(), len(ids)
