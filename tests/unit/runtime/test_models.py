"""Model resolution (runtime/models.py): unknown models are clear errors."""

from __future__ import annotations

import pytest

from organisms.errors import OrganismError
from runtime.models import resolve_model


def test_unknown_models_are_clear_errors(tmp_path):
    with pytest.raises(OrganismError, match="unknown embedded model"):
        resolve_model("embedded:nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(OrganismError, match=r"has no config\.json"):
        resolve_model(str(tmp_path / "empty"))
