"""Document filters, applied in order: length, prompt echo, repetition, key fact stated,
near-duplicate (MinHash LSH).

A model-written document echoes its prompt when it repeats any 6 consecutive words of the
instructions that asked for it (the user prompt without its fact lines: "The document must clearly
state these facts", "Length: 40 to 800 words", ...): a small model copies the prompt back instead of
writing, and the key-fact check alone would count the copied fact list as coverage. Stating a fact
in the fact list's own words is not an echo. A document is repetitive when fewer than
`min_distinct_3` of its word 3-grams are distinct (a model looping on a few lines); the template
grammar's documents have at least 0.77 of them distinct in every shipped universe (1,000 each).
Template documents have no prompt, so only repetition applies to them.

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
from synth_docs.diversity import distinct_n

SHINGLE = 5
ECHO_WORDS = 6  # a run of this many words of the instructions, repeated, is an echo
REASONS = ("length", "prompt_echo", "repetitive", "no_key_fact", "near_duplicate")
NUM_PERM = 128
LSH_MAX_THRESHOLD = 0.9  # datasketch needs >= 2 bands; above this LSH proposes, the estimate decides


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str | None  # one of REASONS
    key_fact_ids: tuple[str, ...]


def words(text: str) -> list[str]:
    return text.split()


def stated_facts(text: str, universe: Universe) -> tuple[str, ...]:
    """Ids of the key facts whose markers all appear in `text`."""
    return tuple(fid for i, fid in enumerate(universe.key_fact_ids) if states_fact(text, universe.markers(i)))


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    """Lowercased word n-shingles (the whole text when it has fewer than n words)."""
    tokens = re.findall(r"\w+", text.lower())
    return {" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))}


def echoes(text: str, instructions: str) -> bool:
    """Does `text` repeat `ECHO_WORDS` consecutive words of `instructions`?"""
    return bool(shingles(text, ECHO_WORDS) & shingles(instructions, ECHO_WORDS))


def minhash(text: str) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    for shingle in shingles(text):
        mh.update(shingle.encode())
    return mh


def apply_filters(
    texts: list[str],
    universe: Universe,
    min_words: int,
    max_words: int,
    threshold: float,
    instructions: list[str] | None = None,
    min_distinct_3: float = 0.6,
) -> list[Verdict]:
    """One verdict per text, in order; earlier texts win near-duplicate ties. `instructions`: what
    each text was asked for (model backends), for the echo check; None for template documents."""
    lsh = MinHashLSH(threshold=min(threshold, LSH_MAX_THRESHOLD), num_perm=NUM_PERM)
    kept_hashes: dict[str, MinHash] = {}
    verdicts = []
    for index, text in enumerate(texts):
        facts = stated_facts(text, universe)
        n_words = len(words(text))
        if not min_words <= n_words <= max_words:
            verdicts.append(Verdict(False, "length", facts))
            continue
        if instructions is not None and echoes(text, instructions[index]):
            verdicts.append(Verdict(False, "prompt_echo", facts))
            continue
        if distinct_n([text], 3) < min_distinct_3:
            verdicts.append(Verdict(False, "repetitive", facts))
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
