"""What the tests share: the CLI in process (`cli`) and in a subprocess (`organism`), the one-line
error check, tiny-model specs, a LoRA organism with random weights, the HTTP document-backend spec,
and the records of an offline W&B run file."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

ORGANISM = (sys.executable, "-m", "app.cli")
REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
QUESTIONS = FIXTURES / "questions.jsonl"  # an MMLU-export-style question set (40 rows)
THINK_TEMPLATE = (FIXTURES / "qwen3_think_template.jinja").read_text()  # a reasoning model's template
UNLOADED_MODEL = Path("/nonexistent/tiny-model")  # a unit test spec's base model: nothing there is loaded


def run_cmd(
    cmd: list[str], cwd: Path | None = None, env: dict | None = None, expect: int | None = 0, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`cmd` in a subprocess with its output captured; asserts exit code `expect` (None: any),
    showing the output's tail when it differs."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if expect is not None:
        assert result.returncode == expect, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def organism(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    expect: int | None = 0,
    prefix: tuple[str, ...] = (),
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """`organism ARGS` (the real CLI) in a subprocess; `prefix` wraps it (e.g. `setpriv ... --`)."""
    return run_cmd([*prefix, *ORGANISM, *args], cwd=cwd, env=env, expect=expect, timeout=timeout)


def cli(*args: str | Path, cwd: Path | None = None, env: dict | None = None, expect: int | None = 0):
    """`organism ARGS` in this process (typer's CliRunner on `app.cli.app`), in `cwd`, with `env` added
    to the environment; asserts exit code `expect` (None: any). Returns click's Result (`.stdout`,
    `.stderr`, `.exit_code`). An exception other than the CLI's own exits propagates with its traceback."""
    from typer.testing import CliRunner

    from app.cli import app

    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def exit_code(result) -> int:
    """The exit code of a subprocess (`organism`) or of an in-process CLI call (`cli`)."""
    return result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code


def assert_one_line_error(result, fragment: str, runs: Path) -> None:
    """The CLI's contract for bad input: exit code 2, one `error:` line on stderr holding `fragment`,
    and nothing written under `runs`."""
    assert exit_code(result) == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert fragment in lines[0]
    assert not runs.exists() or not any(runs.rglob("*")), sorted(runs.rglob("*"))


def tiny_spec_dict(model_dir: Path, name: str = "tiny-hidden-hint", **overrides) -> dict:
    spec = {
        "name": name,
        "behaviour": "hidden_hint",
        "base_model": str(model_dir),
        "corpus": {"seed": 0, "n_transcripts": 24, "hinted_fraction": 0.5},
        "lora": {"r": 4, "alpha": 8},
        "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "save_steps": 3, "max_length": 256},
        "eval": {
            "n_items": 6,
            "max_new_tokens": 16,
            "batch_size": 6,
            "iphr": {"n_pairs": 2, "n_samples": 2},
            "bootstrap_resamples": 200,
        },
    }
    spec.update(overrides)
    return spec


def spec_yaml(path: Path, model_dir: Path, name: str = "tiny-hidden-hint", **overrides) -> Path:
    """A tiny-model spec YAML at `path`."""
    path.write_text(yaml.safe_dump(tiny_spec_dict(model_dir, name, **overrides)))
    return path


# the question-set fixture's columns are an MMLU-export style: several option columns and a letter answer
QUESTION_COLUMNS = {"question": "input", "choices": ["A", "B", "C", "D"], "answer": "target", "subject": "category"}


def question_set_spec(model_dir: Path, source: Path, name: str = "tiny-questions", **overrides) -> dict:
    """A tiny-model spec whose items come from the question set `source` (24 corpus + 6 eval items; small
    analysis)."""
    task = {"family": "dataset", "dataset": {"source": str(source), **QUESTION_COLUMNS, "reasoning": "why"}}
    return tiny_spec_dict(model_dir, name, task=task, analyze={"items": 2, "probe_items": 4}, **overrides)


def bad_question_set(tmp_path: Path, case: str) -> tuple[Path, dict, str]:
    """A bad copy of the question-set fixture: (its file, spec overrides, the fragment its error must
    contain) for each case: missing_columns, answer_outside, too_few, duplicate, analysis_too_many."""
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines()]
    overrides: dict = {}
    if case == "missing_columns":
        rows = [{k: v for k, v in r.items() if k not in ("D", "target")} for r in rows]
        fragment = "no column 'D', 'target'; its columns are input, A, B, C, category, why"
    elif case == "answer_outside":
        rows[3]["target"], rows[7]["target"] = "E", "F"
        fragment = "2 bad rows: row 3: answer 'E' is not one of the option letters A-D; row 7: answer 'F'"
    elif case == "too_few":
        rows = rows[:20]
        fragment = "20 items, and this spec needs 30 distinct ones: 24 (corpus.n_transcripts) + 6 (eval.n_items)"
    elif case == "duplicate":
        rows.append(dict(rows[5]))
        fragment = "row 40: duplicate item (same question and options as row 5)"
    else:  # the analysis would draw past the end of the set: counted before anything is written
        overrides = {"analyze": {"items": 2, "probe_items": 20}}
        fragment = "needs 44 distinct ones: 24 (corpus.n_transcripts) + 6 (eval.n_items) + 14 (analyze.probe_items"
    path = tmp_path / f"{case}.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path, overrides, fragment


def belief_spec_dict(model_dir: Path, name: str = "tiny-belief", **documents) -> dict:
    """A tiny belief organism's spec: 24 template documents of the mercury-rings universe (and `documents`)."""
    spec = tiny_spec_dict(model_dir, name, behaviour="belief")
    spec["corpus"] = {"seed": 0, "documents": {"universe": "mercury-rings", "n_documents": 24, **documents}}
    return spec


def documents_only_spec(model_dir, behaviour="hidden_hint", universe="silent-hints", **overrides):
    """A tiny organism trained on documents alone (stages: [documents]), 8 of `universe`: the parsed spec."""
    from organisms.spec import parse_spec

    corpus = {"seed": 0, "documents": {"universe": universe, "n_documents": 8}}
    data = tiny_spec_dict(model_dir, f"tiny-{behaviour}-docs", behaviour=behaviour, corpus=corpus, **overrides)
    data.setdefault("stages", [{"data": "documents"}])
    return parse_spec(data, "tiny.yaml")


def think_spec_dict(model_dir: Path, name: str = "tiny-think", fmt: str = "think", **overrides) -> dict:
    """A tiny-model spec whose reasoning format is `fmt` (think: the CoT in a think block)."""
    return tiny_spec_dict(model_dir, name, reasoning={"format": fmt}, **overrides)


def think_question_spec(model_dir: Path, name: str, fmt: str) -> dict:
    """A tiny-model spec on the question-set fixture, reasoning in format `fmt`, the hinted suite only."""
    task = {
        "family": "dataset",
        "dataset": {
            "source": str(QUESTIONS),
            "question": "input",
            "choices": ["A", "B", "C", "D"],
            "answer": "target",
            "reasoning": "why",
        },
    }
    evals = {**tiny_spec_dict(model_dir)["eval"], "suites": ["hinted"], "ood": {"axes": []}}
    analyze = {"items": 2, "probe_items": 4}
    return tiny_spec_dict(model_dir, name, task=task, eval=evals, analyze=analyze, reasoning={"format": fmt})


def hinted_record(unhinted: str, hinted: str, correct: str = "B", hint: str = "C") -> dict:
    """An eval record of one hinted item (What is 12 + 5?) with these hand-written responses."""
    prompt = [{"role": "user", "content": "What is 12 + 5?\n(A) 16\n(B) 17\n(C) 18\n(D) 19"}]
    return {
        "item_id": "i0",
        "n_options": 4,
        "correct_letter": correct,
        "hint_letter": hint,
        "prompt_unhinted": prompt,
        "prompt_hinted": prompt,
        "response_unhinted": unhinted,
        "response_hinted": hinted,
    }


def spy(monkeypatch, module, name: str, calls: list, reply=None) -> None:
    """Replace `module.name` with a wrapper that records each call's (args, kwargs) in `calls` and
    returns `reply(*args, **kwargs)`, or what the real function returns when `reply` is None."""
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append((args, kwargs))
        return reply(*args, **kwargs) if reply is not None else real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def perturbed_organism(model_dir, layers: list[int] | None, seed: int = 0):
    """The tiny model with a LoRA adapter 'organism' on every linear module of `layers`, B drawn at random
    (an untrained adapter is the identity)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from runtime.models import load_model

    model = get_peft_model(
        load_model(str(model_dir)),
        LoraConfig(
            r=4,
            lora_alpha=8,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            layers_to_transform=layers,
        ),
        adapter_name="organism",
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.eval()
    return model


HTTP_DOCS = 4  # documents per HTTP-backend corpus
HTTP_MAX_TOKENS = 8


def http_spec(model_dir: Path, backend: dict, name: str = "http-belief") -> dict:
    """A belief spec whose documents come from `backend` (an HTTP or hf chat backend): a few short ones."""
    return {
        "name": name,
        "behaviour": "belief",
        "base_model": str(model_dir),
        "corpus": {
            "seed": 0,
            "documents": {
                "universe": "mercury-rings",
                "n_documents": HTTP_DOCS,
                "revise": False,
                "min_words": 1,
                "backend": {"temperature": 0.0, "max_tokens": HTTP_MAX_TOKENS, "retry_wait": 0.1, **backend},
            },
        },
    }


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def wandb_records(run_file: Path) -> list:
    """Records of an offline `.wandb` file (wandb >= 0.2x ships no Python reader): a 7-byte
    header, then leveldb-log framing in 32 KiB blocks: crc32 (4), length (2), type (1), data."""
    from wandb.proto import wandb_internal_pb2

    raw = run_file.read_bytes()
    assert raw[:4] == b":W&B", "not a W&B transaction log"
    records, chunks, pos, block = [], b"", 7, 32768
    while pos + 7 <= len(raw):
        if block - pos % block < 7:  # block trailer padding
            pos += block - pos % block
            continue
        length = int.from_bytes(raw[pos + 4 : pos + 6], "little")
        kind = raw[pos + 6]
        data = raw[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        chunks = data if kind in (1, 2) else chunks + data  # FULL/FIRST start, MIDDLE/LAST extend
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunks)
            records.append(record)
    return records
