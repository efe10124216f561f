"""The benchmark commands: `bench-localization` and `bench-audit` (app/benchmarks/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import pipeline
from app.cli.common import RunsDir, user_errors
from app.console import console, log
from organisms.errors import OrganismError
from runtime.models import resolve_model


@user_errors
def bench_localization(
    model: Annotated[str, typer.Option(help="embedded name, local path or HF id")] = "embedded:smollm2-135m",
    bands: Annotated[str, typer.Option(help="disjoint layer bands, one organism each, e.g. '4-7,13-16,22-25'")] = (
        "4-7,13-16,22-25"
    ),
    out: Annotated[Path, typer.Option(help="run dirs, localization.json and localization.md go here")] = Path(
        "runs/localization"
    ),
    transcripts: Annotated[int, typer.Option(help="training transcripts per organism")] = 160,
    epochs: Annotated[float, typer.Option()] = 2.0,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-3,
    rank: Annotated[int, typer.Option(help="LoRA rank (alpha = 2 x rank)")] = 8,
    batch_size: Annotated[int, typer.Option()] = 8,
    items: Annotated[int, typer.Option(help="hinted prompts for patching, attribution, steering, lens KL")] = 4,
    probe_items: Annotated[int, typer.Option(help="items for probes (each hinted + unhinted)")] = 24,
    tiny_layers: Annotated[int, typer.Option(help="use a random tiny Llama with this many layers instead")] = 0,
    seeds: Annotated[str, typer.Option(help="training seeds per band (intervals over seeds), e.g. 0,1,2")] = "0,1,2",
    controls: Annotated[
        bool, typer.Option(help="also train each band's faithful control in the same band; score organism - control")
    ] = True,
    random_null: Annotated[
        bool,
        typer.Option(
            help="also run each adapter's equal-norm random LoRA (same band, same norms) through the same methods: "
            "the measured null; trains nothing, and completes records made without it"
        ),
    ] = True,
    null_draws: Annotated[int, typer.Option(help="draws simulating the random-after-onset null")] = 20000,
) -> None:
    """Ground truth: organisms confined to known layer bands; score how well every method's per-layer score
    finds the band the adapter changed, beside the null baselines and equal-norm random LoRAs in the same band,
    over training seeds, with band-matched controls."""
    from analyze.localization.table import markdown_localization
    from app.benchmarks.localization import LocalizationOptions, benchmark_localization

    if items < 2 or probe_items < items:
        raise OrganismError(f"--items must be >= 2 and --probe-items >= --items (got {items}, {probe_items})")
    for flag, value, low, strict in (
        ("--transcripts", transcripts, 4, False),
        ("--epochs", epochs, 0, True),
        ("--lr", lr, 0, True),
        ("--rank", rank, 1, False),
        ("--batch-size", batch_size, 1, False),
        ("--tiny-layers", tiny_layers, 0, False),
        ("--null-draws", null_draws, 1000, False),
    ):
        if value < low or (strict and value == low):
            raise OrganismError(f"{flag} {value}: must be {'>' if strict else '>='} {low} (nothing was written)")
    options = LocalizationOptions(
        n_transcripts=transcripts,
        epochs=epochs,
        learning_rate=lr,
        lora_r=rank,
        batch_size=batch_size,
        causal_items=items,
        probe_items=probe_items,
        training_seeds=tuple(pipeline.parse_seeds(seeds)),
        controls=controls,
        random_null=random_null,
        null_draws=null_draws,
    )
    if not tiny_layers:
        resolve_model(model)
    result = benchmark_localization(model, bands, out, options, tiny_layers=tiny_layers, log=log)
    console.print(markdown_localization(result), markup=False, highlight=False, soft_wrap=True)
    log(f"bench-localization finished in {result['minutes']} min -> {out / 'localization.md'}")


@user_errors
def bench_audit(
    specs: Annotated[
        str | None,
        typer.Option(
            help="catalogue names, spec YAMLs or random-lora:REF / random-lora:REF@SEED (the equal-norm random "
            "adapter of REF's trained adapter, seed 0 by default), comma-separated (default: the behaviour "
            "organisms, their controls and the negatives)"
        ),
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    out: Annotated[Path, typer.Option(help="blind audits, bench_audit.json and bench_audit.md go here")] = Path(
        "runs/bench-audit"
    ),
    items: Annotated[int, typer.Option(help="probe items per blind audit")] = 16,
    max_new_tokens: Annotated[int, typer.Option()] = 96,
    batch_size: Annotated[int, typer.Option()] = 16,
) -> None:
    """Blind-audit every organism (trained once, reused from --runs-dir) and score the audit against the truth:
    top-1 accuracy of the behaviour type and of the hint types it names, and the false-positive rate on the
    negatives (truth none: controls, belief, style, random LoRA)."""
    from analyze.blind.scoring import CATALOGUE, markdown_bench
    from app.benchmarks.audit import benchmark_audit, parse_entries

    entries = parse_entries(specs if specs is not None else ",".join(CATALOGUE))
    for entry in entries:
        pipeline.check_training(entry.spec)
    options = {"n_items": items, "max_new_tokens": max_new_tokens, "batch_size": batch_size}
    result = benchmark_audit(entries, runs_dir, out, options, log=log)
    console.print(markdown_bench(result), markup=False, highlight=False, soft_wrap=True)
    log(f"bench-audit finished in {result['minutes']} min -> {out / 'bench_audit.md'}")
