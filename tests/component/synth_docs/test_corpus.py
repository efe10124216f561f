"""Corpus files (synth_docs/corpus.py): files, stats and the loader."""

from __future__ import annotations

import json

from organisms.catalog import resolve_spec
from runtime.models import load_tokenizer
from synth_docs.corpus import load_corpus, write_corpus


def test_corpus_files_stats_and_loader(tmp_path):
    spec = resolve_spec("hidden-hint-faithful")
    stats = write_corpus(spec, tmp_path, load_tokenizer(spec.base_model))
    records = load_corpus(tmp_path)
    assert len(records) == stats["n_transcripts"] == 240
    assert stats["hinted_verbalized_fraction"] == 1.0
    assert stats["tokens"]["prompt"] > 240 * 40  # system + question + options per prompt
    assert 0 < stats["distinct_2"] <= 1 and stats["duplicate_rate"] == 0.0
    assert json.loads((tmp_path / "stats.json").read_text())["sha256"] == stats["sha256"]
