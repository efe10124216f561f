"""Corpus diversity: the one definition of distinct-n, shared by transcripts and documents stats."""

from __future__ import annotations


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct n-gram ratio: unique word n-grams / all word n-grams (Li et al. 2016)."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        words = text.split()
        grams.extend(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0
