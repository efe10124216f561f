"""Corpus building: procedural tasks, hints, behavioural transcripts, synthetic documents
(universes, ideas, backends, filters) and corpus statistics."""
