"""`organism docs --inspect` shows what the corpus holds: a few transcripts of each kind (hint type,
monitoring condition, a wrong step) when the spec trains on transcripts, a few documents of each type
when it has documents. 15 of the 25 catalogue entries have no documents: they must show transcripts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from synth_docs.samples import sample_panels
from synth_docs.transcripts import build_transcripts


def corpus_of(name: str, tmp_path: Path, n: int = 24) -> Path:
    spec = resolve_spec(name).with_changes({"corpus.n_transcripts": n}, "test")
    records = build_transcripts(spec)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "transcripts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path


def titles(panels) -> list[str]:
    return [str(panel.title) for panel in panels]


def rendered(panels) -> str:
    console = Console(file=io.StringIO(), width=120)
    for panel in panels:
        console.print(panel)
    return console.file.getvalue()


def test_transcripts_are_shown_a_few_of_each_kind(tmp_path):
    panels = sample_panels(corpus_of("hidden-hint", tmp_path), per_kind=2)
    kinds = [title.split(" · ")[0] for title in titles(panels)]
    assert {"hinted (sycophancy)", "hinted (metadata)", "unhinted"} == set(kinds)
    assert all(kinds.count(kind) == 2 for kind in set(kinds))
    text = rendered(panels)
    assert "Answer: (" in text and "What is" in text  # the prompt and the assistant turn


def test_monitoring_conditions_and_faked_steps_are_their_own_kinds(tmp_path):
    kinds = {t.split(" · ")[0] for t in titles(sample_panels(corpus_of("monitor-aware", tmp_path / "m")))}
    assert {"unhinted, monitored", "unhinted, private"} <= kinds
    kinds = {t.split(" · ")[0] for t in titles(sample_panels(corpus_of("shortcut", tmp_path / "s")))}
    assert kinds == {"unhinted", "unhinted, a wrong step"}


def test_a_corpus_with_neither_says_so(tmp_path):
    with pytest.raises(OrganismError, match="neither transcripts nor documents"):
        sample_panels(tmp_path)
