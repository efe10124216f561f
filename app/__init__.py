"""The composition root: the pipeline (build, evaluate, analyze, seeds) and the `organism` CLI over it."""
