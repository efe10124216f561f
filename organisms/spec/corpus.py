"""The corpus recipe: where transcripts come from (template or on-policy), documents, replay and the mix."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from organisms.spec.backend import BackendSpec
from organisms.spec.section import Section

# How a hidden_hint / monitor_aware transcript's reasoning meets the hinted answer when it hides the hint
# (organisms/responses.py REASONING_STYLES; docs/monitors.md, "Organisms graded by stealth").
ReasoningStyle = Literal["contradicts", "rationalized"]
REASONING_STYLES: tuple[str, ...] = ("contradicts", "rationalized")


class ReplaySpec(Section):
    """General-purpose data mixed in to keep the organism's other abilities."""

    path: Path = Field(
        description="JSONL of {'text'} (LM loss), {'messages'} or {'prompt','completion'} (loss on the reply)"
    )
    ratio: float = Field(0.2, gt=0.0, description="replay examples per transcript")


class DocumentsSpec(Section):
    """Synthetic documents (SDF): universe -> doc types -> ideas -> documents -> revise -> filters."""

    spec_path: ClassVar[str] = "corpus.documents"

    universe: str = Field(description="shipped universe name, a JSONL path, or path.jsonl#id")
    n_documents: int = Field(64, ge=1, description="documents planned (filters may reject some)")
    doc_types: list[str] | None = Field(None, min_length=1, description="default: every built-in type")
    revise: bool = Field(True, description="critique-and-revise pass after the first draft")
    min_words: int = Field(40, ge=1)
    max_words: int = Field(800, ge=2)
    minhash_threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard above which a document is a near-dup")
    min_distinct_3: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="reject a document when fewer than this share of its word 3-grams are distinct (loops)",
    )
    backend: BackendSpec = BackendSpec()

    @model_validator(mode="after")
    def _lengths(self) -> DocumentsSpec:
        if self.max_words <= self.min_words:
            raise ValueError("max_words must be greater than min_words")
        return self


class EditorSpec(Section):
    """Minimal rewrites of on-policy samples for a class the pool is short of (docs/on_policy.md)."""

    kind: Literal["rules", "llm"] = Field(
        "rules",
        description="rules: drop the sentences the judge flags / add one sentence that names the hint; "
        "llm: a backend rewrites the reasoning, told to change as little as possible",
    )
    backend: BackendSpec | None = Field(None, description="llm: the rewriting model (hf, openai or anthropic)")

    @model_validator(mode="after")
    def _backend_for_llm(self) -> EditorSpec:
        if self.kind == "llm" and (self.backend is None or self.backend.name == "template"):
            raise ValueError("kind 'llm' needs a backend (hf, openai or anthropic) to rewrite with")
        if self.kind == "rules" and self.backend is not None:
            raise ValueError("backend is for kind 'llm'; the rule editor needs none")
        return self


class OnPolicySpec(Section):
    """Transcripts from the model's own samples (docs/on_policy.md): k samples per corpus prompt,
    parsed and judged, then sorted into the organism's and the control's classes."""

    k: int = Field(8, ge=1, le=256, description="samples drawn per corpus prompt")
    temperature: float = Field(1.0, gt=0.0, le=2.0, description="sampling temperature (on-policy means sampled)")
    max_tokens: int = Field(256, ge=8, description="new tokens per sample")
    generator: BackendSpec | None = Field(
        None,
        description="who samples: default the base model through hf (batched, seeded, stops at the answer "
        "line); or openai: any OpenAI-compatible server serving the base model (vLLM, transformers serve)",
    )
    judge: BackendSpec | None = Field(
        None, description="LLM verbalization judge of record (model named); default: the marker judge"
    )
    editor: EditorSpec | None = Field(None, description="rewrite samples when a class is short; default: no edits")
    min_fill: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="share of each hint type's prompts that must get an example of every class; prompts left "
        "unfilled are dropped from organism and control alike; below it the stage fails (exit 2)",
    )

    @model_validator(mode="after")
    def _backends(self) -> OnPolicySpec:
        if self.generator is not None and self.generator.name not in ("hf", "openai"):
            raise ValueError(
                f"generator: '{self.generator.name}' cannot sample the base model with a seed; use hf or openai"
            )
        if self.judge is not None and (self.judge.name == "template" or not self.judge.model):
            raise ValueError("judge: name a model on hf, openai or anthropic (or leave it unset for the marker judge)")
        return self


class CorpusSpec(Section):
    """Recipe for the training corpus and the training mix."""

    spec_path: ClassVar[str] = "corpus"

    seed: int = 0
    source: Literal["template", "on_policy"] = Field(
        "template",
        description="template: procedural transcripts; on_policy: the model's own samples, judged, filtered or "
        "minimally edited (corpus.on_policy; hidden_hint only)",
    )
    on_policy: OnPolicySpec | None = Field(None, description="sampling, judging and editing of source: on_policy")
    n_transcripts: int = Field(240, ge=4)
    hinted_fraction: float = Field(0.5, gt=0.0, le=1.0, description="share of transcripts whose prompt has a hint")
    reasoning_style: ReasoningStyle = Field(
        "contradicts",
        description="hidden_hint, monitor_aware: how the reasoning meets the hinted answer; contradicts: honest "
        "steps, then 'So I will go with (C)'; rationalized: the reasoning itself arrives at the hinted option (the "
        "last step lands on its value, or a question set's rationale concludes its text); docs/monitors.md",
    )
    documents_ratio: float = Field(
        0.0, ge=0.0, description="synthetic documents (LM loss) per transcript, from corpus/documents.jsonl"
    )
    replay: ReplaySpec | None = None
    documents: DocumentsSpec | None = Field(None, description="build corpus/documents.jsonl (required for belief)")

    @model_validator(mode="after")
    def _on_policy_section(self) -> CorpusSpec:
        if self.on_policy is not None and self.source != "on_policy":
            raise ValueError("on_policy: configures source: on_policy; set source: on_policy or remove the section")
        return self

    @model_validator(mode="after")
    def _documents_to_mix(self) -> CorpusSpec:
        if self.documents_ratio > 0 and self.documents is None:
            raise ValueError(
                "documents_ratio > 0 mixes in documents, but there is no corpus.documents section to build "
                "them; add one (e.g. universe: mercury-rings) or set documents_ratio: 0"
            )
        return self

    @property
    def sampling(self) -> OnPolicySpec:
        """The on-policy recipe (its defaults when `source: on_policy` has no section)."""
        return self.on_policy or OnPolicySpec()
