"""Chat backends (runtime/backends/) in process: the Anthropic SDK against a loopback stub, and the hf
backend on the tiny model."""

from __future__ import annotations

import json

import pytest

from organisms.errors import OrganismError
from organisms.spec import BackendSpec, parse_spec
from organisms.universe import load_universe
from runtime.backends import make_backend
from runtime.rundir import RunDir
from synth_docs import prompts
from synth_docs.ideas import DOC_TYPES, plan_ideas
from synth_docs.stage import docs_to_dir, run_docs
from tests.helpers import HTTP_DOCS, files_containing, http_spec
from tests.loopback import AnthropicStub

SECRET = "sk-test-DO-NOT-WRITE-0123456789"


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
        assert (
            run_docs(run, spec)["documents"]["api"]["cache_hits"] == 2 * HTTP_DOCS and len(stub.requests) == n_requests
        )
        # the sync API on the same cache: the pipeline's first draft request is a cache hit, another seed is not
        documents = parse_spec(spec_dict, "again").corpus.documents
        again = make_backend(documents.backend)
        universe = load_universe("mercury-rings")
        idea = plan_ideas(universe, list(DOC_TYPES), HTTP_DOCS, seed=0)[0]
        draft = prompts.draft_messages(universe, idea, documents.min_words, documents.max_words)
        assert again.complete([draft], seeds=[idea.seed]) == [again.complete([draft], seeds=[idea.seed])[0]]
        assert again.usage.cache_hits == 2 and len(stub.requests) == n_requests
        again.complete([draft], seeds=[idea.seed + 100])
        assert again.usage.fetched == 1 and len(stub.requests) == n_requests + 1
        bad = make_backend(BackendSpec(name="anthropic", model="bad-model", base_url=url, cache_dir=tmp_path / "c"))
        with pytest.raises(OrganismError, match="1 of 1 requests failed \\(not retryable\\); first: 404"):
            bad.complete([[{"role": "user", "content": "hi"}]])
    assert n_requests == 2 * 2 * HTTP_DOCS  # drafts + revisions, each 529 once then answered
    headers, body = stub.requests[0]
    sent_key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    assert sent_key == SECRET and headers["anthropic-version"]  # SDK 2.14 sends the key as a bearer token
    assert "mercury" in body["system"].lower() and all(m["role"] != "system" for m in body["messages"])
    assert body["max_tokens"] == 300 and "temperature" not in body  # the installed SDK takes none
    documents = stats["documents"]
    assert documents["n_documents"] == HTTP_DOCS and documents["revise_fallbacks"] == 0
    assert documents["api"]["retry_reasons"] == {"529": 2 * HTTP_DOCS}
    assert files_containing(tmp_path, SECRET) == []


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
    assert len(rejected) == HTTP_DOCS and {r["reason"] for r in rejected} <= {
        "length",
        "prompt_echo",
        "repetitive",
        "no_key_fact",
    }
    assert stats["documents"]["api"]["fetched"] == HTTP_DOCS and stats["documents"]["model"] == str(tiny_model_dir)


def test_hf_backend_caches_by_the_models_content_not_its_path(tmp_path, tiny_model_dir):
    """Other weights at the same path never get the first model's cached responses; the same weights at
    another path do (issue 31: caches keyed by content)."""
    import shutil

    spec = BackendSpec(name="hf", max_tokens=6, batch_size=2, cache_dir=tmp_path / "cache")
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    conversation = [[{"role": "user", "content": "Say one"}]]
    first = make_backend(spec, default_model=str(model))
    first.complete(conversation)
    same_weights_elsewhere = tmp_path / "elsewhere"
    shutil.copytree(model, same_weights_elsewhere)
    again = make_backend(spec, default_model=str(same_weights_elsewhere))
    again.complete(conversation)
    assert again.usage.cache_hits == 1 and again.cache_identity == first.cache_identity
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # other weights, same path
    weights.write_bytes(bytes(data))
    changed = make_backend(spec, default_model=str(model))
    changed.complete(conversation)
    assert changed.usage.cache_hits == 0 and changed.usage.fetched == 1
    assert changed.cache_identity != first.cache_identity and str(model) not in changed.cache_identity
