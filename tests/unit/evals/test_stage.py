"""The eval stage (evals/stage.py): only think-format evals carry the think metrics version."""

from __future__ import annotations

from organisms.spec import parse_spec
from tests.helpers import UNLOADED_MODEL, think_spec_dict, tiny_spec_dict


def test_only_think_format_evals_carry_the_think_metrics_version():
    from evals.stage import THINK_METRICS_VERSION, think_version

    assert think_version(parse_spec(tiny_spec_dict(UNLOADED_MODEL), "test")) == {}  # text-format hashes as before
    spec = parse_spec(think_spec_dict(UNLOADED_MODEL, fmt="template"), "test")
    assert think_version(spec) == {"think_metrics_version": THINK_METRICS_VERSION}
