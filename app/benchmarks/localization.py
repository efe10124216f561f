"""Ground-truth localization benchmark: organisms whose adapter lives only in known layers.

For each band of layers and each training seed, build a hidden-hint organism with
`lora.layers = band` (docs -> train, the normal stages) and, with `controls`, its faithful control
confined to the same band; with `random_null`, draw each one's equal-norm random LoRA
(`analyze/methods/random_adapter.py`: same band, same per-module ||delta W||_F, random directions);
run every method of `analyze/methods/suite.py` (none reads the adapter config or weights) on each, on
the same decision prompts, and score each method's per-layer score against the true mask
(`analyze/localization/scores.py`: AUROC, Spearman, peak hit, onset hit, and AUROC and Spearman band
vs downstream). Rows of the result:

    <method>                              the organism's per-layer score
    <method> [control]                    the band-matched control's
    <method> [random LoRA]                the organism's equal-norm random LoRA's: the measured null
    <method> - control                    organism minus control, layer by layer
    <method> - control [random LoRAs]     the same difference between the two adapters' random LoRAs:
                                          the null of the row above
    weight_deltas                         sum over modules of ||delta W||_F: reads the adapter (white-box)

beside the null baselines the construction alone scores (`analyze/localization/null.py`), with
seed means and intervals (`analyze/localization/summary.py`). The ground truth is where the weights
changed, not where the behaviour is computed: docs/localization.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from analyze.localization.scores import score_against_mask
from analyze.localization.summary import band_name, summarise
from analyze.localization.table import markdown_localization
from analyze.methods.behaviour import decision_prompts
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.random_adapter import equal_norm_random_adapter
from analyze.methods.suite import METHODS, SuiteInputs, run_methods
from analyze.methods.weights import lora_deltas
from app.pipeline import build
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, parse_spec
from runtime.models import ADAPTER_WEIGHTS, adapter_sha256, load_config, load_tokenizer, load_with_adapters
from runtime.precision import use_bf16
from runtime.rundir import RunDir, write_atomic, write_json
from runtime.tiny_models import build_tiny_llama
from synth_docs.corpus import corpus_expressions

WHITE_BOX = "weight_deltas"
CONTROL = "control"
RANDOM_OF = {"random": "organism", "random_control": CONTROL}  # each random LoRA and the adapter it is drawn from
RANDOM = "[random LoRA]"


@dataclass(frozen=True)
class LocalizationOptions:
    """What each band organism is trained on and how much each method reads (written into each
    band's spec: `corpus`, `training`, `lora`, `analyze`), how many training seeds per band,
    whether to train band-matched controls, whether to run each adapter's equal-norm random LoRA
    through the same methods (no training: a record made without it is completed, not redone), and
    how many draws simulate the random-after-onset null."""

    n_transcripts: int = 160
    epochs: float = 2.0
    learning_rate: float = 2e-3
    lora_r: int = 8
    batch_size: int = 8
    causal_items: int = 4  # hinted prompts for patching / attribution / steering / lens KL
    probe_items: int = 24  # items (x2: hinted + unhinted twin) for probes
    seed: int = 0  # corpus, eval items, tiny model and null simulation
    training_seeds: tuple[int, ...] = (0, 1, 2)
    controls: bool = True
    random_null: bool = True
    null_draws: int = 20000


def parse_bands(text: str, n_layers: int) -> list[list[int]]:
    """'0-1,2-3,4-5' -> [[0, 1], [2, 3], [4, 5]]; bands must be disjoint and inside the model."""
    bands = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            band = list(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise OrganismError(f"--bands: cannot read {part!r}; write bands like '0-1,2-3,4-5'") from None
        if not band or band[0] < 0 or band[-1] >= n_layers:
            raise OrganismError(f"--bands: {part!r} is outside the model's layers 0-{n_layers - 1}")
        if len(band) == n_layers:
            raise OrganismError(f"--bands: {part!r} is every layer; a band needs layers outside it to score against")
        bands.append(band)
    flat = [layer for band in bands for layer in band]
    if len(flat) != len(set(flat)):
        raise OrganismError(f"--bands: bands overlap ({text}); make them disjoint")
    return bands


def band_spec(
    base_model: str, band: list[int], options: LocalizationOptions, training_seed: int, control: bool = False
) -> OrganismSpec:
    """The band's organism (or, with `control`, its faithful control: same recipe, same band)."""
    name = f"loc-layers-{band[0]}-{band[-1]}"
    return parse_spec(
        {
            "name": f"{name}-{CONTROL}" if control else name,
            "control_of": name if control else None,
            "behaviour": "hidden_hint",
            "base_model": base_model,
            "corpus": {"seed": options.seed, "n_transcripts": options.n_transcripts, "hinted_fraction": 0.5},
            "lora": {"r": options.lora_r, "alpha": 2 * options.lora_r, "layers": band},
            "training": {
                "epochs": options.epochs,
                "learning_rate": options.learning_rate,
                "batch_size": options.batch_size,
                "max_length": 256,
                "seed": training_seed,
                "save_steps": 1000,
            },
            "eval": {"n_items": options.probe_items},
            "analyze": {"items": options.causal_items, "probe_items": options.probe_items},
        },
        source="bench-localization",
    )


def random_lora_seed(band: list[int], training_seed: int, role: str) -> int:
    """The seed of a random LoRA's draw: distinct for every band, training seed and adapter drawn from."""
    return 10_000 * band[0] + 2 * training_seed + (RANDOM_OF[role] == CONTROL)


def _weights_sha256(adapter: Path) -> str:
    return adapter_sha256(adapter, (ADAPTER_WEIGHTS,))[ADAPTER_WEIGHTS]


def band_runs(
    base_model: str,
    band: list[int],
    training_seed: int,
    options: LocalizationOptions,
    out_dir: Path,
    n_layers: int,
    log=print,
    saved: dict[str, dict] | None = None,
) -> dict[str, dict]:
    """`{"organism": record, "control": record, "random": record, "random_control": record}` for one
    band and seed (control with `options.controls`, the random LoRAs with `options.random_null`): run
    dir, train loss (none for a random LoRA), behaviour metric and every method's per-layer score. All
    are analysed on the same decision prompts, held out from both corpora.

    `saved`: the records of an earlier call; a role in it is neither built nor analysed again, so a
    record made before the random-LoRA null gets only its random LoRAs, drawn from the adapters in the
    run dirs (which must be the ones the record was made from: checked by sha256 where it has one)."""
    specs = {"organism": band_spec(base_model, band, options, training_seed)}
    if options.controls:
        specs[CONTROL] = band_spec(base_model, band, options, training_seed, control=True)
    records = dict(saved or {})
    adapters, exclude = {}, set()
    for role, spec in specs.items():
        run = RunDir.for_spec(out_dir / "runs", spec)
        adapters[role] = run.root / "adapter"
        if role in records:
            _check_reused(records[role], run.root, role)
        else:
            run.initialise(spec)
            card = build(run, spec, no_wandb=True)
            records[role] = {"run_dir": str(run.root), "train_loss": card["metrics"]["train_loss"]}
            log(f"  {role} trained: loss {card['metrics']['train_loss']:.3f}, {card['wall_seconds']:.0f}s")
        exclude |= corpus_expressions(run.root / "corpus")
    todo = {role: adapters[role] for role in specs if role not in (saved or {})}
    organism = specs["organism"]
    with tempfile.TemporaryDirectory() as tmp:
        for role, source in RANDOM_OF.items() if options.random_null else ():
            if source in specs and role not in records:
                seed = random_lora_seed(band, training_seed, role)
                todo[role] = equal_norm_random_adapter(adapters[source], Path(tmp) / role, seed)
                records[role] = {"drawn_from": source, "drawn_from_sha256": _weights_sha256(adapters[source])}
                records[role]["random_seed"] = seed
        if not todo:
            return records
        tokenizer = load_tokenizer(base_model)
        prompts = decision_prompts(organism, tokenizer, organism.analyze.probe_items, exclude)
        inputs = SuiteInputs(prompts, load_neutral_texts(), organism.analyze)
        model = load_with_adapters(base_model, todo)
        bf16 = use_bf16(organism.training.precision)
        for role, adapter in todo.items():
            log(f"  {role}:")
            results = run_methods(model, tokenizer, inputs, role, log=log, bf16=bf16)
            scores = {m: results[m]["layer_score"] for m in METHODS}
            scores[WHITE_BOX] = [sum(row) for row in lora_deltas(adapter, n_layers=n_layers)["frobenius"]]
            records[role].update(
                adapter_sha256=_weights_sha256(adapter),
                behaviour=results["behaviour"],
                layer_scores=scores,
                patching_vs_attribution=results["attribution"]["agreement_with_patching"],
                seconds=results["seconds"],
                precision=results["precision"],
            )
        del model
    return records


def _check_reused(record: dict, run_root: Path, role: str) -> None:
    """A reused record's run dir still holds its adapter (the random LoRA is drawn from it) and corpus
    (the decision prompts are held out from it), and the adapter is the one the record was made from."""
    adapter = run_root / "adapter"
    if not (adapter / ADAPTER_WEIGHTS).is_file() or not (run_root / "corpus").is_dir():
        raise OrganismError(
            f"{run_root}: the {role} run dir of a reused record lacks its adapter or corpus, which the random-LoRA "
            "null needs; copy the run dirs (runs/) into --out beside records/, or pass --no-random-null"
        )
    made_from = record.get("adapter_sha256")
    if made_from is not None and made_from != _weights_sha256(adapter):
        raise OrganismError(
            f"{adapter}: not the {role} adapter its record was made from (sha256 differs); delete the record "
            "to redo it, or pass --no-random-null"
        )


def _minus(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b, strict=True)]


def score_rows(records: dict[str, dict], random_null: bool = True) -> dict[str, list[float]]:
    """The per-layer score of every table row: each method for the organism, its control and its
    random LoRA (`random_null`), organism - control and the same difference between their random
    LoRAs, then the white-box weight deltas. A row whose models a record lacks is left out."""
    scores = {role: rec["layer_scores"] for role, rec in records.items() if "layer_scores" in rec}
    if not random_null:
        scores = {role: s for role, s in scores.items() if role not in RANDOM_OF}
    organism = scores["organism"]
    rows = {m: organism[m] for m in METHODS}
    if CONTROL in scores:
        rows.update({f"{m} [{CONTROL}]": scores[CONTROL][m] for m in METHODS})
    if "random" in scores:
        rows.update({f"{m} {RANDOM}": scores["random"][m] for m in METHODS})
    if CONTROL in scores:
        rows.update({f"{m} - {CONTROL}": _minus(organism[m], scores[CONTROL][m]) for m in METHODS})
    if "random" in scores and "random_control" in scores:
        pair = scores["random"], scores["random_control"]
        rows.update({f"{m} - {CONTROL} [random LoRAs]": _minus(pair[0][m], pair[1][m]) for m in METHODS})
    rows[WHITE_BOX] = organism[WHITE_BOX]
    return rows


def null_rows(rows: list[str]) -> dict[str, str]:
    """Each row with a random-LoRA counterpart, and that row: `<method>` -> `<method> [random LoRA]`,
    `<method> - control` -> `<method> - control [random LoRAs]`."""
    pairs = {m: f"{m} {RANDOM}" for m in METHODS}
    pairs.update({f"{m} - {CONTROL}": f"{m} - {CONTROL} [random LoRAs]" for m in METHODS})
    return {row: null for row, null in pairs.items() if row in rows and null in rows}


def record_key(base_model: str, band: list[int], training_seed: int, options: LocalizationOptions) -> dict:
    """What a (band, seed) record depends on: the model, the band, the seed and every option but the
    ones that only shape the summary (seeds listed, null draws) or add models to a record without
    changing the ones in it (the random-LoRA null)."""
    recipe = {k: v for k, v in asdict(options).items() if k not in ("training_seeds", "null_draws", "random_null")}
    return {"base_model": base_model, "band": band, "training_seed": training_seed, "options": recipe}


def cached_band_runs(
    base_model: str,
    band: list[int],
    training_seed: int,
    options: LocalizationOptions,
    out_dir: Path,
    n_layers: int,
    log=print,
) -> dict[str, dict]:
    """`band_runs`, kept in `out_dir/records/` so that an interrupted benchmark repeats nothing it
    finished, and several processes (one band or seed each) can fill one `out_dir` before a last
    call with every band and seed only summarises. A record made under other options is redone; one
    that lacks only the random-LoRA null (made before it, or with `--no-random-null`) gets it added,
    with nothing trained or analysed again."""
    path = out_dir / "records" / f"{band_name(band)}-seed{training_seed}.json"
    key = record_key(base_model, band, training_seed, options)
    saved = None
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("key") != key:
            log(f"  {path} was made with other options; redoing it")
            saved = None
        elif not options.random_null or all(role in saved["runs"] for role in _random_roles(options)):
            log("  reused " + str(path))
            return saved["runs"]
        else:
            log(f"  reused {path}; adding the random-LoRA null")
    start = time.perf_counter()
    records = band_runs(
        base_model, band, training_seed, options, out_dir, n_layers, log, saved=saved["runs"] if saved else None
    )
    seconds = round(time.perf_counter() - start + (saved or {}).get("seconds", 0), 1)
    write_json(path, {"key": key, "seconds": seconds, "runs": records}, sort_keys=False)
    return records


def _random_roles(options: LocalizationOptions) -> list[str]:
    return [role for role, source in RANDOM_OF.items() if source == "organism" or options.controls]


def benchmark_localization(
    base_model: str,
    bands_text: str,
    out_dir: Path,
    options: LocalizationOptions,
    tiny_layers: int = 0,
    log=print,
) -> dict:
    """Build and analyse one organism (and control) per band and training seed, score every row
    against the band beside the nulls; write `localization.json` and `localization.md` in `out_dir`
    and return the result. Each organism is built by the pipeline's own `build` (corpus, then
    adapter); the analysis reads prompts held out from every corpus."""
    out_dir = Path(out_dir)
    n_layers = tiny_layers or load_config(base_model).num_hidden_layers
    bands = parse_bands(bands_text, n_layers)  # before anything is written
    if not options.training_seeds or len(set(options.training_seeds)) != len(options.training_seeds):
        raise OrganismError(f"training seeds {options.training_seeds}: give at least one, each once")
    if tiny_layers:
        base_model = str(out_dir / f"tiny-llama-{tiny_layers}")
        if not (Path(base_model) / "config.json").exists():
            build_tiny_llama(Path(base_model), seed=options.seed, n_layers=tiny_layers)
    start = time.perf_counter()
    runs = []
    for band in bands:
        for seed in options.training_seeds:
            log(f"band {band_name(band)}, training seed {seed}")
            records = cached_band_runs(base_model, band, seed, options, out_dir, n_layers, log)
            rows = score_rows(records, options.random_null)
            scores = {row: score_against_mask(values, band) for row, values in rows.items()}
            runs.append({"band": band, "training_seed": seed, "runs": records, "scores": scores})
    per_seed = {
        row: [[r["scores"][row] for r in runs if r["band"] == band] for band in bands] for row in runs[0]["scores"]
    }
    result = {
        "base_model": base_model,
        "n_layers": n_layers,
        "bands": bands,
        "options": asdict(options),
        "runs": runs,
        "summary": summarise(per_seed, bands, n_layers, options.null_draws, options.seed, null_rows(list(per_seed))),
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }
    write_json(out_dir / "localization.json", result, sort_keys=False)
    write_atomic(out_dir / "localization.md", markdown_localization(result) + "\n")
    return result
