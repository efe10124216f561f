"""The `docs` stage: build the corpus of a run directory (skipped when its inputs are unchanged)."""

from __future__ import annotations

import hashlib
import json
import time

from organisms.models import load_tokenizer
from organisms.rundir import RunDir, hash_json
from organisms.spec import OrganismSpec
from synth_docs.corpus import write_corpus
from synth_docs.universe import universe_path

CORPUS_INPUTS = ("name", "behaviour", "control_of", "base_model", "task", "hints", "corpus")


def docs_inputs_hash(spec: OrganismSpec) -> str:
    """The spec fields the corpus depends on, plus the universe file's bytes (a user file may change)."""
    dumped = spec.model_dump(mode="json")
    inputs = {key: dumped[key] for key in CORPUS_INPUTS}
    if spec.corpus.documents is not None:
        path, _ = universe_path(spec.corpus.documents.universe)
        inputs["universe_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hash_json(inputs)


def run_docs(run: RunDir, spec: OrganismSpec) -> dict:
    """Write `corpus/` (transcripts.jsonl, stats.json); return the corpus stats."""
    inputs = docs_inputs_hash(spec)
    if not run.stage_is_current("docs", inputs):
        start = time.perf_counter()
        with run.staging_dir("corpus") as staging:
            write_corpus(spec, staging, load_tokenizer(spec.base_model))
        run.record_stage("docs", inputs, ["corpus"], time.perf_counter() - start)
    return json.loads((run.root / "corpus" / "stats.json").read_text())
