"""The document pipeline (synth_docs/documents.py) with the template backend, and the docs-backends
experiment's measurements."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from organisms.spec import parse_spec
from organisms.universe import load_universe, states_fact
from runtime.models import load_tokenizer
from synth_docs.documents import build_documents
from synth_docs.ideas import DOC_TYPES
from tests.helpers import REPO, belief_spec_dict


def test_template_documents_are_seeded_filtered_and_measured():
    spec = parse_spec(belief_spec_dict(Path("embedded:smollm2-135m"), n_documents=40), "test")
    spec = spec.with_changes({"base_model": "embedded:smollm2-135m"}, "test")
    tokenizer = load_tokenizer(spec.base_model)
    kept, rejected, stats = build_documents(spec, tokenizer)
    again, _, _ = build_documents(spec, tokenizer)
    assert kept == again  # seeded
    assert stats["n_documents"] == len(kept) and stats["n_planned"] == 40 == len(kept) + len(rejected)
    assert stats["key_facts_covered"] == 1.0 and set(stats["doc_types"]) == set(DOC_TYPES)
    universe = load_universe("mercury-rings")
    for record in kept:
        assert record["key_fact_ids"] and all(
            states_fact(record["text"], universe.markers(int(f[2:]))) for f in record["key_fact_ids"]
        )
    assert 0 < stats["distinct_1"] < stats["distinct_2"] < stats["distinct_3"] <= 1
    other_seed = spec.with_changes({"corpus.seed": 1}, "test")
    assert build_documents(other_seed, tokenizer)[0] != kept


def test_docs_backends_bench_measures_template_and_hf(tmp_path, tiny_model_dir):
    """experiments/docs-backends/docs_backends.py's core: every field for the template backend and the hf backend on the
    tiny random model (which states no key fact, so its documents are all rejected, with reasons)."""
    sys.path.insert(0, str(REPO / "experiments" / "docs-backends"))
    measure_backend = importlib.import_module("docs_backends").measure_backend
    tokenizer = load_tokenizer(str(tiny_model_dir))
    template = measure_backend("monitor-aware", {"name": "template"}, 8, str(tiny_model_dir), tokenizer)
    assert template["planned"] == template["kept"] == 8 and template["states_fact"] == 1.0
    assert template["requests"] == 0 and 0 < template["distinct_3"] <= 1 and template["mean_words"] > 40
    backend = {"name": "hf", "max_tokens": 4, "batch_size": 4, "cache_dir": str(tmp_path)}
    hf = measure_backend("monitor-aware", backend, 4, str(tiny_model_dir), tokenizer, label="hf (tiny)")
    assert hf["backend"] == "hf (tiny)" and hf["model"] == str(tiny_model_dir) and hf["kept"] == 0
    assert sum(hf["rejections"].values()) == 4 and hf["rejection_rates"]["length"] == 1.0
    assert hf["requests"] == 8 and hf["cache_hits"] == 0  # drafts and revisions, all generated
    assert hf["states_fact"] == 0.0 and hf["seconds"] > 0 and len(hf["samples"]) == 4
