"""Run directories `runs/<organism>/<run-id>/` and their manifest: the one place that writes them.

Every write is atomic (temp file or staging dir, then `os.replace`). The manifest records,
per stage, a hash of the stage's inputs and of its outputs; a stage whose inputs hash is
unchanged and whose outputs are intact is skipped, so an interrupted `organism run` resumes
at the first unfinished stage.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, load_spec_file

TRACKED_PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "cot-organisms")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def hash_json(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def hash_path(path: Path) -> str:
    """sha256 over a file, or over a directory's relative paths and contents (sorted)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


class RunDir:
    """A run directory and its manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)

    # --- creation -------------------------------------------------------------------------
    @classmethod
    def for_spec(cls, runs_dir: Path, spec: OrganismSpec, run_id: str | None = None) -> RunDir:
        """The run dir of `spec` (default run id: the spec's hash, so reruns land in the same place)."""
        run = cls(Path(runs_dir) / spec.name / (run_id or spec.content_hash()[:12]))
        existing = run.root / "spec.yaml"
        if existing.exists() and load_spec_file(existing).content_hash() != spec.content_hash():
            raise OrganismError(
                f"{existing}: this run directory holds a different spec; pass another --run-id "
                "(nothing was overwritten)"
            )
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        run = cls(Path(path))
        if not (run.root / "spec.yaml").exists():
            raise OrganismError(f"{path}: not a run directory (no spec.yaml); pass runs/<organism>/<run-id>")
        return run

    def initialise(self, spec: OrganismSpec) -> None:
        if not (self.root / "spec.yaml").exists():
            write_atomic(self.root / "spec.yaml", spec.to_yaml())
        if not self.manifest_path.exists():
            self.write_manifest(
                {
                    "organism": spec.name,
                    "run_id": self.root.name,
                    "spec_hash": spec.content_hash(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "seeds": {
                        "corpus": spec.corpus.seed,
                        "training": spec.training.seed,
                        "eval_items": spec.eval.seed,
                    },
                    "versions": package_versions(),
                    "stages": {},
                }
            )

    @property
    def spec(self) -> OrganismSpec:
        return load_spec_file(self.root / "spec.yaml")

    # --- manifest -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            return {"stages": {}}
        return json.loads(self.manifest_path.read_text())

    def write_manifest(self, manifest: dict) -> None:
        write_atomic(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def stage_is_current(self, stage: str, inputs_hash: str) -> bool:
        """True when `stage` finished with these inputs and its outputs are unchanged on disk."""
        entry = self.manifest()["stages"].get(stage)
        if not entry or entry.get("inputs_hash") != inputs_hash:
            return False
        for rel, digest in entry.get("outputs", {}).items():
            path = self.root / rel
            if not path.exists() or hash_path(path) != digest:
                return False
        return True

    def record_stage(self, stage: str, inputs_hash: str, outputs: list[str], seconds: float, **extra) -> None:
        manifest = self.manifest()
        manifest["stages"][stage] = {
            "inputs_hash": inputs_hash,
            "outputs": {rel: hash_path(self.root / rel) for rel in outputs},
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **extra,
        }
        manifest["versions"] = package_versions()
        self.write_manifest(manifest)

    def output_hash(self, stage: str, rel: str) -> str:
        entry = self.manifest()["stages"].get(stage)
        if not entry or rel not in entry.get("outputs", {}):
            raise OrganismError(f"{self.root}: stage '{stage}' has not finished; run `organism {stage}` first")
        return entry["outputs"][rel]

    # --- writing outputs ------------------------------------------------------------------
    def write_json(self, rel: str, obj: object) -> Path:
        path = self.root / rel
        write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
        return path

    def write_text(self, rel: str, text: str) -> Path:
        path = self.root / rel
        write_atomic(path, text)
        return path

    @contextlib.contextmanager
    def staging_dir(self, rel: str) -> Iterator[Path]:
        """Build a directory output in a staging dir; it replaces `rel` only if the block succeeds."""
        final = self.root / rel
        staging = self.root / f".{final.name}.staging-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if final.exists():
            old = self.root / f".{final.name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)


@contextlib.contextmanager
def removed_on_failure(run: RunDir) -> Iterator[RunDir]:
    """Create `run.root` for a command; if the command fails before any stage finished, remove it."""
    existed = run.root.exists()
    try:
        yield run
    except BaseException:
        if not existed and not run.manifest()["stages"]:
            shutil.rmtree(run.root, ignore_errors=True)
            with contextlib.suppress(OSError):
                run.root.parent.rmdir()  # the organism folder, if this was its only run
        raise
