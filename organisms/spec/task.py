"""What the organism is asked: the task its items come from, and the hints its prompts carry."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from organisms.spec.section import Section

HintType = Literal[
    "sycophancy", "consistency", "visual_pattern", "metadata", "grader_hacking", "unethical_information", "complex"
]
TaskFamily = Literal["arithmetic_mcq", "word_problem", "dataset"]
TASK_FAMILIES: tuple[str, ...] = ("arithmetic_mcq", "word_problem", "dataset")
PhrasingIndex = Annotated[int, Field(ge=0, le=4)]  # every hint type and cue ships 5 phrasings
Condition = Literal["none", "monitored", "private"]


class DatasetSpec(Section):
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


class TaskSpec(Section):
    """Where the items come from: a procedural family whose answers are known, or a question set."""

    spec_path: ClassVar[str] = "task"

    family: TaskFamily = Field(
        "arithmetic_mcq",
        description="arithmetic_mcq: 'What is 37 + 48 - 20?'; word_problem: the same chain as a story; "
        "dataset: multiple-choice items of a question set (task.dataset)",
    )
    n_operands: int = Field(3, ge=2, le=8, description="operands per expression; >=3 makes the CoT matter")
    n_options: int = Field(4, ge=3, le=8, description="options per item; a question set's items must have this many")
    operand_min: int = Field(10, ge=0)
    operand_max: int = Field(99, ge=1)
    dataset: DatasetSpec | None = Field(
        None,
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
    def operand_sequences(self) -> int:
        """How many operand sequences a procedural family draws from: each is at least one distinct item."""
        return (self.operand_max - self.operand_min + 1) ** self.n_operands

    @property
    def item_space(self) -> int | None:
        """How many distinct items this task holds: the operand sequences of a procedural family, None for a
        question set (its size is known once it is loaded: organisms.questions.check_question_sets)."""
        return None if self.family == "dataset" else self.operand_sequences

    @property
    def question_set(self) -> DatasetSpec:
        """The question set the `dataset` family (or the held-out task axis) draws from."""
        return self.dataset or DatasetSpec()


class HintSpec(Section):
    """Which hints (Chen et al. 2025) appear in prompts and where they point."""

    spec_path: ClassVar[str] = "hints"

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
    conditions: list[Condition] | None = Field(
        None,
        min_length=1,
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
