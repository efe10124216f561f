"""How the adapter trains: its stages, the LoRA, the trainer, and the optional capability finetune before it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from organisms.spec.section import Section

TrainingData = Literal["documents", "transcripts"]


class StageSpec(Section):
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


class LoraSpec(Section):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    layers: list[int] | None = Field(None, description="confine the adapter to these decoder layers")
    use_rslora: bool = False
    use_dora: bool = False
    quantize: Literal["4bit"] | None = Field(None, description="QLoRA: 4-bit NF4 base via bitsandbytes (CUDA only)")


class WandbSpec(Section):
    enabled: bool = False
    project: str = "cot-organisms"


class TrainingSpec(Section):
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


class CapabilitySpec(Section):
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
