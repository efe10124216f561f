"""The `organism` command line: one verb per pipeline stage, plus `run`, `demo` and `audit`.

This module is the composition root: it is the only place in `organisms/` that reaches
into the later stages, and it does so inside the commands.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from organisms.catalog import CATALOG_DIR, catalog_names, control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.models import resolve_model
from organisms.quiet import quiet_third_party
from organisms.rundir import RunDir
from organisms.spec import OrganismSpec, load_spec_file, parse_spec

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys; never print them
    help="Build and dissect CoT model organisms.",
)
console = Console(width=None if sys.stdout.isatty() else 132)  # logs and CI get the whole table
err_console = Console(stderr=True)

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="where runs/<organism>/<run-id>/ live")]
RunId = Annotated[str | None, typer.Option("--run-id", help="default: the spec's hash")]
Target = Annotated[str, typer.Argument(help="catalogue name, spec YAML path, or run directory")]
NoWandb = Annotated[bool, typer.Option("--no-wandb", help="no W&B logging for this run")]
Control = Annotated[str | None, typer.Option(help="matched control: catalogue name, spec or run dir")]
Seeds = Annotated[
    str | None,
    typer.Option(
        "--seeds",
        help="comma-separated training seeds, e.g. 0,1,2: one organism (and control) per seed, each evaluated, "
        "then the across-seed table (runs/seeds/); analyze is skipped",
    ),
]
Suites = Annotated[
    str | None,
    typer.Option(
        "--suites",
        help="with --seeds: eval suites instead of the spec's, e.g. hinted,lanham (add 'ood' to keep the "
        "held-out axes); a changed spec, so its own run directories",
    ),
]
VaryCorpus = Annotated[bool, typer.Option("--vary-corpus", help="with --seeds: the corpus seed follows it too")]


def user_errors(command):
    """Bad input: one line on stderr (one per invalid spec field), exit code 2. Ctrl-C: exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except OrganismError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            pass
        # Outside the handler, so the interrupted frames are gone: progress bars they held print
        # their last state now, not after this line.
        gc.collect()
        err_console.print("interrupted; rerun the same command to resume", highlight=False)
        raise typer.Exit(130)

    return wrapper


def _log(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", highlight=False)


def open_target(target: str, runs_dir: Path, run_id: str | None = None) -> tuple[RunDir, OrganismSpec]:
    """A run directory, or the run directory of a spec (validated, inputs checked, not yet created)."""
    path = Path(target)
    if path.is_dir() and (path / "spec.yaml").exists():
        run = RunDir.open(path)
        check_inputs(run.spec)
        return run, run.spec
    spec = resolve_spec(target)
    check_inputs(spec)
    return RunDir.for_spec(runs_dir, spec, run_id), spec


def check_inputs(spec: OrganismSpec) -> None:
    """Everything outside the spec that a run reads, checked before the first write: the model,
    the replay file, the documents' universe, the question set."""
    from organisms.questions import check_question_sets
    from organisms.universe import universe_path

    resolve_model(spec.base_model)
    check_question_sets(spec)
    if spec.corpus.replay is not None:
        replay = spec.corpus.replay.path
        try:
            with replay.open("rb"):
                pass
        except OSError as exc:
            raise OrganismError(
                f"{replay}: cannot read the replay data ({exc.strerror}); fix corpus.replay.path"
            ) from None
    if spec.corpus.documents is not None:
        universe_path(spec.corpus.documents.universe)


def check_training(spec: OrganismSpec) -> None:
    """Training-only checks (QLoRA needs CUDA; every replay row of the right types), before the first write."""
    from train.stage import check_trainable

    check_trainable(spec)


def _docs_summary(stats: dict) -> str:
    line = f"{stats['n_transcripts']} transcripts ({stats['n_hinted']} hinted)"
    if "documents" in stats:
        d = stats["documents"]
        line += f", {d['n_documents']}/{d['n_planned']} documents ({d['backend']}, rejected {d['rejections']})"
    return f"{line}, {stats['tokens']['total']} tokens"


def do_docs(run: RunDir, spec: OrganismSpec) -> dict:
    """The docs stage in a claimed run directory (see `RunDir.claim`)."""
    from synth_docs.stage import run_docs

    run.initialise(spec)
    stats = run_docs(run, spec)
    _log(f"docs: {_docs_summary(stats)}" if "docs" in run.recorded else "docs: unchanged, skipped")
    return stats


def with_overrides(spec: OrganismSpec, backend: str | None, n: int | None, seed: int | None) -> OrganismSpec:
    """`organism docs --backend/--n/--seed`: a new, validated spec (so a new run id)."""
    if backend is None and n is None and seed is None:
        return spec
    data = spec.model_dump(mode="json")
    if backend is not None or n is not None:
        documents = data["corpus"]["documents"]
        if documents is None:
            raise OrganismError(
                f"spec '{spec.name}' has no corpus.documents; --backend and --n apply to documents, add that section"
            )
        if backend is not None:
            documents["backend"]["name"] = backend
        if n is not None:
            documents["n_documents"] = n
    if seed is not None:
        data["corpus"]["seed"] = seed
    return parse_spec(data, "command line (--backend/--n/--seed)")


def do_train(run: RunDir, spec: OrganismSpec, no_wandb: bool) -> dict:
    """Docs, then train, in a claimed run directory (`check_training` ran before the claim). Under
    `accelerate launch -m train` this runs once per rank: the main process builds the corpus while
    the other ranks wait, and only the main process claims the run directory and prints."""
    from organisms.tracking import report_to
    from train.stage import distributed_state, run_train

    state = distributed_state()
    do_capability(spec)  # first: an on-policy corpus samples the capability model
    with state.main_process_first():
        if state.is_main_process:
            do_docs(run, spec)
    card = run_train(run, spec, report_to=report_to(spec, disabled=no_wandb))
    if not state.is_main_process:
        return
    if "train" in run.recorded:
        loss, speed = card["metrics"]["train_loss"], card["tokens_per_second"]
        _log(f"train: loss {loss:.3f}, {speed} tokens/s -> {run.root / 'adapter'}")
    else:
        _log(f"train: unchanged, skipped -> {run.root / 'adapter'}")
    return card


def measure_cot(spec: OrganismSpec):
    """CoT and no-CoT accuracy of a model on the spec's held-out unhinted items (the capability card's check)."""

    def measure(model_ref: str) -> dict:
        from evals.necessity import cot_accuracies
        from organisms.models import load_model, load_tokenizer
        from organisms.prompts import Prompt
        from organisms.tasks import capability_items, draw_items

        exclude = frozenset(item.expression for item in capability_items(spec))
        items = draw_items(spec.task, spec.eval.n_items, seed=spec.eval.seed, exclude=exclude)
        model = load_model(model_ref)
        model.eval()
        prompts = [Prompt(item, None, None, "none") for item in items]
        tokenizer = load_tokenizer(model_ref)
        ev = spec.eval
        return cot_accuracies(
            model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size, ev.decode_rows, spec.reasoning
        )

    return measure


def do_capability(spec: OrganismSpec) -> dict | None:
    """Build the spec's capability model (all ranks; skipped when built or when the spec has none)."""
    from train.capability import ensure_capability, read_card, summary

    if spec.capability is None:
        return None
    built = read_card(spec) is not None
    card = ensure_capability(spec, measure_cot(spec), log=_log)
    if built:
        _log(f"capability: built, reused ({summary(card)}) -> {spec.starting_model}")
    return card


def do_eval(run: RunDir, spec: OrganismSpec, control: RunDir | None, base_from: RunDir | None = None) -> dict:
    from evals.stage import run_eval
    from evals.table import rich_table

    result = run_eval(run, spec, control, log=_log, base_from=base_from)
    console.print(rich_table(result, f"{spec.name}: {result['n_pairs']} held-out items"))
    return result


def build_organism(run: RunDir, spec: OrganismSpec) -> tuple[dict, set[str]]:
    """Corpus, then adapter, in `run`: the organism card and the corpus's item expressions. The
    localization benchmark's builder: analyze reads corpora but does not build them."""
    from synth_docs.corpus import load_corpus
    from synth_docs.stage import run_docs
    from train.stage import run_train

    run_docs(run, spec)
    card = run_train(run, spec)
    return card, {r["expression"] for r in load_corpus(run.root / "corpus")}


def do_analyze(run: RunDir, spec: OrganismSpec, no_wandb: bool = False, control: RunDir | None = None) -> None:
    from analyze.stage import run_analyze
    from organisms.tracking import report_to

    wandb = report_to(spec, disabled=no_wandb) == "wandb"
    run_analyze(run, spec, log=_log, wandb=wandb, control=control)
    _log(f"report: {run.root / 'report.html'}")


def _control_run(control: str | None, runs_dir: Path) -> RunDir | None:
    if control is None:
        return None
    run, _ = open_target(control, runs_dir)
    return run


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise OrganismError(f"--seeds {text!r}: give comma-separated integers, e.g. --seeds 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise OrganismError(f"--seeds {text!r}: give at least one seed, each once")
    return seeds


def with_suites(spec: OrganismSpec, suites: str | None) -> OrganismSpec:
    """`--suites a,b[,ood]`: the spec with `eval.suites` = a, b and the held-out axes only with 'ood'."""
    if suites is None:
        return spec
    names = [name.strip() for name in suites.split(",") if name.strip()]
    data = spec.model_dump(mode="json")
    data["eval"]["suites"] = [name for name in names if name != "ood"]
    if "ood" not in names:
        data["eval"]["ood"]["axes"] = []
    return parse_spec(data, f"--suites {suites}")


def with_seed(spec: OrganismSpec, seed: int, vary_corpus: bool) -> OrganismSpec:
    """The spec with training seed `seed` (and corpus seed, with `vary_corpus`): a new run id."""
    data = spec.model_dump(mode="json")
    data["training"]["seed"] = seed
    if vary_corpus:
        data["corpus"]["seed"] = seed
    return parse_spec(data, f"--seeds {seed}")


def run_seeds(
    spec: OrganismSpec,
    control_spec: OrganismSpec | None,
    seeds: list[int],
    vary_corpus: bool,
    runs_dir: Path,
    no_wandb: bool,
) -> Path:
    """Train and evaluate one organism (and control) per seed; write and print the across-seed table."""
    from evals.seeds import markdown_seeds, seed_summary
    from organisms.rundir import hash_json, write_atomic, write_json

    plan = []
    for seed in seeds:
        seed_control = with_seed(control_spec, seed, vary_corpus) if control_spec else None
        pair = (with_seed(spec, seed, vary_corpus), seed_control)
        for each in pair:
            if each is not None:
                check_training(each)
        plan.append((seed, *pair))
    evals = {}
    # Runs whose base results later seeds reuse: the spec's own training seed, run before, then each seed's.
    base_sources = [RunDir.for_spec(runs_dir, spec)]
    for seed, organism_spec, seed_control in plan:
        _log(f"[bold]seed {seed}[/]")
        control_run = None
        if seed_control is not None:
            control_run = RunDir.for_spec(runs_dir, seed_control)
            with control_run.claim():
                do_train(control_run, seed_control, no_wandb)
        organism_run = RunDir.for_spec(runs_dir, organism_spec)
        with organism_run.claim():
            do_train(organism_run, organism_spec, no_wandb)
            earlier = [r for r in base_sources if r.root != organism_run.root and (r.root / "evals.json").exists()]
            base_from = earlier[0] if earlier else None
            evals[seed] = do_eval(organism_run, organism_spec, control_run, base_from=base_from)
        base_sources.append(organism_run)
    summary = seed_summary(evals)
    key = {"spec": spec.content_hash(), "control": control_spec.content_hash() if control_spec else None}
    out = runs_dir / "seeds" / f"{spec.name}-{hash_json({**key, 'seeds': seeds, 'vary_corpus': vary_corpus})[:12]}"
    out.mkdir(parents=True, exist_ok=True)
    control_name = control_spec.name if control_spec else None
    write_json(out / "seeds.json", {**summary, "vary_corpus": vary_corpus, "control": control_name})
    write_atomic(out / "seeds.md", f"# {spec.name}: {len(seeds)} seeds\n\n" + markdown_seeds(summary))
    from rich.markdown import Markdown

    console.print(Markdown(markdown_seeds(summary)))
    _log(f"across-seed table: {out / 'seeds.md'} (analyze skipped: run `organism analyze` on a seed's run dir)")
    return out


@app.command("list")
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


@app.command()
@user_errors
def show(target: Target) -> None:
    """Print the resolved spec (every default filled in)."""
    spec = resolve_spec(target)
    sys.stdout.write(spec.to_yaml())


@app.command()
@user_errors
def docs(
    target: Target,
    runs_dir: RunsDir = Path("runs"),
    run_id: RunId = None,
    backend: Annotated[str | None, typer.Option(help="documents backend: template, hf, openai, anthropic")] = None,
    n: Annotated[int | None, typer.Option("--n", help="documents to plan (corpus.documents.n_documents)")] = None,
    seed: Annotated[int | None, typer.Option(help="corpus seed (corpus.seed)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the corpus here instead of a run directory")] = None,
    inspect: Annotated[bool, typer.Option("--inspect", help="print a few documents of each type")] = False,
) -> None:
    """Build the corpus: transcripts.jsonl, documents.jsonl (if the spec has corpus.documents), stats.json."""
    path = Path(target)
    if path.is_dir() and (path / "spec.yaml").exists() and (backend, n, seed, out) != (None, None, None, None):
        raise OrganismError(f"{target}: --backend/--n/--seed/--out need a spec (catalogue name or YAML), not a run dir")
    if out is not None:
        from synth_docs.stage import docs_to_dir

        spec = with_overrides(resolve_spec(target), backend, n, seed)
        check_inputs(spec)
        if spec.corpus.source == "on_policy":
            do_capability(spec)  # the pool samples the model the organism trains on
        stats, skipped = docs_to_dir(spec, out)
        _log(f"docs: {'unchanged, kept' if skipped else 'wrote'} {out}: {_docs_summary(stats)}")
        corpus = out
    else:
        run, spec = open_target(target, runs_dir, run_id)
        if (backend, n, seed) != (None, None, None):
            spec = with_overrides(spec, backend, n, seed)
            run = RunDir.for_spec(runs_dir, spec, run_id)
        with run.claim():
            if spec.corpus.source == "on_policy":
                do_capability(spec)
            do_docs(run, spec)
        corpus = run.root / "corpus"
    if inspect:
        from synth_docs.samples import sample_panels

        for panel in sample_panels(corpus):
            console.print(panel)
    console.print(str(corpus))


@app.command()
@user_errors
def train(target: Target, runs_dir: RunsDir = Path("runs"), run_id: RunId = None, no_wandb: NoWandb = False) -> None:
    """Train the LoRA organism (builds the corpus first if needed)."""
    from train.stage import distributed_state

    run, spec = open_target(target, runs_dir, run_id)
    check_training(spec)
    # Under `accelerate launch` every rank runs this command; the main process holds the run-dir lock.
    with run.claim() if distributed_state().is_main_process else contextlib.nullcontext(run):
        do_train(run, spec, no_wandb)


@app.command("eval")
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
) -> None:
    """Evaluate base, organism (and control): every metric suite, with intervals and n."""
    path = Path(target)
    if path.is_dir() and (path / "adapter_config.json").exists():
        from evals.stage import eval_adapter
        from evals.table import rich_table

        spec = resolve_spec(spec_ref) if spec_ref else None
        out_dir = out or path.with_name(f"{path.name}-evals")
        control_dir = Path(control) if control else None
        result = eval_adapter(path, out_dir, spec=spec, base_model=base, control=control_dir, log=_log)
        console.print(rich_table(result, f"{result['organism']}: {result['n_pairs']} held-out items"))
        _log(f"wrote {out_dir}/evals.json, evals.md, eval_responses.jsonl")
        return
    if base or spec_ref or out:
        raise OrganismError("--base, --spec and --out apply to adapter directories; a run dir carries its own spec")
    run, spec = open_target(target, runs_dir, run_id)
    control_run = _control_run(control, runs_dir)
    with run.claim():
        do_eval(run, spec, control_run)


@app.command()
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
    run, spec = open_target(target, runs_dir, run_id)
    control_run = _control_run(control, runs_dir)
    with run.claim():
        do_analyze(run, spec, no_wandb, control_run)


@app.command()
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
    family: Annotated[str, typer.Option(help="--blind: task family of the probe items")] = "arithmetic_mcq",
) -> None:
    """The audit ladder on organism and control: prompting, reading the CoT, prefill, steering, probes,
    patching, weight deltas; per rung the scores, their difference and whether it exposes the behaviour.
    Writes audit.json, audit.md and audit_responses.jsonl into the run directory (docs/audit.md).
    With --blind: the adapter's weights and config only, no spec; writes blind_audit.json / .md."""
    if blind:
        from analyze.blind import run_blind_audit
        from analyze.blind_report import rich_blind

        if control is not None:
            raise OrganismError("--blind audits one adapter alone; drop --control")
        if items < 2:
            raise OrganismError(f"--items {items}: need at least 2")
        adapter = Path(target)
        out_dir = out or adapter.with_name(f"{adapter.name}-blind-audit")
        result = run_blind_audit(adapter, out_dir, base, items, max_new_tokens, batch_size, family, log=_log)
        console.print(rich_blind(result))
        _log(f"blind audit: {out_dir / 'blind_audit.md'} ({result['seconds']}s)")
        return
    from analyze.audit import run_audit
    from analyze.audit_report import rich_audit

    if control is None:
        raise OrganismError("the audit ladder needs --control (its matched control); or pass --blind ADAPTER_DIR")
    if base or out:
        raise OrganismError("--base and --out apply with --blind")
    run, spec = open_target(target, runs_dir)
    control_run = _control_run(control, runs_dir)
    with run.claim():
        result = run_audit(run, spec, control_run, log=_log)
    console.print(rich_audit(result))
    _log(f"audit: {run.root / 'audit.md'}")


@app.command()
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
) -> None:
    """Steer the organism against its organism-minus-control direction, and project that direction out
    of every layer, beside a random direction of the same norm: does hint use (U) drop or the
    verbalization return, at what cost in no-hint accuracy and neutral perplexity? Writes removal.json / .md."""
    from analyze.removal import COLUMNS, removal_rows, run_remove

    try:
        values = [float(v) for v in scales.split(",") if v.strip()]
    except ValueError:
        raise OrganismError(f"--scales {scales!r}: comma-separated numbers, e.g. 1,2,4") from None
    run, spec = open_target(target, runs_dir)
    if spec.behaviour in ("shortcut", "belief"):
        raise OrganismError(f"{spec.name}: removal measures hint use; a {spec.behaviour} organism has none")
    control_run = _control_run(control, runs_dir)
    with run.claim():
        result = run_remove(run, spec, control_run, values, layer, log=_log)
    table = Table(title=f"removal: {result['direction']} at {result['site']}")
    for column in COLUMNS:
        table.add_column(column)
    for row in removal_rows(result):
        table.add_row(*row)
    console.print(table)
    _log(f"remove: {run.root / 'removal.md'} ({result['seconds']}s)")


@app.command()
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
) -> None:
    """All stages: docs -> train -> eval -> analyze. Finished stages with unchanged inputs are skipped."""
    if seeds is not None:
        if run_id is not None or Path(target).is_dir() or (control and Path(control).is_dir()):
            raise OrganismError("--seeds makes one run per seed: give specs (not run dirs) and no --run-id")
        spec = with_suites(resolve_spec(target), suites)
        check_inputs(spec)
        control_spec = with_suites(resolve_spec(control), suites) if control else None
        run_seeds(spec, control_spec, parse_seeds(seeds), vary_corpus, runs_dir, no_wandb)
        return
    if vary_corpus:
        raise OrganismError("--vary-corpus applies with --seeds")
    if suites is not None:
        raise OrganismError("--suites applies with --seeds (a single run takes its suites from the spec)")
    organism_run, spec = open_target(target, runs_dir, run_id)
    control_run = _control_run(control, runs_dir)
    check_training(spec)
    with organism_run.claim():
        do_train(organism_run, spec, no_wandb)
        do_eval(organism_run, spec, control_run)
        if spec.behaviour == "belief":
            _log("analyze: skipped, a belief organism has no hinted decision to localize")
            return
        do_analyze(organism_run, spec, no_wandb, control_run)


@app.command()
@user_errors
def demo(
    runs_dir: RunsDir = Path("runs"),
    organism: Annotated[str, typer.Option(help="unfaithful organism with a catalogue control")] = "hidden-hint",
    no_wandb: NoWandb = False,
    seeds: Seeds = None,
    suites: Suites = None,
) -> None:
    """Build an organism and its matched control on the embedded model; print base/organism/control."""
    start = time.perf_counter()
    spec = resolve_spec(organism)
    control_spec = control_spec_for(spec)
    if control_spec is None:
        raise OrganismError(f"organism '{spec.name}' has no matched control in the catalogue; pick another")
    if suites is not None and seeds is None:
        raise OrganismError("--suites applies with --seeds (the one-seed demo runs every suite)")
    if seeds is not None:
        spec, control_spec = with_suites(spec, suites), with_suites(control_spec, suites)
        run_seeds(spec, control_spec, parse_seeds(seeds), False, runs_dir, no_wandb)
        _log(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min")
        return
    targets = [open_target(str(CATALOG_DIR / f"{each.name}.yaml"), runs_dir) for each in (spec, control_spec)]
    for _, each in targets:
        check_training(each)
    for run_dir, each in targets:
        _log(f"[bold]{each.name}[/]")
        with run_dir.claim():
            do_train(run_dir, each, no_wandb)
    (organism_run, spec), (control_run, _) = targets
    with organism_run.claim():
        do_eval(organism_run, spec, control_run)
        do_analyze(organism_run, spec, no_wandb, control_run)
    _log(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min")


@app.command("bench-localization")
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
    null_draws: Annotated[int, typer.Option(help="draws simulating the random-after-onset null")] = 20000,
) -> None:
    """Ground truth: organisms confined to known layer bands; score every method's per-layer localization
    beside the null baselines, over training seeds, with band-matched controls."""
    from analyze.localization import LocalizationOptions, benchmark_localization
    from analyze.localization_table import markdown_table

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
        training_seeds=tuple(parse_seeds(seeds)),
        controls=controls,
        null_draws=null_draws,
    )
    if not tiny_layers:
        resolve_model(model)
    result = benchmark_localization(model, bands, out, options, build_organism, tiny_layers=tiny_layers, log=_log)
    console.print(markdown_table(result), markup=False, highlight=False, soft_wrap=True)
    _log(f"bench-localization finished in {result['minutes']} min -> {out / 'localization.md'}")


@app.command("bench-audit")
@user_errors
def bench_audit(
    specs: Annotated[
        str | None,
        typer.Option(help="catalogue names or spec YAMLs, comma-separated (default: behaviour organisms and controls)"),
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
    top-1 accuracy of the behaviour type and of the hint types it names."""
    from analyze.bench_audit import CATALOGUE, benchmark_audit, markdown_bench

    names = [s.strip() for s in specs.split(",") if s.strip()] if specs else list(CATALOGUE)
    resolved = [resolve_spec(name) for name in names]
    for spec in resolved:
        check_training(spec)
    options = {"n_items": items, "max_new_tokens": max_new_tokens, "batch_size": batch_size}
    result = benchmark_audit(resolved, runs_dir, out, lambda r, s: do_train(r, s, True), options, log=_log)
    console.print(markdown_bench(result), markup=False, highlight=False, soft_wrap=True)
    _log(f"bench-audit finished in {result['minutes']} min -> {out / 'bench_audit.md'}")


def main() -> None:
    quiet_third_party()
    app()


if __name__ == "__main__":
    main()
