"""Who writes text for a stage: the offline template grammar, a local model, or an HTTP API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from organisms.spec.section import Section

BackendName = Literal["template", "hf", "openai", "anthropic"]


class BackendSpec(Section):
    """Where documents come from. `template` is offline; `hf` runs a local model; `openai` (any
    OpenAI-compatible server) and `anthropic` are HTTP APIs whose keys come from the environment only."""

    name: BackendName = "template"
    model: str | None = Field(None, description="hf: model ref (default: base_model); openai/anthropic: model name")
    base_url: str | None = Field(None, description="openai/anthropic: API root, e.g. http://127.0.0.1:8000/v1")
    max_concurrency: int = Field(4, ge=1, le=256, description="HTTP requests in flight at once")
    max_retries: int = Field(6, ge=0, le=50, description="retries on 429, 5xx, timeouts and malformed JSON")
    retry_wait: float = Field(1.0, gt=0, description="first backoff in seconds; doubles per retry (capped at 60)")
    timeout: float = Field(120.0, gt=0, description="seconds per HTTP request")
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=1)
    batch_size: int = Field(8, ge=1, description="hf: prompts per generate call")
    price_per_1k_input: float = Field(0.0, ge=0.0, description="USD per 1k prompt tokens (cost accounting)")
    price_per_1k_output: float = Field(0.0, ge=0.0, description="USD per 1k completion tokens")
    cache_dir: Path | None = Field(None, description="response cache; default <COT_ORGANISMS_CACHE>/responses")

    @model_validator(mode="after")
    def _model_for_api(self) -> BackendSpec:
        if self.name in ("openai", "anthropic") and not self.model:
            raise ValueError(f"backend '{self.name}' needs a model name (corpus.documents.backend.model)")
        return self
