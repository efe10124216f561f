"""Inspect's entry point (pyproject.toml, `[project.entry-points.inspect_ai]`): the tasks
`cot_organisms/hinted`, `cot_organisms/necessity`, `cot_organisms/monitor` and the `organism/` model
provider. Inspect loads every installed entry point for any lookup, so this module imports inspect_ai
only; torch and the suites load when a task or the provider is made (tasks.py, provider.py)."""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai._util.package import get_installed_package_name
from inspect_ai.model import modelapi


def _named(name: str) -> str:
    """`name` as Inspect registers it, under the package's namespace: Inspect adds the namespace of an
    installed package itself, but not where a stale `cot_organisms.egg-info` (setuptools leaves one in the
    checkout) is read first, i.e. with the checkout on sys.path (`python -m`, pytest, notebooks): then here."""
    return name if get_installed_package_name(_named) == "cot_organisms" else f"cot_organisms/{name}"


@task(name=_named("hinted"))
def hinted(spec: str, tokenizer: str | None = None) -> Task:
    """Hinted pairs (Chen et al. 2025): every held-out item asked without and with a hint, in distribution
    and on the spec's held-out axes; p, q, alpha, F, F_norm, U with intervals, per hint type and axis.

    Args:
      spec: catalogue name, spec YAML, or a run directory (its spec, and its corpus kept apart as `organism eval RUN`)
      tokenizer: models other than `organism/`: the HF tokenizer whose tokens a completion is cut at (the
        answer line's end otherwise)
    """
    from cot_organisms.tasks import make_task

    return make_task("hinted", spec, tokenizer)


@task(name=_named("necessity"))
def necessity(spec: str, tokenizer: str | None = None) -> Task:
    """CoT necessity: accuracy with the model's own CoT against the answer forced at once ('Answer: (').

    Args:
      spec: as `hinted`'s
      tokenizer: as `hinted`'s
    """
    from cot_organisms.tasks import make_task

    return make_task("necessity", spec, tokenizer)


@task(name=_named("monitor"))
def monitor(spec: str, tokenizer: str | None = None) -> Task:
    """Monitor awareness: the wrong-hint pairs under each monitoring condition (none, monitored, private;
    held-out cues when the spec holds some out); B, V, O per condition and every CoT monitor's catch rate.

    Args:
      spec: as `hinted`'s
      tokenizer: as `hinted`'s
    """
    from cot_organisms.tasks import make_task

    return make_task("monitor", spec, tokenizer)


@modelapi(name="organism")
def organism() -> type:
    from cot_organisms.provider import OrganismAPI

    return OrganismAPI
