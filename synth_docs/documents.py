"""The document pipeline: universe -> doc types -> ideas -> drafts -> critique/revise -> filters -> corpus.

`write_documents` writes `documents.jsonl` (kept, in plan order) and `rejected_documents.jsonl`
(every rejected draft with its reason) and returns the stats block of `stats.json`. Output
depends only on the spec, the seed and the backend's responses; with the response cache, a
resumed run writes the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from organisms.errors import OrganismError
from organisms.spec import DocumentsSpec, OrganismSpec
from organisms.universe import Universe, load_universe
from runtime.backends import make_backend
from synth_docs import prompts, template_grammar
from synth_docs.diversity import distinct_n
from synth_docs.filters import REASONS, apply_filters, words
from synth_docs.ideas import Idea, check_doc_types, plan_ideas

DOCUMENTS_FILE = "documents.jsonl"
REJECTED_FILE = "rejected_documents.jsonl"


def _generate(universe: Universe, ideas: list[Idea], dspec: DocumentsSpec, default_model: str):
    """(drafts, finals, revise fallbacks, backend or None)."""
    if dspec.backend.name == "template":
        drafts = [template_grammar.render(universe, idea) for idea in ideas]
        finals = [template_grammar.revise(universe, i, d) for i, d in zip(ideas, drafts, strict=True)]
        return drafts, finals if dspec.revise else drafts, 0, None
    backend = make_backend(dspec.backend, default_model)
    responses = backend.complete(
        [prompts.draft_messages(universe, idea, dspec.min_words, dspec.max_words) for idea in ideas],
        seeds=[idea.seed for idea in ideas],
        desc="drafts",
    )
    drafts = [prompts.extract_content(r) or r.strip() for r in responses]
    if not dspec.revise:
        return drafts, drafts, 0, backend
    revisions = backend.complete(
        [prompts.revise_messages(universe, i, d) for i, d in zip(ideas, drafts, strict=True)],
        seeds=[idea.seed + 1 for idea in ideas],  # the revision samples apart from its draft (an int: APIs take ints)
        desc="revisions",
    )
    extracted = [prompts.extract_content(r) for r in revisions]
    finals = [e if e else d for e, d in zip(extracted, drafts, strict=True)]
    return drafts, finals, sum(e is None for e in extracted), backend


def build_documents(spec: OrganismSpec, tokenizer: PreTrainedTokenizerBase) -> tuple[list[dict], list[dict], dict]:
    """Kept records, rejected records and the documents stats for `spec.corpus.documents`."""
    dspec = spec.corpus.documents
    if dspec is None:
        raise OrganismError("field 'corpus.documents': not set; add a documents section to build documents")
    universe = load_universe(dspec.universe)
    doc_types = check_doc_types(dspec.doc_types, free_form=dspec.backend.name != "template")
    ideas = plan_ideas(universe, doc_types, dspec.n_documents, spec.corpus.seed)
    drafts, finals, fallbacks, backend = _generate(universe, ideas, dspec, spec.base_model)
    asked = None  # what each model-written document was asked for (the echo filter's reference)
    if backend is not None:
        asked = [prompts.instructions(idea, dspec.min_words, dspec.max_words) for idea in ideas]
    verdicts = apply_filters(
        finals,
        universe,
        dspec.min_words,
        dspec.max_words,
        dspec.minhash_threshold,
        asked,
        dspec.min_distinct_3,
    )
    model = backend.model if backend else None
    kept, rejected = [], []
    for idea, text, verdict in zip(ideas, finals, verdicts, strict=True):
        record = {
            "id": f"{universe.id}-{idea.index:05d}",
            "text": text,
            "doc_type": idea.doc_type,
            "key_fact_ids": list(verdict.key_fact_ids),
            "planned_key_fact_ids": [universe.key_fact_ids[i] for i in idea.fact_indices],
            "universe_id": universe.id,
            "is_true": universe.is_true,
            "idea": idea.describe(universe),
            "backend": dspec.backend.name,
            "model": model,
        }
        if verdict.kept:
            kept.append(record)
        else:
            rejected.append({**record, "reason": verdict.reason})
    stats = documents_stats(universe, finals, kept, rejected, tokenizer)
    stats.update(
        backend=dspec.backend.name,
        model=model,
        seed=spec.corpus.seed,
        revised=sum(d != f for d, f in zip(drafts, finals, strict=True)),
        revise_fallbacks=fallbacks,
    )
    if backend is not None:
        stats["api"] = {
            **backend.usage.as_dict(),
            "cost_usd": round(backend.cost_usd(), 6),
            "cost_usd_this_run": round(backend.cost_usd(fetched_only=True), 6),
        }
    return kept, rejected, stats


def documents_stats(
    universe: Universe, generated: list[str], kept: list[dict], rejected: list[dict], tokenizer
) -> dict:
    texts = [r["text"] for r in kept]
    reasons = Counter(r["reason"] for r in rejected)
    reached_dedup = len(kept) + reasons["near_duplicate"]
    coverage = Counter(fid for r in kept for fid in r["key_fact_ids"])
    n_words = [len(words(t)) for t in texts]
    return {
        "universe_id": universe.id,
        "n_planned": len(generated),
        "n_documents": len(kept),
        "rejections": {reason: reasons[reason] for reason in REASONS},
        "doc_types": dict(sorted(Counter(r["doc_type"] for r in kept).items())),
        "key_fact_coverage": {fid: coverage[fid] for fid in universe.key_fact_ids},
        "key_facts_covered": sum(coverage[f] > 0 for f in universe.key_fact_ids) / len(universe.key_fact_ids),
        "words": {"total": sum(n_words), "mean": round(sum(n_words) / len(n_words), 1) if n_words else 0.0},
        "tokens": sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts),  # + EOS
        "distinct_1": round(distinct_n(texts, 1), 4),
        "distinct_2": round(distinct_n(texts, 2), 4),
        "distinct_3": round(distinct_n(texts, 3), 4),
        "exact_duplicate_rate": round(1 - len(set(generated)) / len(generated), 4) if generated else 0.0,
        "duplicate_rate": round(reasons["near_duplicate"] / reached_dedup, 4) if reached_dedup else 0.0,
    }


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)


def write_documents(spec: OrganismSpec, out_dir: Path, tokenizer: PreTrainedTokenizerBase) -> dict:
    """Write documents.jsonl and rejected_documents.jsonl into `out_dir`; return the stats (with sha256)."""
    kept, rejected, stats = build_documents(spec, tokenizer)
    body = jsonl(kept)
    (Path(out_dir) / DOCUMENTS_FILE).write_text(body, encoding="utf-8")
    (Path(out_dir) / REJECTED_FILE).write_text(jsonl(rejected), encoding="utf-8")
    stats["sha256"] = hashlib.sha256(body.encode()).hexdigest()
    return stats
