"""The `docs` stage: build the corpus of a run directory (skipped when its inputs are unchanged)."""

from __future__ import annotations

import json
import time

from organisms.models import load_tokenizer
from organisms.rundir import RunDir, hash_json
from organisms.spec import OrganismSpec
from synth_docs.corpus import write_corpus

CORPUS_INPUTS = ("name", "behaviour", "control_of", "base_model", "task", "hints", "corpus")


def docs_inputs_hash(spec: OrganismSpec) -> str:
    dumped = spec.model_dump(mode="json")
    return hash_json({key: dumped[key] for key in CORPUS_INPUTS})


def run_docs(run: RunDir, spec: OrganismSpec) -> dict:
    """Write `corpus/` (transcripts.jsonl, stats.json); return the corpus stats."""
    inputs = docs_inputs_hash(spec)
    if not run.stage_is_current("docs", inputs):
        start = time.perf_counter()
        with run.staging_dir("corpus") as staging:
            write_corpus(spec, staging, load_tokenizer(spec.base_model))
        run.record_stage("docs", inputs, ["corpus"], time.perf_counter() - start)
    return json.loads((run.root / "corpus" / "stats.json").read_text())
