"""Corpus building: procedural tasks, hints, behavioural transcripts and corpus statistics."""
