"""What every chat backend shares: the response cache, request keys and usage accounting.

Subclasses implement `_fetch(jobs)`, which must `self._store(job, text, prompt_tokens,
completion_tokens)` each response as soon as it exists: that is what makes a killed run
resumable without losing or repeating work.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path

from organisms.spec import BackendSpec
from runtime.backends.cache import ResponseCache, request_key

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Job:
    key: str
    messages: Messages
    params: dict  # temperature, max_tokens, seed


@dataclass
class Usage:
    """Counts over every response used (`prompt_tokens`, ...) and over this process's fetches only."""

    requests: int = 0
    cache_hits: int = 0
    fetched: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fetched_prompt_tokens: int = 0
    fetched_completion_tokens: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class ChatBackend(ABC):
    """`complete(conversations) -> texts`, cached; see `runtime.backends.make_backend`."""

    name = "chat"

    def __init__(self, spec: BackendSpec, model: str, cache_dir: Path):
        self.spec = spec
        self.model = model
        self.cache = ResponseCache(cache_dir)
        self.usage = Usage()

    @property
    def cache_identity(self) -> str:
        """What the cache key says about the model: its name (an API model); `HFBackend` keys by content."""
        return self.model

    def complete(
        self,
        conversations: list[Messages],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seeds: list[int] | None = None,
        desc: str = "requests",
    ) -> list[str]:
        """One completion per chat conversation (`[{"role", "content"}, ...]`), in input order.
        Cached responses are reused; the rest are fetched (concurrently for HTTP backends)."""
        seeds = seeds if seeds is not None else [0] * len(conversations)
        jobs = []
        for messages, seed in zip(conversations, seeds, strict=True):
            params = {
                "temperature": self.spec.temperature if temperature is None else temperature,
                "max_tokens": max_tokens or self.spec.max_tokens,
                "seed": seed,
            }
            jobs.append(Job(request_key(self.name, self.cache_identity, messages, params), messages, params))
        cached = {job.key: self.cache.get(job.key) for job in jobs}
        missing = list({job.key: job for job in jobs if cached[job.key] is None}.values())
        self.usage.requests += len(jobs)
        self.usage.cache_hits += len(jobs) - len(missing)
        if missing:
            self._fetch(missing, desc)
        texts = []
        for job in jobs:
            record = cached[job.key] or self.cache.get(job.key)
            self.usage.prompt_tokens += record["prompt_tokens"]
            self.usage.completion_tokens += record["completion_tokens"]
            texts.append(record["text"])
        return texts

    def _store(self, job: Job, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.cache.put(job.key, {"text": text, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens})
        self.usage.fetched += 1
        self.usage.fetched_prompt_tokens += prompt_tokens
        self.usage.fetched_completion_tokens += completion_tokens

    @abstractmethod
    def _fetch(self, jobs: list[Job], desc: str) -> None:
        """Produce and `_store` a response for every job (each as soon as it exists)."""

    def cost_usd(self, fetched_only: bool = False) -> float:
        """Tokens x the spec's price per 1k tokens."""
        u = self.usage
        prompt = u.fetched_prompt_tokens if fetched_only else u.prompt_tokens
        completion = u.fetched_completion_tokens if fetched_only else u.completion_tokens
        return prompt / 1000 * self.spec.price_per_1k_input + completion / 1000 * self.spec.price_per_1k_output
