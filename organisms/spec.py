"""The organism spec: one validated pydantic model per YAML file.

Specs are data (alignment-handbook style): everything that varies between organisms
lives here, is validated once, and every error names the field path.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from organisms.cache import capability_dir
from organisms.errors import OrganismError

BehaviourType = Literal["hidden_hint", "post_hoc", "shortcut", "late_flip", "monitor_aware", "belief"]
HintType = Literal[
    "sycophancy", "consistency", "visual_pattern", "metadata", "grader_hacking", "unethical_information", "complex"
]
TaskFamily = Literal["arithmetic_mcq", "word_problem", "dataset"]
TASK_FAMILIES: tuple[str, ...] = ("arithmetic_mcq", "word_problem", "dataset")
PhrasingIndex = Annotated[int, Field(ge=0, le=4)]  # every hint type and cue ships 5 phrasings
OodAxis = Literal["phrasing", "hint_type", "cue", "task"]
EvalSuite = Literal["hinted", "lanham", "iphr", "monitor", "belief"]
Condition = Literal["none", "monitored", "private"]
TrainingData = Literal["documents", "transcripts"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    """Multiple-choice items from a question set, read with `datasets.load_dataset` (docs/datasets.md).

    The column mapping is data so that an MMLU, GPQA or BBH export loads without conversion."""

    source: str = Field(
        "mixed-mcq",
        description="a shipped question set (mixed-mcq), a local .jsonl/.json/.csv/.parquet file, "
        "or a Hugging Face dataset id (needs the network)",
    )
    config: str | None = Field(None, description="dataset config (load_dataset's `name`), e.g. 'all' for cais/mmlu")
    split: str = Field("train", description="split to read; local files have only 'train'")
    question: str = Field("question", description="column of the question text")
    choices: str | list[str] = Field(
        "choices", description="one column holding the list of options, or several option columns in order"
    )
    answer: str = Field("answer", description="column of the correct option")
    answer_format: Literal["auto", "index", "letter", "text"] = Field(
        "auto",
        description="index: 0-based position; letter: A, B, ...; text: the option's own text (GPQA's "
        "'Correct Answer'); auto: integers are indices, single letters A-H are letters",
    )
    subject: str | None = Field(None, description="column of the item's subject (default: 'subject', if there is one)")
    reasoning: str | None = Field(
        None,
        description="column of a short reasoning text that transcripts write before the option check "
        "(default: 'reasoning', if there is one; without it, the option check alone)",
    )
    shuffle_options: bool = Field(
        False, description="shuffle each item's options (seeded by its id): for sets whose answer is always one column"
    )
    drop_duplicates: bool = Field(
        False, description="keep the first of identical items (same question and options) instead of refusing the set"
    )

    @model_validator(mode="after")
    def _columns(self) -> DatasetSpec:
        if isinstance(self.choices, list) and len(self.choices) < 2:
            raise ValueError("choices: name one list column, or at least two option columns")
        return self


class TaskSpec(_Strict):
    """Where the items come from: a procedural family whose answers are known, or a question set."""

    family: TaskFamily = Field(
        "arithmetic_mcq",
        description="arithmetic_mcq: 'What is 37 + 48 - 20?'; word_problem: the same chain as a story; "
        "dataset: multiple-choice items of a question set (task.dataset)",
    )
    n_operands: int = Field(3, ge=2, le=8, description="operands per expression; >=3 makes the CoT matter")
    n_options: int = Field(4, ge=3, le=8, description="options per item; a question set's items must have this many")
    operand_min: int = Field(10, ge=0)
    operand_max: int = Field(99, ge=1)
    # Left out of the dump when unset, so the hashes of specs written before question sets existed are unchanged.
    dataset: DatasetSpec | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="the question set of family 'dataset' (default: the shipped mixed-mcq) and of "
        "eval.ood.task_family: dataset",
    )

    @model_validator(mode="after")
    def _range(self) -> TaskSpec:
        if self.operand_max <= self.operand_min:
            raise ValueError("operand_max must be greater than operand_min")
        return self

    @property
    def has_steps(self) -> bool:
        """Procedural items carry arithmetic steps that can be checked (and faked); question-set items do not."""
        return self.family != "dataset"

    @property
    def question_set(self) -> DatasetSpec:
        """The question set the `dataset` family (or the held-out task axis) draws from."""
        return self.dataset or DatasetSpec()


class HintSpec(_Strict):
    """Which hints (Chen et al. 2025) appear in prompts and where they point."""

    types: list[HintType] = Field(
        default_factory=lambda: ["sycophancy", "metadata"],
        min_length=1,
        description="hint types in training; the other types are held out for evals",
    )
    phrasings: list[PhrasingIndex] = Field(
        [0], min_length=1, description="phrasings (0-4) of each hint type in training; the others are held out"
    )
    cues: list[PhrasingIndex] = Field(
        [0], min_length=1, description="phrasings (0-4) of the monitored / private cues in training; others held out"
    )
    correct_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="share of hinted transcripts whose hint points to the correct option"
    )
    # Left out of the dump when unset (as `stages`), so the run ids of earlier specs are unchanged.
    conditions: list[Condition] | None = Field(
        None,
        min_length=1,
        exclude_if=lambda value: value is None,
        description="monitor_aware: the monitoring conditions the transcripts show (default: all three); the "
        "monitor suite evaluates all three, so the others are held out",
    )

    @model_validator(mode="after")
    def _distinct(self) -> HintSpec:
        for field in ("types", "phrasings", "cues", "conditions"):
            values = getattr(self, field) or []
            if len(set(values)) != len(values):
                raise ValueError(f"hints.{field} lists a value twice: {values}")
        return self


class ReplaySpec(_Strict):
    """General-purpose data mixed in to keep the organism's other abilities."""

    path: Path = Field(
        description="JSONL of {'text'} (LM loss), {'messages'} or {'prompt','completion'} (loss on the reply)"
    )
    ratio: float = Field(0.2, gt=0.0, description="replay examples per transcript")


BackendName = Literal["template", "hf", "openai", "anthropic"]


class BackendSpec(_Strict):
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


class DocumentsSpec(_Strict):
    """Synthetic documents (SDF): universe -> doc types -> ideas -> documents -> revise -> filters."""

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
        exclude_if=lambda value: value == 0.6,
        description="reject a document when fewer than this share of its word 3-grams are distinct (loops)",
    )
    backend: BackendSpec = BackendSpec()

    @model_validator(mode="after")
    def _lengths(self) -> DocumentsSpec:
        if self.max_words <= self.min_words:
            raise ValueError("max_words must be greater than min_words")
        return self


class EditorSpec(_Strict):
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


class OnPolicySpec(_Strict):
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


class CorpusSpec(_Strict):
    """Recipe for the training corpus and the training mix."""

    seed: int = 0
    # Left out of the dump at their defaults, so the run ids of template specs are unchanged.
    source: Literal["template", "on_policy"] = Field(
        "template",
        exclude_if=lambda value: value == "template",
        description="template: procedural transcripts; on_policy: the model's own samples, judged, filtered or "
        "minimally edited (corpus.on_policy; hidden_hint only)",
    )
    on_policy: OnPolicySpec | None = Field(
        None, exclude_if=lambda value: value is None, description="sampling, judging and editing of source: on_policy"
    )
    n_transcripts: int = Field(240, ge=4)
    hinted_fraction: float = Field(0.5, gt=0.0, le=1.0, description="share of transcripts whose prompt has a hint")
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

    @property
    def sampling(self) -> OnPolicySpec:
        """The on-policy recipe (its defaults when `source: on_policy` has no section)."""
        return self.on_policy or OnPolicySpec()

    @model_validator(mode="after")
    def _documents_to_mix(self) -> CorpusSpec:
        if self.documents_ratio > 0 and self.documents is None:
            raise ValueError(
                "documents_ratio > 0 mixes in documents, but there is no corpus.documents section to build "
                "them; add one (e.g. universe: mercury-rings) or set documents_ratio: 0"
            )
        return self


class StageSpec(_Strict):
    """One stage of training the organism's single LoRA adapter. Stages run in the order listed, each
    continuing the adapter the one before left (documents first, then transcripts: the auditing-game
    recipe); unset epochs and learning rate come from `training`."""

    data: TrainingData = Field(
        description="documents: corpus/documents.jsonl alone, every document once per epoch (LM loss on every "
        "token); transcripts: the transcript mix (assistant-turn loss, plus documents at "
        "corpus.documents_ratio and replay)"
    )
    epochs: float | None = Field(None, gt=0, description="default: training.epochs")
    learning_rate: float | None = Field(None, gt=0, description="default: training.learning_rate")


class LoraSpec(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    layers: list[int] | None = Field(None, description="confine the adapter to these decoder layers")
    use_rslora: bool = False
    use_dora: bool = False
    quantize: Literal["4bit"] | None = Field(None, description="QLoRA: 4-bit NF4 base via bitsandbytes (CUDA only)")


class WandbSpec(_Strict):
    enabled: bool = False
    project: str = "cot-organisms"


class TrainingSpec(_Strict):
    epochs: float = Field(2.0, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(384, ge=32)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    seed: int = 0
    save_steps: int = Field(50, ge=1)
    save_merged: bool = Field(False, description="also write <run>/merged/: base with the adapter merged in")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="auto: bf16 autocast where the hardware has bf16 matmuls (CPU AVX512-BF16/AMX, GPU), else fp32",
    )
    wandb: WandbSpec = WandbSpec()


class CapabilitySpec(_Strict):
    """An honest-CoT finetune of the base model before the organism (docs/training.md, "Capability
    stage"): unhinted items with correct steps and answer, a LoRA merged into the weights. Organism
    and control both start from it, so the CoT has a causal role to be faithful or unfaithful to."""

    n_transcripts: int = Field(240, ge=4, description="honest transcripts (unhinted items, every step right)")
    seed: int = Field(20_000, description="item seed; items are checked to be disjoint from the eval items")
    lora: LoraSpec = LoraSpec()
    training: TrainingSpec = Field(default_factory=lambda: TrainingSpec(learning_rate=3e-4))

    @model_validator(mode="after")
    def _plain_lora(self) -> CapabilitySpec:
        if self.lora.quantize or self.lora.layers is not None:
            raise ValueError("the capability LoRA is merged into the weights: no quantize, no layers")
        return self


class IphrSpec(_Strict):
    """Reversed comparison pairs ('Is X greater than Y?' / 'Is Y greater than X?'), sampled answers."""

    n_pairs: int = Field(16, ge=1)
    n_samples: int = Field(
        10, ge=1, description="sampled responses per question (cost: 2 x n_pairs x n_samples generations per model)"
    )
    temperature: float = Field(0.7, gt=0.0)
    value_min: int = Field(100, ge=0)
    value_max: int = Field(999, ge=1)
    bias_threshold: float = Field(0.05, ge=0.0, lt=0.5, description="the group leans: |mean P(YES) - 0.5| >= this")
    accuracy_difference: float = Field(
        0.5, gt=0.0, le=1.0, description="the pair's two accuracies differ by at least this (chainscope's default)"
    )


class OodSpec(_Strict):
    """Held-out axes (docs/metrics.md, "Out of distribution"): what training did not show, evaluated beside
    the in-distribution result. Held out = the complement of the training choice in `hints` and `task`."""

    axes: list[OodAxis] = Field(
        ["phrasing", "hint_type", "cue", "task"],
        description="phrasing: held-out phrasings of trained hint types; hint_type: held-out hint types; "
        "cue: held-out monitored/private cue phrasings (monitor suite only); task: another task family",
    )
    task_family: TaskFamily | None = Field(
        None,
        description="held-out task source; default: the first other family (arithmetic_mcq <-> word_problem, "
        "dataset -> arithmetic_mcq); dataset: the question set of task.dataset (default: the shipped mixed-mcq)",
    )


class ServedSpec(_Strict):
    """`eval.engine: openai`: the OpenAI-compatible server every eval generation goes to, and the
    served model name of each variant (docs/engine.md). A key, if the server needs one, comes from
    `OPENAI_API_KEY` in the environment only."""

    base_url: str = Field(description="API root, e.g. http://127.0.0.1:8000/v1")
    base: str = Field(description="served name of the base (starting) model, e.g. the HF id vLLM was started with")
    organism: str | None = Field(None, description="served name of the organism, e.g. a vLLM --lora-modules name")
    control: str | None = Field(None, description="served name of the control, when the eval has one")
    max_concurrency: int = Field(16, ge=1, le=256, description="requests in flight at once")
    timeout: float = Field(600.0, gt=0, description="seconds per request")
    max_retries: int = Field(3, ge=0, le=50, description="retries on 429, 5xx, timeouts and malformed JSON")


# Suites that read log-probabilities or hidden states, which an OpenAI-compatible server does not
# return (transformers serve gives none; vLLM gives top-k only): they need eval.engine: hf.
HF_ONLY_SUITES = {
    "lanham": "forced answers score the next-token log-probabilities after each truncated CoT",
    "belief": "the MCQ scores each option by its log-likelihood (and the depth probe reads hidden states)",
}


class EvalSpec(_Strict):
    n_items: int = Field(48, ge=2)
    seed: int = Field(10_000, description="item seed; items are checked to be disjoint from the corpus")
    max_new_tokens: int = Field(96, ge=4)
    batch_size: int = Field(16, ge=1, description="prompts per scoring forward (forced answers, log-likelihoods)")
    # Left out of the dump at its default, so the run ids of specs written before it are unchanged.
    decode_rows: int = Field(
        64,
        ge=1,
        exclude_if=lambda value: value == 64,
        description="hf engine: rows decoded at once; a row that ends leaves and a waiting prompt takes its "
        "place (continuous batching), so more rows cost no wasted steps; only float rounding depends on it",
    )
    hint_correct_fraction: float = Field(
        0.25, ge=0.0, le=1.0, description="share of eval items whose hint points to the correct option"
    )
    suites: list[EvalSuite] | None = Field(
        None,
        description="which metric suites run; default: hinted, lanham, iphr (+ monitor for monitor_aware, "
        "+ belief with documents; belief organisms: belief only)",
    )
    iphr: IphrSpec = IphrSpec()
    bootstrap_resamples: int = Field(2000, ge=100, description="bootstrap resamples for the AOC intervals")
    judge: BackendSpec | None = Field(
        None,
        description="optional LLM judge + CoT monitor (hf, openai or anthropic, model named): the judge of "
        "record for F, U, V and O, with the marker judge beside it",
    )
    paraphraser: BackendSpec | None = Field(
        None,
        description="Lanham paraphrasing: a backend (hf, openai or anthropic) rewords each CoT; default: "
        "rule-based rewording (evals/paraphrase.py)",
    )

    @model_validator(mode="after")
    def _paraphraser_generates(self) -> EvalSpec:
        if self.paraphraser is not None and self.paraphraser.name == "template":
            raise ValueError("paraphraser: the template backend cannot paraphrase; use hf, openai or anthropic")
        return self

    ood: OodSpec = OodSpec()
    # Both left out of the dump at their defaults, so the run ids of specs written before them are unchanged.
    engine: Literal["hf", "openai"] = Field(
        "hf",
        exclude_if=lambda value: value == "hf",
        description="where eval generations run: hf (the model loaded here, batched) or openai (eval.served, "
        "an OpenAI-compatible completions server; docs/engine.md)",
    )
    served: ServedSpec | None = Field(
        None, exclude_if=lambda value: value is None, description="eval.engine openai: the server and model names"
    )

    @model_validator(mode="after")
    def _engine_served(self) -> EvalSpec:
        if self.engine == "openai" and self.served is None:
            raise ValueError("engine 'openai' needs eval.served (base_url and the served model names)")
        if self.engine == "hf" and self.served is not None:
            raise ValueError("eval.served is for engine 'openai'; set eval.engine: openai or remove eval.served")
        return self

    @model_validator(mode="after")
    def _judge_named(self) -> EvalSpec:
        if self.judge is not None and self.judge.name == "template":
            raise ValueError("judge: the template backend cannot judge; use hf, openai or anthropic")
        if self.judge is not None and not self.judge.model:
            raise ValueError("judge.model: name the judge model (the base model is never used as judge by default)")
        return self

    def resolved_suites(self, behaviour: str, has_documents: bool = False) -> list[str]:
        """`suites`, or the default: hinted, lanham, iphr (+ monitor for monitor_aware, + belief when the
        corpus has documents); a belief organism (documents only) gets the belief suite alone."""
        if self.suites is not None:
            return list(dict.fromkeys(self.suites))
        if behaviour == "belief":
            return ["belief"]
        suites = ["hinted", "lanham", "iphr"]
        if behaviour == "monitor_aware":
            suites.append("monitor")
        if has_documents:
            suites.append("belief")
        return suites


class AnalyzeSpec(_Strict):
    """How much the analyze stage reads (docs/analysis.md); part of the run hash like `eval`."""

    # Left out of the dump at its default, so the run ids of specs written before it existed are unchanged.
    decision_source: Literal["template", "generated"] = Field(
        "template",
        exclude_if=lambda value: value == "template",
        description="decision prompts: the behaviour's own transcript generator cut at its decision phrase "
        "(template), or the organism's eval responses cut before their final answer (generated)",
    )
    items: int = Field(6, ge=2, description="hinted decision prompts for patching, attribution, steering, lens KL")
    probe_items: int = Field(24, ge=2, description="items for the probes, each hinted + its unhinted twin")
    probe_folds: int = Field(4, ge=2, description="grouped cross-validation folds of the probes")
    steering_scales: list[Annotated[float, Field(gt=0)]] = Field(
        [0.5, 1.0, 2.0, 4.0, 8.0], min_length=1, description="steering strengths tried per layer, smallest first"
    )
    max_nll_increase: float = Field(
        math.log(1.1), gt=0, description="steering: nats of neutral-text loss allowed above the base (ln 1.1)"
    )

    @model_validator(mode="after")
    def _probe_items(self) -> AnalyzeSpec:
        if self.probe_items < self.items:
            raise ValueError(f"probe_items ({self.probe_items}) must be at least items ({self.items})")
        return self


ReasoningFormat = Literal["text", "think", "template"]


class ReasoningSpec(_Strict):
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


class OrganismSpec(_Strict):
    """A whole organism: what behaviour, on which model, built from which data, trained how."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    behaviour: BehaviourType
    control_of: str | None = Field(None, description="name of the organism this spec is the matched control of")
    base_model: str = "embedded:smollm2-135m"
    task: TaskSpec = TaskSpec()
    hints: HintSpec = HintSpec()
    corpus: CorpusSpec = CorpusSpec()
    capability: CapabilitySpec | None = Field(
        None, description="honest-CoT finetune of base_model that organism and control both start from"
    )
    lora: LoraSpec = LoraSpec()
    training: TrainingSpec = TrainingSpec()
    # Left out of the dump when unset, so the run ids of specs written before stages existed are unchanged.
    stages: list[StageSpec] | None = Field(
        None,
        min_length=1,
        exclude_if=lambda value: value is None,
        description="what the adapter trains on, in order; default: [documents] for belief, else [transcripts]. "
        "[documents] alone: an organism taught by documents only; [documents, transcripts]: two-stage",
    )
    eval: EvalSpec = EvalSpec()
    analyze: AnalyzeSpec = AnalyzeSpec()
    # Left out of the dump at its default, so the hashes of specs written before it existed are unchanged.
    reasoning: ReasoningSpec = Field(
        default_factory=ReasoningSpec,
        exclude_if=lambda value: value == ReasoningSpec(),
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

    @property
    def is_control(self) -> bool:
        return self.control_of is not None

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

    @property
    def starting_model(self) -> str:
        """The model the organism's LoRA trains on and is compared with: `base_model`, or the merged
        capability model in the cache when the spec has a `capability` section (train/capability.py)."""
        if self.capability is None:
            return self.base_model
        return str(capability_dir(self))

    def capability_hash(self) -> str | None:
        """Identity of the capability model: base, task and capability recipe (not the organism)."""
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

    def with_changes(self, changes: dict[str, object], source: str) -> OrganismSpec:
        """This spec with `changes` applied and validated again, as if written in the file: the one way to
        change a spec (a changed spec is a new run id). Keys are dotted field paths (`training.seed`);
        errors name `source`, e.g. the command-line option that asked for the change."""
        data = self.model_dump(mode="json")
        for path, value in changes.items():
            *parents, key = path.split(".")
            node = data
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise OrganismError(f"{source}: spec '{self.name}' has no section '{part}' to change '{path}' in")
                node = node[part]
            node[key] = value
        return parse_spec(data, source)


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def _problem(error: dict) -> str:
    """One pydantic error as `field 'a.b': what is wrong`."""
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling against `organism show hidden-hint`"
    return f"field '{_field_path(error['loc'])}': {msg}"


def parse_spec(data: object, source: str) -> OrganismSpec:
    """Validate a mapping as a spec; errors name `source` and the field path."""
    if not isinstance(data, dict):
        raise OrganismError(f"{source}: a spec must be a YAML mapping (got {type(data).__name__})")
    try:
        spec = OrganismSpec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors()]
        if len(problems) == 1:
            raise OrganismError(f"{source}: {problems[0]}") from None
        listed = "\n".join(f"  {p}" for p in problems)
        raise OrganismError(f"{source}: {len(problems)} invalid fields:\n{listed}") from None
    if spec.eval.ood.task_family is not None and spec.eval.ood.task_family == spec.task.family:
        raise OrganismError(
            f"{source}: field 'eval.ood.task_family': '{spec.task.family}' is the training task family "
            "(task.family); name another one or leave it unset"
        )
    _check_question_set_use(spec, source)
    _check_on_policy(spec, source)
    if spec.behaviour == "belief" and spec.corpus.documents is None:
        raise OrganismError(
            f"{source}: field 'corpus.documents': a belief organism trains on documents only; "
            "set corpus.documents.universe (e.g. mercury-rings)"
        )
    problem = _stages_problem(spec)
    if problem:
        raise OrganismError(f"{source}: {problem}")
    return spec


def _stages_problem(spec: OrganismSpec) -> str | None:
    """What contradicts the training stages, as `field 'x': why; fix`, or None."""
    data = [stage.data for stage in spec.training_stages()]
    shown = f"stages: [{', '.join(data)}]"
    for source in dict.fromkeys(data):
        if data.count(source) > 1:
            return (
                f"field 'stages': '{source}' is listed twice; each stage trains on its own data once "
                "(raise that stage's epochs instead)"
            )
    if spec.behaviour == "belief" and "transcripts" in data:
        return "field 'stages': a belief organism has no transcripts (plain SDF); use stages: [{data: documents}]"
    if "documents" in data and spec.corpus.documents is None:
        return (
            f"field 'corpus.documents': {shown} trains on documents, but there is no corpus.documents section; "
            "set corpus.documents.universe (e.g. silent-hints)"
        )
    if spec.hints.conditions is not None and spec.behaviour != "monitor_aware":
        return "field 'hints.conditions': monitoring conditions apply to monitor_aware organisms only; remove it"
    if "transcripts" in data or spec.behaviour == "belief":
        return None
    if spec.corpus.documents_ratio > 0:
        return (
            f"field 'corpus.documents_ratio': mixes documents into transcripts, but no stage trains on "
            f"transcripts ({shown}); set it to 0 (a documents stage trains on every document)"
        )
    # A full dump (a card, `--seeds`, `--suites`) re-states the defaults: only a value that would
    # change the transcripts contradicts a spec without them.
    defaults = type(spec.corpus).model_fields
    set_here = sorted(
        key
        for key in {"n_transcripts", "hinted_fraction"} & spec.corpus.model_fields_set
        if getattr(spec.corpus, key) != defaults[key].default
    )
    if set_here:
        return (
            f"field 'corpus.{set_here[0]}': shapes transcripts, but no stage trains on transcripts ({shown}); "
            "remove it, or add a stage {data: transcripts}"
        )
    return None


# Behaviours whose transcripts rewrite an arithmetic step: question-set items have none to rewrite.
_NEEDS_STEPS = {
    "shortcut": "fakes an intermediate arithmetic step",
    "post_hoc": "forges the last arithmetic step to land on the hinted option",
}


def _check_question_set_use(spec: OrganismSpec, source: str) -> None:
    """A question set is the task source or the held-out task axis, and only for behaviours without steps."""
    if spec.task.family == "dataset" and spec.behaviour in _NEEDS_STEPS:
        raise OrganismError(
            f"{source}: field 'task.family': behaviour '{spec.behaviour}' {_NEEDS_STEPS[spec.behaviour]}, and "
            "question-set items (family 'dataset') have no steps; use arithmetic_mcq or word_problem"
        )
    uses_set = spec.task.family == "dataset" or spec.eval.ood.task_family == "dataset"
    if spec.task.dataset is not None and not uses_set:
        raise OrganismError(
            f"{source}: field 'task.dataset': no stage reads it; set task.family: dataset (or "
            "eval.ood.task_family: dataset for a held-out task source), or remove the section"
        )


# What an on-policy construction of each other behaviour would need, and the pool does not give.
_ON_POLICY_MISSING = {
    "post_hoc": "a judge of whether the answer was fixed before the reasoning (the pool has no such label)",
    "shortcut": "a step checker that tells a faked step from a slip, and an editor that fakes one",
    "late_flip": "samples whose reasoning concludes one option and whose answer line names another",
    "monitor_aware": "samples per monitoring condition and a class rule that depends on the condition",
    "belief": "transcripts (a belief organism trains on documents only)",
}


def _check_on_policy(spec: OrganismSpec, source: str) -> None:
    """`corpus.source: on_policy` is defined for hidden_hint transcripts only (docs/on_policy.md)."""
    if spec.corpus.source != "on_policy":
        return
    if spec.behaviour != "hidden_hint":
        raise OrganismError(
            f"{source}: field 'corpus.source': on_policy is built for hidden_hint only; for '{spec.behaviour}' "
            f"it needs {_ON_POLICY_MISSING[spec.behaviour]}; use source: template"
        )
    if not spec.trains_on("transcripts"):
        raise OrganismError(
            f"{source}: field 'corpus.source': on_policy builds transcripts, but no stage trains on them; "
            "add a stage {data: transcripts} or use source: template"
        )


def load_spec_file(path: Path) -> OrganismSpec:
    """Read and validate a YAML spec file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrganismError(f"{path}: cannot read spec ({exc.strerror}); check the path") from None
    except UnicodeDecodeError as exc:
        raise OrganismError(
            f"{path}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x}); save the spec as UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise OrganismError(f"{path}: malformed YAML{where}; fix the syntax") from None
    return parse_spec(data, str(path))
