"""Run-id compatibility: fields added after specs were first hashed, and the value old specs mean by them.

A run id is the hash of the spec's dump (`OrganismSpec.content_hash`), so a field new to the dump would move
every run directory made before it. Each field below is left out of the whole spec's dump (spec.yaml, the
run id, the stage hashes) while it holds the value a spec written before it means; set to anything else, it
is dumped like any other field. A new field gets a line here unless it may move every existing run."""

from __future__ import annotations

LEFT_OUT_AT: dict[str, object] = {
    "trust_remote_code": False,
    "task.dataset": None,
    "hints.conditions": None,
    "corpus.source": "template",
    "corpus.on_policy": None,
    "corpus.reasoning_style": "contradicts",
    "corpus.documents.min_distinct_3": 0.6,
    "stages": None,
    "eval.decode_rows": 64,
    "eval.engine": "hf",
    "eval.precision": "fp32",
    "eval.served": None,
    "eval.monitors": ["keyword", "consistency", "steps", "llm"],
    "eval.monitor": None,
    "analyze.decision_source": "template",
    "reasoning": {"format": "text", "open": "<think>", "close": "</think>", "field": "reasoning_content"},
}


def leave_out(dumped: dict, section: str) -> dict:
    """The dump of the spec section at `section` ('' for the whole spec), changed in place: without those of
    its fields in LEFT_OUT_AT that hold their old value."""
    for path, old in LEFT_OUT_AT.items():
        parent, _, key = path.rpartition(".")
        if parent == section and key in dumped and dumped[key] == old:
            del dumped[key]
    return dumped
