"""The pipeline: one function per operation, called alike by the CLI, `python -m train`, notebooks
and benchmarks.

    build     capability model (when the spec has one) -> corpus -> adapter     (`organism train`)
    evaluate  base, organism (and control) on the same held-out items          (`organism eval`)
    analyze   every localization method, plots and report.html                  (`organism analyze`)
    run       build -> evaluate -> analyze                                       (`organism run`)
    seeds     build + evaluate per training seed, then the across-seed table     (`--seeds`)

Every operation works in a run directory the caller claimed (`RunDir.claim`), checks what it reads
before the first write (`check_inputs`, `check_training`), and skips a stage whose inputs are unchanged.
Stages import lazily, so `organism --help` does not load torch.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.console import console, log, show_eval
from organisms.catalog import control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from runtime.models import resolve_model
from runtime.rundir import RunDir


def open_target(target: str, runs_dir: Path, run_id: str | None = None) -> tuple[RunDir, OrganismSpec]:
    """A run directory, or the run directory of a spec (validated, inputs checked, not yet created)."""
    path = Path(target)
    if path.is_dir() and (path / "spec.yaml").exists():
        run = RunDir.open(path)
        check_inputs(run.spec)
        run.check_base(run.spec)
        return run, run.spec
    spec = resolve_spec(target)
    check_inputs(spec)
    return RunDir.for_spec(runs_dir, spec, run_id), spec


def open_control(control: str | None, runs_dir: Path) -> RunDir | None:
    """The matched control's run directory (catalogue name, spec or run dir), or None."""
    if control is None:
        return None
    run, _ = open_target(control, runs_dir)
    return run


def check_inputs(spec: OrganismSpec) -> None:
    """Everything outside the spec that a run reads, checked before the first write: the model,
    the replay file, the documents' universe, the question set."""
    from organisms.questions import check_question_sets
    from organisms.universe import load_universe

    resolve_model(spec.base_model, spec.trust_remote_code)
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
        load_universe(spec.corpus.documents.universe)  # every field checked (a blank key fact too)


def check_training(spec: OrganismSpec) -> None:
    """Training-only checks (QLoRA needs CUDA; every replay row of the right types), before the first write."""
    from train.stage import check_trainable

    check_trainable(spec)


def docs_summary(stats: dict) -> str:
    """One line of a corpus's stats.json."""
    line = f"{stats['n_transcripts']} transcripts ({stats['n_hinted']} hinted)"
    if "documents" in stats:
        d = stats["documents"]
        line += f", {d['n_documents']}/{d['n_planned']} documents ({d['backend']}, rejected {d['rejections']})"
    return f"{line}, {stats['tokens']['total']} tokens"


def corpus(run: RunDir, spec: OrganismSpec) -> dict:
    """The corpus of a claimed run directory (transcripts, documents, stats.json)."""
    from synth_docs.stage import run_docs

    run.initialise(spec)
    stats = run_docs(run, spec)
    log(f"docs: {docs_summary(stats)}" if "docs" in run.recorded else "docs: unchanged, skipped")
    return stats


def docs_options(spec: OrganismSpec, backend: str | None, n: int | None, seed: int | None) -> OrganismSpec:
    """`organism docs --backend/--n/--seed`: the spec with those changes (so a new run id)."""
    changes: dict[str, object] = {}
    if (backend is not None or n is not None) and spec.corpus.documents is None:
        raise OrganismError(
            f"spec '{spec.name}' has no corpus.documents; --backend and --n apply to documents, add that section"
        )
    if backend is not None:
        changes["corpus.documents.backend.name"] = backend
    if n is not None:
        changes["corpus.documents.n_documents"] = n
    if seed is not None:
        changes["corpus.seed"] = seed
    return spec.with_changes(changes, "command line (--backend/--n/--seed)") if changes else spec


def ensure_capability(spec: OrganismSpec) -> dict | None:
    """Build the spec's capability model (all ranks; skipped when built or when the spec has none)."""
    from evals.necessity import capability_check
    from runtime.weights import starting_model
    from train.capability import ensure_capability as build_capability
    from train.capability import read_card, summary

    if spec.capability is None:
        return None
    built = read_card(spec) is not None
    card = build_capability(spec, capability_check(spec), log=log)
    if built:
        log(f"capability: built, reused ({summary(card)}) -> {starting_model(spec)}")
    return card


def build(run: RunDir, spec: OrganismSpec, no_wandb: bool = False) -> dict | None:
    """Capability model, corpus, then adapter, in a claimed run directory (`check_training` ran
    before the claim); returns the organism card. Under `accelerate launch -m train` this runs once per
    rank: the main process builds the corpus while the other ranks wait, and only the main process
    writes the run directory and prints (the other ranks return None)."""
    from runtime.tracking import report_to
    from train.stage import distributed_state, run_train

    state = distributed_state()
    ensure_capability(spec)  # first: an on-policy corpus samples the capability model
    with state.main_process_first():
        if state.is_main_process:
            corpus(run, spec)
    card = run_train(run, spec, report_to=report_to(spec, disabled=no_wandb), log=log)
    if not state.is_main_process:
        return None
    if "train" in run.recorded:
        loss, speed = card["metrics"]["train_loss"], card["tokens_per_second"]
        log(f"train: loss {loss:.3f}, {speed} tokens/s -> {run.root / 'adapter'}")
    else:
        log(f"train: unchanged, skipped -> {run.root / 'adapter'}")
    return card


def evaluate(
    run: RunDir,
    spec: OrganismSpec,
    control: RunDir | None,
    base_from: RunDir | None = None,
    allow_other_base: bool = False,
) -> dict:
    """Base, organism (and control) on the same held-out items: evals.json / evals.md, and the table. A control
    trained on another starting model is refused unless `allow_other_base` (evals.md then says so)."""
    from evals.stage import run_eval

    result = run_eval(run, spec, control, log=log, base_from=base_from, allow_other_base=allow_other_base)
    show_eval(result, f"{spec.name}: {result['n_pairs']} held-out items")
    return result


def analyze(run: RunDir, spec: OrganismSpec, no_wandb: bool = False, control: RunDir | None = None) -> None:
    """Every analysis method into analysis/, the plots and report.html (and W&B when enabled)."""
    from analyze.stage import run_analyze
    from runtime.tracking import report_to

    wandb = report_to(spec, disabled=no_wandb) == "wandb"
    run_analyze(run, spec, log=log, wandb=wandb, control=control)
    log(f"report: {run.root / 'report.html'}")


def run(
    organism: RunDir,
    spec: OrganismSpec,
    control: RunDir | None,
    no_wandb: bool = False,
    allow_other_base: bool = False,
) -> None:
    """All stages in the organism's run directory: build -> evaluate -> analyze (none for belief)."""
    from runtime.memory import release

    check_training(spec)
    with organism.claim():
        build(organism, spec, no_wandb)
        release()  # each stage loads its own model: the last one's memory goes back first
        evaluate(organism, spec, control, allow_other_base=allow_other_base)
        release()
        if not spec.has_decision:
            log(f"analyze: skipped, a {spec.behaviour} organism has no hinted decision to localize")
            return
        analyze(organism, spec, no_wandb, control)


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2]: each seed once."""
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
    changes: dict[str, object] = {"eval.suites": [name for name in names if name != "ood"]}
    if "ood" not in names:
        changes["eval.ood.axes"] = []
    return spec.with_changes(changes, f"--suites {suites}")


def with_seed(spec: OrganismSpec, seed: int, vary_corpus: bool) -> OrganismSpec:
    """The spec with training seed `seed` (and corpus seed, with `vary_corpus`): a new run id."""
    changes: dict[str, object] = {"training.seed": seed}
    if vary_corpus:
        changes["corpus.seed"] = seed
    return spec.with_changes(changes, f"--seeds {seed}")


def seeds(
    spec: OrganismSpec,
    control_spec: OrganismSpec | None,
    training_seeds: list[int],
    vary_corpus: bool,
    runs_dir: Path,
    no_wandb: bool = False,
    allow_other_base: bool = False,
) -> Path:
    """Build and evaluate one organism (and control) per seed; write and print the across-seed table
    (runs/seeds/<name>-<hash>/seeds.md). Analyze is skipped."""
    from rich.markdown import Markdown

    from evals.seeds import markdown_seeds, seed_summary
    from runtime.rundir import hash_json, write_atomic, write_json

    plan = []
    for seed in training_seeds:
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
        log(f"[bold]seed {seed}[/]")
        control_run = None
        if seed_control is not None:
            control_run = RunDir.for_spec(runs_dir, seed_control)
            with control_run.claim():
                build(control_run, seed_control, no_wandb)
        organism_run = RunDir.for_spec(runs_dir, organism_spec)
        with organism_run.claim():
            build(organism_run, organism_spec, no_wandb)
            earlier = [r for r in base_sources if r.root != organism_run.root and (r.root / "evals.json").exists()]
            base_from = earlier[0] if earlier else None
            evals[seed] = evaluate(organism_run, organism_spec, control_run, base_from, allow_other_base)
        base_sources.append(organism_run)
    summary = seed_summary(evals)
    key = {"spec": spec.content_hash(), "control": control_spec.content_hash() if control_spec else None}
    key_hash = hash_json({**key, "seeds": training_seeds, "vary_corpus": vary_corpus})[:12]
    out = runs_dir / "seeds" / f"{spec.name}-{key_hash}"
    out.mkdir(parents=True, exist_ok=True)
    control_name = control_spec.name if control_spec else None
    write_json(out / "seeds.json", {**summary, "vary_corpus": vary_corpus, "control": control_name})
    write_atomic(out / "seeds.md", f"# {spec.name}: {len(training_seeds)} seeds\n\n" + markdown_seeds(summary))
    console.print(Markdown(markdown_seeds(summary)))
    log(f"across-seed table: {out / 'seeds.md'} (analyze skipped: run `organism analyze` on a seed's run dir)")
    return out


def demo(
    runs_dir: Path,
    organism: str = "hidden-hint",
    no_wandb: bool = False,
    training_seeds: list[int] | None = None,
    suites: str | None = None,
    quick: bool = False,
    base_model: str | None = None,
) -> None:
    """An organism and its catalogue control on the embedded model, progressively (app/progressive.py):
    build the organism, print it against the base on the hinted pairs; build the control, print the three;
    the held-out axes and the monitors; then (unless `quick`) every suite, the whole table and the analysis.
    With `training_seeds`: `seeds` over them instead. With `base_model`: both specs on that model."""
    start = time.perf_counter()
    spec = resolve_spec(organism)
    control_spec = control_spec_for(spec)
    if control_spec is None:
        raise OrganismError(f"organism '{spec.name}' has no matched control in the catalogue; pick another")
    if base_model is not None:
        source = f"--base-model {base_model}"
        spec, control_spec = (each.with_changes({"base_model": base_model}, source) for each in (spec, control_spec))
    if suites is not None and training_seeds is None:
        raise OrganismError("--suites applies with --seeds (the one-seed demo runs every suite)")
    if quick and training_seeds is not None:
        raise OrganismError("--quick applies to the one-seed demo; with --seeds, name the suites with --suites")
    for each in (spec, control_spec):
        check_inputs(each)  # the model first: a missing optional install stops here, naming its command
    if training_seeds is not None:
        spec, control_spec = with_suites(spec, suites), with_suites(control_spec, suites)
        seeds(spec, control_spec, training_seeds, False, runs_dir, no_wandb)
        log(f"demo finished in {(time.perf_counter() - start) / 60:.1f} min")
        return
    targets = [(RunDir.for_spec(runs_dir, each), each) for each in (spec, control_spec)]
    progressive(*targets[0], *targets[1], no_wandb, quick, start)


def progressive(
    organism_run: RunDir,
    spec: OrganismSpec,
    control_run: RunDir,
    control_spec: OrganismSpec,
    no_wandb: bool = False,
    quick: bool = False,
    start: float | None = None,
) -> None:
    """The one-seed demo's stages for any organism and its control, each table printed as soon as it exists
    (app/progressive.py); `start`: when the demo started (perf_counter), for the tables' timings."""
    from app.progressive import DemoClock, part_table
    from evals.registry import parts
    from runtime.memory import release

    for each in (spec, control_spec):
        check_training(each)
    split = parts(spec)
    if not split:
        raise OrganismError(f"spec '{spec.name}': eval.suites is empty, so the demo has no table to show; name a suite")
    headline, *later = split
    clock = DemoClock(time.perf_counter() if start is None else start, tables=2 + min(len(later), 1) + (not quick))
    log(f"[bold]{spec.name}[/]")
    with organism_run.claim():
        build(organism_run, spec, no_wandb)
        release()
        part_table(organism_run, spec, None, headline, clock, "organism vs base", f"the control ({control_spec.name})")
        release()
    log(f"[bold]{control_spec.name}[/]")
    with control_run.claim():
        build(control_run, control_spec, no_wandb)
        release()
    with organism_run.claim():
        coming = "the held-out axes and the CoT monitors" if later else "the whole table and the analysis"
        part_table(organism_run, spec, control_run, headline, clock, "organism vs control vs base", coming)
        release()
        if later:
            coming = "nothing (--quick)" if quick else "every other suite, the whole table and the analysis"
            part_table(organism_run, spec, control_run, later[0], clock, "held-out axes and monitors", coming)
            release()
        if quick:
            log(f"demo (--quick) finished in {clock.minutes():.1f} min; `organism demo` goes on from here")
            return
        evaluate(organism_run, spec, control_run)
        log(f"the whole table: {clock.next()}")
        release()
        if not spec.has_decision:
            log(f"analyze: skipped, a {spec.behaviour} organism has no hinted decision to localize")
        else:
            analyze(organism_run, spec, no_wandb, control_run)
    log(f"demo finished in {clock.minutes():.1f} min")
