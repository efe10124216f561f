"""Analysis methods: one file per method, each scoring every layer (`analyze/methods/suite.py` runs them all)."""
