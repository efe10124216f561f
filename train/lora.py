"""What the adapter is and what it sits on: the peft `LoraConfig` from the spec (module targets,
layer confinement) and the base model, 4-bit quantized for QLoRA."""

from __future__ import annotations

import torch
from peft import LoraConfig
from transformers import BitsAndBytesConfig, PreTrainedModel

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from runtime.architecture import decoder_layers
from runtime.models import load_model
from runtime.weights import starting_model


def linear_module_names(model: PreTrainedModel) -> list[str]:
    """Leaf names of the Linear layers inside the decoder blocks (what "all-linear" means: the LM head,
    tied or not, and anything outside the blocks left out), in any family."""
    names = set()
    for layer in decoder_layers(model):
        for name, module in layer.named_modules():
            if isinstance(module, torch.nn.Linear):
                names.add(name.rsplit(".", 1)[-1])
    return sorted(names)


def lora_config(spec: OrganismSpec, model: PreTrainedModel) -> LoraConfig:
    targets = spec.lora.target_modules
    # peft refuses layers_to_transform with a string target ("all-linear"): expand it.
    if targets == "all-linear" and spec.lora.layers is not None:
        targets = linear_module_names(model)
    return LoraConfig(
        r=spec.lora.r,
        lora_alpha=spec.lora.alpha,
        lora_dropout=spec.lora.dropout,
        target_modules=targets,
        layers_to_transform=spec.lora.layers,
        use_rslora=spec.lora.use_rslora,
        use_dora=spec.lora.use_dora,
        task_type="CAUSAL_LM",
    )


def check_quantization(spec: OrganismSpec) -> None:
    """QLoRA needs bitsandbytes' CUDA kernels: refuse clearly instead of silently training in full precision."""
    if spec.lora.quantize and not torch.cuda.is_available():
        raise OrganismError(
            f"spec '{spec.name}': field 'lora.quantize': 4-bit QLoRA needs a CUDA GPU (bitsandbytes) and this "
            "machine has none; remove lora.quantize to train plain LoRA here"
        )


def load_base_for_training(spec: OrganismSpec) -> PreTrainedModel:
    """The base model, 4-bit quantized for QLoRA (callers have run `check_quantization`)."""
    if not spec.lora.quantize:
        return load_model(starting_model(spec), trust_remote_code=spec.trust_remote_code)
    from peft import prepare_model_for_kbit_training

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = load_model(
        starting_model(spec),
        dtype=torch.bfloat16,
        trust_remote_code=spec.trust_remote_code,
        quantization_config=quant,
        device_map={"": torch.cuda.current_device()},
    )
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
