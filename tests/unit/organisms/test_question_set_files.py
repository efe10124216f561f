"""A question set read from a local file: text that is not UTF-8 is a one-line error naming the file,
the line and the byte (not a UnicodeDecodeError from deep inside pyarrow), and what `datasets` caches
while reading it lives under COT_ORGANISMS_CACHE, not ~/.cache/huggingface/datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app
from organisms.catalog import CATALOG_DIR
from organisms.errors import OrganismError
from organisms.questions import load_question_set
from organisms.spec import DatasetSpec

ROW = {"question": "Which drink is a café au lait?", "choices": ["tea", "coffee", "milk", "water"], "answer": 1}


def latin1_jsonl(path: Path, n: int = 3) -> Path:
    rows = [json.dumps({**ROW, "question": f"{ROW['question']} ({i})"}, ensure_ascii=False) for i in range(n)]
    path.write_bytes("\n".join(rows).encode("latin-1") + b"\n")
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_latin1_question_set_is_a_one_line_error_naming_file_line_and_byte(tmp_path, suffix):
    if suffix == ".jsonl":
        path = latin1_jsonl(tmp_path / "latin1.jsonl")
        line = 1
    else:
        path = tmp_path / "latin1.csv"
        path.write_bytes("question,A,B,C,D,answer\nWhat is 2 + 2?,3,4,5,6,B\nCafé?,a,b,c,d,A\n".encode("latin-1"))
        line = 3
    spec = DatasetSpec(source=str(path), choices=["A", "B", "C", "D"] if suffix == ".csv" else "choices")
    with pytest.raises(OrganismError) as info:
        load_question_set(spec, 4)
    message = str(info.value)
    assert message.startswith(f"task.dataset.source '{path}': not UTF-8 text (line {line}")
    assert "0xe9" in message and "save it as UTF-8" in message and "\n" not in message


def test_the_cli_says_so_in_one_line_with_exit_2_and_writes_nothing(tmp_path):
    source = latin1_jsonl(tmp_path / "latin1.jsonl", n=400)
    data = yaml.safe_load((CATALOG_DIR / "hidden-hint-questions.yaml").read_text())
    data["task"]["dataset"] = {"source": str(source)}
    spec = tmp_path / "latin1.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["docs", str(spec), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "not UTF-8 text (line 1" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_datasets_caches_question_sets_under_the_projects_cache(tmp_path, monkeypatch):
    import datasets

    default = tmp_path / "home" / ".cache" / "huggingface" / "datasets"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", default)
    monkeypatch.delenv("HF_DATASETS_CACHE", raising=False)
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "utf8.jsonl"
    path.write_text(json.dumps(ROW) + "\n")
    assert len(load_question_set(DatasetSpec(source=str(path)), 4).items) == 1
    assert any((tmp_path / "cache" / "datasets").rglob("*.arrow"))
    assert not default.exists()


def test_a_users_own_hf_datasets_cache_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("COT_ORGANISMS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(ROW) + "\n")
    assert len(load_question_set(DatasetSpec(source=str(path)), 4).items) == 1
    assert any((tmp_path / "mine").rglob("*.arrow"))
    assert not (tmp_path / "cache" / "datasets").exists()
