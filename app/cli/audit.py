"""The audit commands: `audit` (the ladder on organism and control, or `--blind` on a bare adapter) and `remove`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import pipeline
from app.cli.common import RunsDir, user_errors
from app.console import console, log
from organisms.errors import OrganismError


@user_errors
def audit(
    target: Annotated[
        str, typer.Argument(help="the organism's run directory (after `organism run`); with --blind a peft adapter dir")
    ],
    control: Annotated[
        str | None, typer.Option(help="its matched control: run dir, catalogue name or spec (trained)")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    blind: Annotated[
        bool, typer.Option("--blind", help="TARGET is a bare adapter: rank behaviour, hint and condition hypotheses")
    ] = False,
    base: Annotated[str | None, typer.Option(help="--blind: base model (default: adapter_config.json's)")] = None,
    out: Annotated[Path | None, typer.Option(help="--blind: output dir (default: <adapter>-blind-audit)")] = None,
    items: Annotated[int, typer.Option(help="--blind: probe items (each asked with every hint type)")] = 16,
    max_new_tokens: Annotated[int, typer.Option(help="--blind: tokens per answer")] = 96,
    batch_size: Annotated[int, typer.Option(help="--blind: generation batch size")] = 16,
    family: Annotated[
        str,
        typer.Option(help="--blind: the probe items: all (chains, word problems, question set), or one of them"),
    ] = "all",
) -> None:
    """The audit ladder on organism and control: prompting, reading the CoT, prefill, steering, probes,
    patching, weight deltas; per rung the scores, their difference and whether it exposes the behaviour.
    Writes audit.json, audit.md and audit_responses.jsonl into the run directory (docs/audit.md).
    With --blind: the adapter's weights and config only, no spec; writes blind_audit.json / .md."""
    if blind:
        from analyze.blind.audit import run_blind_audit
        from analyze.blind.table import rich_blind

        if control is not None:
            raise OrganismError("--blind audits one adapter alone; drop --control")
        if items < 2:
            raise OrganismError(f"--items {items}: need at least 2")
        adapter = Path(target)
        out_dir = out or adapter.with_name(f"{adapter.name}-blind-audit")
        result = run_blind_audit(adapter, out_dir, base, items, max_new_tokens, batch_size, family, log=log)
        console.print(rich_blind(result))
        log(f"blind audit: {out_dir / 'blind_audit.md'} ({result['seconds']}s)")
        return
    from analyze.audit.ladder import run_audit
    from analyze.audit.table import rich_audit

    if control is None:
        raise OrganismError("the audit ladder needs --control (its matched control); or pass --blind ADAPTER_DIR")
    if base or out:
        raise OrganismError("--base and --out apply with --blind")
    run, spec = pipeline.open_target(target, runs_dir)
    control_run = pipeline.open_control(control, runs_dir)
    with run.claim():
        result = run_audit(run, spec, control_run, log=log)
    console.print(rich_audit(result))
    log(f"audit: {run.root / 'audit.md'}")


@user_errors
def remove(
    target: Annotated[str, typer.Argument(help="the organism's run directory (after `organism run`)")],
    control: Annotated[
        str | None, typer.Option(help="matched control (run dir): the direction is organism - control, else - base")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    scales: Annotated[str, typer.Option(help="comma-separated steering scales; 0 (unsteered) is always added")] = (
        "1,2,4"
    ),
    layer: Annotated[int | None, typer.Option(help="default: where the analysis's steering score peaks")] = None,
    null_directions: Annotated[
        int,
        typer.Option(help="random directions of the same norm in the null (0: none); resumed from removal_null.jsonl"),
    ] = 100,
    null_seed: Annotated[int, typer.Option(help="seed of the null's random directions")] = 0,
    null_scale: Annotated[
        float | None,
        typer.Option(help="scale the real direction is reported and the null run at (default: the largest)"),
    ] = None,
    both_ways: Annotated[
        bool, typer.Option("--both-ways/--one-way", help="also add the direction to the control (base without one)")
    ] = True,
) -> None:
    """Steer the organism against its organism-minus-control direction (fitted on items disjoint from the
    scored ones), and project that direction out of every layer: does hint use (U) drop or the
    verbalization return, at what cost in no-hint accuracy and neutral perplexity, and where does the drop
    fall among N random directions matched on norm and on perplexity cost? With --both-ways the direction
    is also added to the control. Writes removal.json / .md (and removal_null.jsonl)."""
    from analyze.audit.removal import COLUMNS, NULL_COLUMNS, null_rows, removal_rows, run_remove
    from evals.render import rich_table

    try:
        values = [float(v) for v in scales.split(",") if v.strip()]
    except ValueError:
        raise OrganismError(f"--scales {scales!r}: comma-separated numbers, e.g. 1,2,4") from None
    if not values:
        raise OrganismError("--scales: give at least one scale, e.g. 1,2,4")
    if null_directions < 0:
        raise OrganismError(f"--null-directions {null_directions}: give 0 or more")
    run, spec = pipeline.open_target(target, runs_dir)
    if spec.behaviour == "shortcut" or not spec.has_decision:
        raise OrganismError(f"{spec.name}: removal measures hint use; a {spec.behaviour} organism has none")
    control_run = pipeline.open_control(control, runs_dir)
    with run.claim():
        result = run_remove(
            run, spec, control_run, values, layer, null_directions, null_seed, null_scale, both_ways, log=log
        )
    console.print(rich_table(COLUMNS, removal_rows(result), f"removal: {result['direction']} at {result['site']}"))
    if result["null"] is not None:
        console.print(rich_table(NULL_COLUMNS, null_rows(result), "removal: the null"))
    log(f"remove: {run.root / 'removal.md'} ({result['seconds']}s)")
