"""On-policy sampling (synth_docs/on_policy.py) killed mid-run and resumed to the same corpus."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import yaml

from organisms.spec import parse_spec
from runtime.backends.cache import ResponseCache
from synth_docs.pool import sample_seed
from synth_docs.stage import docs_to_dir
from synth_docs.transcripts import transcript_prompts
from tests.helpers import ORGANISM
from tests.loopback import OpenAIStub
from tests.scripted_pool import K, build, op_spec, scripted


def test_killed_sampling_resumes_to_the_same_corpus(tiny_model_dir, tmp_path):
    spec = parse_spec(op_spec(tiny_model_dir, "http://x/v1", Path("c")), "script")
    prompts = [p for p, _ in transcript_prompts(spec)]
    table = {(p.user_text(), sample_seed(0, i, j)): scripted(p, j) for i, p in enumerate(prompts) for j in range(K)}
    slow = OpenAIStub(0.15, reply=lambda request: table[request["messages"][-1]["content"], request["seed"]])
    with slow.running() as url:
        clean = build(tmp_path / "clean", tiny_model_dir, url, tmp_path / "clean-cache", editor={"kind": "rules"})
        cache = tmp_path / "cache"
        data = op_spec(tiny_model_dir, url, cache, editor={"kind": "rules"})
        data["corpus"]["on_policy"]["generator"]["max_concurrency"] = 1
        path = tmp_path / "spec.yaml"
        path.write_text(yaml.safe_dump(data))
        args = ["docs", str(path), "--out", str(tmp_path / "out")]
        process = subprocess.Popen(
            [*ORGANISM, *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while len(ResponseCache(cache)) < 4 and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        before = len(ResponseCache(cache))
        assert 0 < before < 8 * K and not (tmp_path / "out").exists()  # killed mid-sampling, nothing written
        stats, _ = docs_to_dir(parse_spec(data, "resume"), tmp_path / "out")
    assert (tmp_path / "out" / "transcripts.jsonl").read_bytes() == (
        tmp_path / "clean" / "op-hidden" / "transcripts.jsonl"
    ).read_bytes()
    api = stats["on_policy"]["api"]
    assert api["cache_hits"] == before and api["fetched"] == 8 * K - before
    assert stats["sha256"] == clean["sha256"]
