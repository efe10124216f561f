"""The `docs` stage: build the corpus of a run directory, or of `--out DIR` (skipped when its inputs are unchanged)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from organisms.universe import universe_path
from runtime.models import load_tokenizer
from runtime.rundir import RunDir, hash_json, staged_dir, write_json
from runtime.weights import capability_key, weights_key
from synth_docs.corpus import SUMS_FILE, corpus_sha256, write_corpus

CORPUS_INPUTS = ("name", "behaviour", "control_of", "base_model", "task", "hints", "corpus", "stages")


def docs_inputs_hash(spec: OrganismSpec) -> str:
    """The spec fields the corpus depends on, plus the universe file's bytes (a user file may change)."""
    dumped = spec.model_dump(mode="json")
    inputs = {key: dumped[key] for key in CORPUS_INPUTS if key in dumped}  # `stages` is absent when unset
    if spec.corpus.documents is not None:
        path, _ = universe_path(spec.corpus.documents.universe)
        inputs["universe_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    weights = weights_key(spec.base_model)  # a local base by content: its tokenizer, its on-policy samples
    if weights is not None:
        inputs["base_weights"] = weights
    if spec.corpus.source == "on_policy" and spec.capability is not None:  # sampled from the capability model
        inputs["sampled_from"] = capability_key(spec)  # the recipe, the base weights and the environment
    if spec.task.family == "dataset" and spec.trains_on("transcripts"):  # items only transcripts read
        from organisms.questions import load_question_set

        inputs["question_set"] = load_question_set(spec.task.question_set, spec.task.n_options).fingerprint
    return hash_json(inputs)


def run_docs(run: RunDir, spec: OrganismSpec) -> dict:
    """Write `corpus/` (transcripts.jsonl, documents.jsonl, stats.json, SHA256SUMS); return the corpus stats."""
    inputs = docs_inputs_hash(spec)
    if not run.stage_is_current("docs", inputs):
        start = time.perf_counter()
        with run.staging_dir("corpus") as staging:
            write_corpus(spec, staging, load_tokenizer(spec.base_model, spec.trust_remote_code))
        seconds = time.perf_counter() - start
        run.record_stage("docs", inputs, ["corpus"], seconds, corpus_sha256=corpus_sha256(run.root / "corpus"))
    return json.loads((run.root / "corpus" / "stats.json").read_text())


def _previous_output(out: Path) -> dict | None:
    """stats.json of an earlier `organism docs --out`, or None when `out` holds something else."""
    try:
        stats = json.loads((out / "stats.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return stats if isinstance(stats, dict) and "inputs_hash" in stats else None


def _intact(out: Path) -> bool:
    """Every file listed in SHA256SUMS is present with its recorded hash."""
    try:
        lines = (out / "SHA256SUMS").read_text().splitlines()
        return all(
            hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
            for digest, name in (line.split("  ", 1) for line in lines)
        )
    except (OSError, ValueError):
        return False


def _not_written_by_docs(out: Path) -> list[str]:
    """The names in an earlier output that it did not write itself (its SHA256SUMS lists what it wrote)."""
    try:
        written = {line.split("  ", 1)[1] for line in (out / SUMS_FILE).read_text().splitlines() if "  " in line}
    except OSError:
        written = set()
    written |= {SUMS_FILE, "stats.json"}
    return sorted(p.name for p in out.iterdir() if p.name not in written)


def docs_to_dir(spec: OrganismSpec, out: Path) -> tuple[dict, bool]:
    """`organism docs --out DIR`: the corpus files of a run directory's `corpus/`, written to DIR.

    DIR may be absent, empty, or a previous output of the same organism (then it is replaced,
    or left alone when its inputs are unchanged and its files intact: returns `(stats, True)`).
    Anything else, or a previous output holding a file it did not write (a user's), is refused before a
    byte is written. The corpus is built with `staged_dir`, so DIR never holds a half-written corpus.
    """
    out = Path(out)
    inputs = docs_inputs_hash(spec)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        previous = _previous_output(out) if out.is_dir() else None
        if previous is None or previous.get("organism") != spec.name:
            raise OrganismError(
                f"{out}: exists and is not a previous `organism docs` output of '{spec.name}'; "
                "pass an empty or new --out directory (nothing was written)"
            )
        if previous["inputs_hash"] == inputs and _intact(out):
            return previous, True
        if foreign := _not_written_by_docs(out):
            listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OrganismError(
                f"{out}: holds files an earlier `organism docs` did not write ({listed}), which replacing the "
                "corpus would delete; move them out or pass another --out (nothing was written)"
            )
    with staged_dir(out) as staging:  # a killed run's staging dir is cleared; its responses are cached
        stats = write_corpus(spec, staging, load_tokenizer(spec.base_model, spec.trust_remote_code))
        stats.update(organism=spec.name, inputs_hash=inputs)
        write_json(staging / "stats.json", stats)
    return stats, False
