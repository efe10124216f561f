"""HTTP backends against `transformers serve` on loopback (runtime/backends/): the corpus of a real server,
a killed run resumed, faults from a proxy retried.

The served model is the tiny random Llama with its weights redrawn at a larger scale, so that
greedy outputs differ from prompt to prompt (the stock tiny model answers every prompt with
the same newlines, which would make "same corpus" checks vacuous) while a request still takes
about a second on this CPU. Its text states no key fact, so every document lands in
rejected_documents.jsonl; the corpus comparisons cover both files. The embedded model on the
same server is exercised by bench/http_throughput.py."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from organisms.spec import parse_spec
from runtime.backends.cache import ResponseCache
from runtime.models import load_model, load_tokenizer
from synth_docs.stage import docs_to_dir
from tests.helpers import HTTP_DOCS, HTTP_MAX_TOKENS, ORGANISM, cli, files_containing, http_spec
from tests.loopback import FaultProxy, transformers_serve

SECRET = "sk-test-DO-NOT-WRITE-0123456789"


CORPUS_FILES = ("documents.jsonl", "rejected_documents.jsonl")


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_model_dir) -> dict:
    """A prompt-sensitive tiny model behind `transformers serve` on a free loopback port."""
    model_dir = tmp_path_factory.mktemp("noisy-tiny")
    model = load_model(str(tiny_model_dir))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2:
                param.copy_(torch.randn(param.shape, generator=generator) * (0.5 if "embed" in name else 0.3))
    model.save_pretrained(model_dir)
    load_tokenizer(str(tiny_model_dir)).save_pretrained(model_dir)
    with transformers_serve(str(model_dir), model_dir / "serve.log") as base_url:
        yield {"base_url": base_url, "model": str(model_dir)}


@pytest.fixture(scope="module")
def clean_corpus(served, tmp_path_factory, tiny_model_dir) -> Path:
    """An uninterrupted `organism docs` run with the openai backend (the CLI in process), key in the environment."""
    root = tmp_path_factory.mktemp("clean")
    backend = {"name": "openai", "model": served["model"], "base_url": served["base_url"], "cache_dir": str(root / "c")}
    backend |= {"max_concurrency": 2, "price_per_1k_input": 0.5, "price_per_1k_output": 1.5}
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(http_spec(tiny_model_dir, backend)))
    cli("docs", spec, "--out", root / "out", cwd=root, env={"OPENAI_API_KEY": SECRET})
    return root


def test_openai_backend_on_transformers_serve(clean_corpus):
    out = clean_corpus / "out"
    stats = json.loads((out / "stats.json").read_text())["documents"]
    records = [json.loads(line) for f in CORPUS_FILES for line in (out / f).read_text().splitlines()]
    assert len(records) == HTTP_DOCS == stats["n_planned"]
    assert sorted(r["id"] for r in records) == [f"mercury-rings-{i:05d}" for i in range(HTTP_DOCS)]
    assert all(r["backend"] == "openai" for r in records)
    assert len({r["text"] for r in records}) == HTTP_DOCS and all(
        r["text"].strip() for r in records
    )  # real generations
    api = stats["api"]
    assert (api["requests"], api["fetched"], api["cache_hits"]) == (HTTP_DOCS, HTTP_DOCS, 0)
    assert 0 < api["completion_tokens"] <= HTTP_DOCS * HTTP_MAX_TOKENS and api["prompt_tokens"] > HTTP_DOCS * 100
    expected = api["prompt_tokens"] / 1000 * 0.5 + api["completion_tokens"] / 1000 * 1.5
    assert api["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert len(ResponseCache(clean_corpus / "c")) == HTTP_DOCS
    assert files_containing(clean_corpus, SECRET) == []


def test_killed_run_resumes_to_the_same_bytes(served, clean_corpus, tmp_path, tiny_model_dir):
    cache = tmp_path / "cache"
    backend = {"name": "openai", "model": served["model"], "base_url": served["base_url"], "cache_dir": str(cache)}
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(http_spec(tiny_model_dir, {**backend, "max_concurrency": 1})))
    args = ["docs", str(spec), "--out", str(tmp_path / "out")]
    process = subprocess.Popen([*ORGANISM, *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(ResponseCache(cache)) == 0 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before_kill = len(ResponseCache(cache))
    assert 0 < done_before_kill < HTTP_DOCS  # killed mid-run
    assert not (tmp_path / "out").exists()  # nothing half-written where the corpus goes

    cli(*args, cwd=tmp_path)
    for name in CORPUS_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (clean_corpus / "out" / name).read_bytes()
    api = json.loads((tmp_path / "out" / "stats.json").read_text())["documents"]["api"]
    assert api["cache_hits"] == done_before_kill and api["fetched"] == HTTP_DOCS - done_before_kill
    assert len(ResponseCache(cache)) == HTTP_DOCS and not list(tmp_path.glob(".out.staging-*"))


def test_faults_are_retried_to_the_same_corpus(served, clean_corpus, tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    timeout = 10.0
    proxy = FaultProxy(served["base_url"], hold_s=timeout + 2)
    with proxy.running() as proxy_url:
        backend = {"name": "openai", "model": served["model"], "base_url": proxy_url, "timeout": timeout}
        backend |= {"cache_dir": str(tmp_path / "cache"), "max_concurrency": 4}
        spec = parse_spec(http_spec(tiny_model_dir, backend), "fault test")
        stats, _ = docs_to_dir(spec, tmp_path / "out")
    for name in CORPUS_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (clean_corpus / "out" / name).read_bytes()
    assert proxy.injected == {"429": 1, "500": 1, "timeout": 1, "malformed": 1}
    api = stats["documents"]["api"]
    assert api["retries"] >= HTTP_DOCS and {"429", "500", "APITimeoutError", "MalformedResponse"} <= set(
        api["retry_reasons"]
    )
    assert proxy.authorization == {f"Bearer {SECRET}"}  # the key was sent...
    assert files_containing(tmp_path, SECRET) == []  # ...and written nowhere
