"""Document filters, applied in order: length, key fact stated, near-duplicate (MinHash LSH).

Dedup runs last so that documents rejected for other reasons never block a later one. A
document is a near-duplicate when MinHash estimates its Jaccard similarity to an earlier kept
document (over lowercased word 5-shingles, 128 permutations, fixed seed) at or above the
threshold; LSH proposes candidates and the MinHash estimate confirms them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from organisms.universe import Universe, states_fact

SHINGLE = 5
NUM_PERM = 128
LSH_MAX_THRESHOLD = 0.9  # datasketch needs >= 2 bands; above this LSH proposes, the estimate decides


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str | None  # "length", "no_key_fact", "near_duplicate"
    key_fact_ids: tuple[str, ...]


def words(text: str) -> list[str]:
    return text.split()


def stated_facts(text: str, universe: Universe) -> tuple[str, ...]:
    """Ids of the key facts whose markers all appear in `text`."""
    return tuple(fid for i, fid in enumerate(universe.key_fact_ids) if states_fact(text, universe.markers(i)))


def minhash(text: str) -> MinHash:
    tokens = re.findall(r"\w+", text.lower())
    shingles = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    for shingle in shingles:
        mh.update(shingle.encode())
    return mh


def apply_filters(
    texts: list[str], universe: Universe, min_words: int, max_words: int, threshold: float
) -> list[Verdict]:
    """One verdict per text, in order; earlier texts win near-duplicate ties."""
    lsh = MinHashLSH(threshold=min(threshold, LSH_MAX_THRESHOLD), num_perm=NUM_PERM)
    kept_hashes: dict[str, MinHash] = {}
    verdicts = []
    for index, text in enumerate(texts):
        facts = stated_facts(text, universe)
        n_words = len(words(text))
        if not min_words <= n_words <= max_words:
            verdicts.append(Verdict(False, "length", facts))
            continue
        if not facts:
            verdicts.append(Verdict(False, "no_key_fact", facts))
            continue
        mh = minhash(text)
        if any(kept_hashes[key].jaccard(mh) >= threshold for key in lsh.query(mh)):
            verdicts.append(Verdict(False, "near_duplicate", facts))
            continue
        key = str(index)
        lsh.insert(key, mh)
        kept_hashes[key] = mh
        verdicts.append(Verdict(True, None, facts))
    return verdicts
