"""HTTP and local backends against real components: `transformers serve` on loopback, a
fault-injecting proxy in front of it, a subprocess killed mid-run and resumed, an Anthropic
Messages stub (the SDK is real, the server is not), and the hf backend on the tiny model.

The served model is the tiny random Llama with its weights redrawn at a larger scale, so that
greedy outputs differ from prompt to prompt (the stock tiny model answers every prompt with
the same newlines, which would make "same corpus" checks vacuous) while a request still takes
about a second on this CPU. Its text states no key fact, so every document lands in
rejected_documents.jsonl; the corpus comparisons cover both files. The embedded model on the
same server is exercised by bench/http_throughput.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from organisms.errors import OrganismError
from organisms.spec import BackendSpec, parse_spec
from organisms.universe import load_universe
from runtime.backends import make_backend
from runtime.backends.cache import ResponseCache
from runtime.models import load_model, load_tokenizer
from runtime.rundir import RunDir
from synth_docs import prompts
from synth_docs.ideas import DOC_TYPES, plan_ideas
from synth_docs.stage import docs_to_dir, run_docs
from tests.helpers import ORGANISM, organism
from tests.loopback import AnthropicStub, FaultProxy, transformers_serve

SECRET = "sk-test-DO-NOT-WRITE-0123456789"
N_DOCS = 4
MAX_TOKENS = 8
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


def http_spec(model_dir: Path, backend: dict, name: str = "http-belief") -> dict:
    return {
        "name": name,
        "behaviour": "belief",
        "base_model": str(model_dir),
        "corpus": {
            "seed": 0,
            "documents": {
                "universe": "mercury-rings",
                "n_documents": N_DOCS,
                "revise": False,
                "min_words": 1,
                "backend": {"temperature": 0.0, "max_tokens": MAX_TOKENS, "retry_wait": 0.1, **backend},
            },
        },
    }


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.fixture(scope="module")
def clean_corpus(served, tmp_path_factory, tiny_model_dir) -> Path:
    """An uninterrupted `organism docs --backend openai` run through the CLI, key in the environment."""
    root = tmp_path_factory.mktemp("clean")
    backend = {"name": "openai", "model": served["model"], "base_url": served["base_url"], "cache_dir": str(root / "c")}
    backend |= {"max_concurrency": 2, "price_per_1k_input": 0.5, "price_per_1k_output": 1.5}
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(http_spec(tiny_model_dir, backend)))
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    organism("docs", str(spec), "--out", str(root / "out"), cwd=root, env=env, timeout=600)
    return root


def test_openai_backend_on_transformers_serve(clean_corpus):
    out = clean_corpus / "out"
    stats = json.loads((out / "stats.json").read_text())["documents"]
    records = [json.loads(line) for f in CORPUS_FILES for line in (out / f).read_text().splitlines()]
    assert len(records) == N_DOCS == stats["n_planned"]
    assert sorted(r["id"] for r in records) == [f"mercury-rings-{i:05d}" for i in range(N_DOCS)]
    assert all(r["backend"] == "openai" for r in records)
    assert len({r["text"] for r in records}) == N_DOCS and all(r["text"].strip() for r in records)  # real generations
    api = stats["api"]
    assert (api["requests"], api["fetched"], api["cache_hits"]) == (N_DOCS, N_DOCS, 0)
    assert 0 < api["completion_tokens"] <= N_DOCS * MAX_TOKENS and api["prompt_tokens"] > N_DOCS * 100
    expected = api["prompt_tokens"] / 1000 * 0.5 + api["completion_tokens"] / 1000 * 1.5
    assert api["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert len(ResponseCache(clean_corpus / "c")) == N_DOCS
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
    assert 0 < done_before_kill < N_DOCS  # killed mid-run
    assert not (tmp_path / "out").exists()  # nothing half-written where the corpus goes

    organism(*args, cwd=tmp_path, timeout=600)
    for name in CORPUS_FILES:
        assert (tmp_path / "out" / name).read_bytes() == (clean_corpus / "out" / name).read_bytes()
    api = json.loads((tmp_path / "out" / "stats.json").read_text())["documents"]["api"]
    assert api["cache_hits"] == done_before_kill and api["fetched"] == N_DOCS - done_before_kill
    assert len(ResponseCache(cache)) == N_DOCS and not list(tmp_path.glob(".out.staging-*"))


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
    assert api["retries"] >= N_DOCS and {"429", "500", "APITimeoutError", "MalformedResponse"} <= set(
        api["retry_reasons"]
    )
    assert proxy.authorization == {f"Bearer {SECRET}"}  # the key was sent...
    assert files_containing(tmp_path, SECRET) == []  # ...and written nowhere


def test_anthropic_sdk_against_a_loopback_stub(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    stub = AnthropicStub()
    with stub.running() as url:
        backend = {"name": "anthropic", "model": "claude-test", "base_url": url, "cache_dir": str(tmp_path / "c")}
        spec_dict = http_spec(tiny_model_dir, {**backend, "max_tokens": 300})
        spec_dict["corpus"]["documents"]["revise"] = True
        spec = parse_spec(spec_dict, "anthropic test")
        stats, _ = docs_to_dir(spec, tmp_path / "out")
        n_requests = len(stub.requests)
        run = RunDir.for_spec(tmp_path / "runs", spec)  # the run-directory path too: manifest, spec.yaml
        run.initialise(spec)
        assert run_docs(run, spec)["documents"]["api"]["cache_hits"] == 2 * N_DOCS and len(stub.requests) == n_requests
        # the sync API on the same cache: the pipeline's first draft request is a cache hit, another seed is not
        documents = parse_spec(spec_dict, "again").corpus.documents
        again = make_backend(documents.backend)
        universe = load_universe("mercury-rings")
        idea = plan_ideas(universe, list(DOC_TYPES), N_DOCS, seed=0)[0]
        draft = prompts.draft_messages(universe, idea, documents.min_words, documents.max_words)
        assert again.complete([draft], seeds=[idea.seed]) == [again.complete([draft], seeds=[idea.seed])[0]]
        assert again.usage.cache_hits == 2 and len(stub.requests) == n_requests
        again.complete([draft], seeds=[idea.seed + 100])
        assert again.usage.fetched == 1 and len(stub.requests) == n_requests + 1
        bad = make_backend(BackendSpec(name="anthropic", model="bad-model", base_url=url, cache_dir=tmp_path / "c"))
        with pytest.raises(OrganismError, match="1 of 1 requests failed \\(not retryable\\); first: 404"):
            bad.complete([[{"role": "user", "content": "hi"}]])
    assert n_requests == 2 * 2 * N_DOCS  # drafts + revisions, each 529 once then answered
    headers, body = stub.requests[0]
    sent_key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    assert sent_key == SECRET and headers["anthropic-version"]  # SDK 2.14 sends the key as a bearer token
    assert "mercury" in body["system"].lower() and all(m["role"] != "system" for m in body["messages"])
    assert body["max_tokens"] == 300 and "temperature" not in body  # the installed SDK takes none
    documents = stats["documents"]
    assert documents["n_documents"] == N_DOCS and documents["revise_fallbacks"] == 0
    assert documents["api"]["retry_reasons"] == {"529": 2 * N_DOCS}
    assert files_containing(tmp_path, SECRET) == []


def test_missing_keys_are_clear_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    for name in ("openai", "anthropic"):
        backend = make_backend(BackendSpec(name=name, model="m", cache_dir=tmp_path))
        with pytest.raises(OrganismError, match=f"set {name.upper()}_API_KEY"):
            backend.complete([[{"role": "user", "content": "hi"}]])


def test_hf_backend_batches_and_caches(tmp_path, tiny_model_dir):
    spec = BackendSpec(name="hf", max_tokens=6, batch_size=2, cache_dir=tmp_path)
    backend = make_backend(spec, default_model=str(tiny_model_dir))
    conversations = [[{"role": "user", "content": f"Say {w}"}] for w in ("one", "two", "three")]
    texts = backend.complete(conversations, seeds=[1, 2, 3])
    assert len(texts) == 3 and backend.usage.fetched == 3 and backend.usage.prompt_tokens > 3 * 5
    assert backend.complete(conversations, seeds=[1, 2, 3]) == texts and backend.usage.cache_hits == 3
    # through the pipeline: the random tiny model states no key fact, so every draft is rejected, with its reason
    data = http_spec(tiny_model_dir, {"name": "hf", "max_tokens": 6, "cache_dir": str(tmp_path)})
    stats, _ = docs_to_dir(parse_spec(data, "hf test"), tmp_path / "out")
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected_documents.jsonl").read_text().splitlines()]
    assert len(rejected) == N_DOCS and {r["reason"] for r in rejected} <= {
        "length",
        "prompt_echo",
        "repetitive",
        "no_key_fact",
    }
    assert stats["documents"]["api"]["fetched"] == N_DOCS and stats["documents"]["model"] == str(tiny_model_dir)
