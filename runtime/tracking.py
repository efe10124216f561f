"""W&B wiring for training and analysis: the one logging path. Offline when no key is set or the
server cannot be reached; secrets never reach a config.

The Trainer's own WandbCallback logs losses and (token-masked) training arguments; after
training we add the scrubbed spec, a table of sample generations and the organism card; the
analyze stage logs its plots and per-layer scores as a run of its own.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from organisms.cache import cache_root
from organisms.network import connect_error
from organisms.spec import OrganismSpec

SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|auth|credential)", re.IGNORECASE)
REDACTED = "<redacted>"


def report_to(spec: OrganismSpec, disabled: bool = False) -> str:
    """'wandb' when the spec enables it (and --no-wandb is not given), else 'none'."""
    if disabled or not spec.training.wandb.enabled:
        return "none"
    os.environ.setdefault("WANDB_PROJECT", spec.training.wandb.project)
    # W&B's own files (debug logs, artifact staging) go under the project's cache, not ~/.cache/wandb and
    # ~/.local/share/wandb; a run's files go to its run directory (train/stage.py). A user's settings win.
    os.environ.setdefault("WANDB_CACHE_DIR", str(cache_root() / "wandb"))
    os.environ.setdefault("WANDB_DATA_DIR", str(cache_root() / "wandb" / "data"))
    if not os.environ.get("WANDB_API_KEY"):
        os.environ["WANDB_MODE"] = "offline"
    offline_unless_reachable()
    return "wandb"


def offline_unless_reachable(timeout: float = 5.0) -> None:
    """W&B online with no route to its server retries for ~2 minutes, then raises: check the
    server first (a few seconds at most) and log offline instead, saying so."""
    if os.environ.get("WANDB_MODE", "online") not in ("online", "run"):
        return
    url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    if (exc := connect_error(url, timeout)) is not None:
        os.environ["WANDB_MODE"] = "offline"
        print(
            f"W&B: cannot reach {url} ({exc.strerror or exc}); logging offline instead "
            "(the run's wandb/ folder; upload it later with `wandb sync`)",
            file=sys.stderr,
        )


def _secret_values() -> set[str]:
    return {v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6}


def scrub(obj: object, secrets: set[str] | None = None) -> object:
    """Copy of `obj` with secret-named keys and any environment secret value redacted."""
    secrets = _secret_values() if secrets is None else secrets
    if isinstance(obj, dict):
        return {k: REDACTED if SECRET_NAME.search(str(k)) else scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, secrets) for v in obj]
    if isinstance(obj, str):
        for value in secrets:
            obj = obj.replace(value, REDACTED)
    return obj


def log_run_end(spec: OrganismSpec, card: dict, samples: list[dict]) -> None:
    """Spec, sample generations and the card into the active W&B run, then finish it."""
    import wandb

    if wandb.run is None:
        return
    wandb.config.update({"organism_spec": scrub(spec.model_dump(mode="json"))}, allow_val_change=True)
    table = wandb.Table(columns=["prompt", "generation"])
    for sample in samples:
        table.add_data(scrub(sample["prompt"]), scrub(sample["generation"]))
    wandb.log({"samples": table})
    card_table = wandb.Table(columns=["field", "value"])
    for key, value in scrub(card).items():
        if key != "spec":
            card_table.add_data(key, str(value))
    wandb.log({"organism_card": card_table})
    wandb.run.summary.update({f"card/{k}": v for k, v in scrub(card).items() if isinstance(v, (int, float, str))})
    wandb.finish()


def log_analysis(
    spec: OrganismSpec,
    images: list,
    layer_scores: dict[str, list[float]],
    lens_lists: dict,
    run_dir: Path | None = None,
) -> None:
    """The analyze stage's plots (PNG paths), per-layer scores and ADL logit-lens table as one W&B run
    (job_type 'analyze'); offline without a key, spec scrubbed, files under `run_dir/wandb` (as
    training's). `lens_lists` is `adl_baselines.json`: the organism's token list per layer beside the
    same list for each baseline (an equal-norm random adapter, the control) and the tokens they share,
    so a dashboard reader sees noise as noise. Call after `report_to(spec) == 'wandb'`."""
    import wandb

    wandb.init(
        dir=str(run_dir) if run_dir is not None else os.environ.get("WANDB_DIR"),
        project=spec.training.wandb.project,
        name=f"{spec.name}-analysis",
        job_type="analyze",
        config={"organism_spec": scrub(spec.model_dump(mode="json"))},
    )
    wandb.log({f"analysis/{path.stem}": wandb.Image(str(path)) for path in images})
    n_layers = max(len(v) for v in layer_scores.values())
    scores = wandb.Table(columns=["method", *[f"blocks.{layer}" for layer in range(n_layers)]])
    for method, values in layer_scores.items():
        scores.add_data(method, *values)
    labels = list(lens_lists["lists"])
    shared = list(lens_lists.get("shared", {}))
    norms = lens_lists.get("relative_norm", {})
    columns = ["layer"]
    for label in labels:
        columns += [f"{label} relative norm", f"{label} top tokens"]
    lens = wandb.Table(columns=columns + [f"shared with {b}" for b in shared])
    for layer in range(len(lens_lists["lists"]["organism"])):
        cells = [layer]
        for label in labels:
            norm = norms.get(label)
            cells += [None if norm is None else float(norm[layer])]
            cells += [scrub(" | ".join(map(repr, lens_lists["lists"][label][layer])))]
        lens.add_data(*cells, *[scrub(" | ".join(map(repr, lens_lists["shared"][b][layer]))) for b in shared])
    wandb.log({"analysis/layer_scores": scores, "analysis/adl_logit_lens": lens})
    wandb.finish()
