"""Chat backends (runtime/backends/) without a server: a missing key is a clear error."""

from __future__ import annotations

import pytest

from organisms.errors import OrganismError
from organisms.spec import BackendSpec
from runtime.backends import make_backend


def test_missing_keys_are_clear_errors(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    for name in ("openai", "anthropic"):
        backend = make_backend(BackendSpec(name=name, model="m", cache_dir=tmp_path))
        with pytest.raises(OrganismError, match=f"set {name.upper()}_API_KEY"):
            backend.complete([[{"role": "user", "content": "hi"}]])
