"""Ground-truth localization benchmark: organisms whose adapter lives only in known layers.

For each band of layers, build a hidden-hint organism with `lora.layers = band` (docs ->
train, the normal stages), run every method of `analyze/suite.py` (none of which reads the
adapter config or weights), and score each method's per-layer score against the true mask
(1 on the band's layers, 0 elsewhere):

    top-1 hit   argmax_l score[l] lies in the band (a constant score is a miss)
    Spearman    rank correlation of score with the mask
    AUROC       P(score of a band layer > score of a layer outside it), ties count 1/2
                (`evals.metrics.auroc`)

LoRA weight deltas (`analyze/weights.py`, score = sum over modules of ||delta W||_F) read the
adapter's weights: they are reported as a separate white-box baseline row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from scipy.stats import spearmanr
from transformers import AutoConfig

from analyze.behaviour import decision_prompts
from analyze.neutral import load_neutral_texts
from analyze.suite import METHODS, SuiteInputs, run_methods
from analyze.weights import lora_deltas
from evals.metrics import auroc
from organisms.errors import OrganismError
from organisms.models import build_tiny_llama, load_tokenizer, load_with_adapters, resolve_model
from organisms.precision import use_bf16
from organisms.rundir import RunDir, write_atomic, write_json
from organisms.spec import OrganismSpec, parse_spec

WHITE_BOX = "weight_deltas"


@dataclass(frozen=True)
class LocalizationOptions:
    """What each band organism is trained on and how much each method reads (written into each
    band's spec: `training`, `lora`, `analyze`)."""

    n_transcripts: int = 160
    epochs: float = 2.0
    learning_rate: float = 2e-3
    lora_r: int = 8
    batch_size: int = 8
    causal_items: int = 4  # hinted prompts for patching / attribution / steering / lens KL
    probe_items: int = 24  # items (x2: hinted + unhinted twin) for probes
    seed: int = 0


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


def score_against_mask(scores: list[float], band: list[int]) -> dict:
    """Top-1 hit, Spearman and AUROC of a per-layer score vector against the band's mask."""
    mask = [int(layer in band) for layer in range(len(scores))]
    constant = len(set(scores)) == 1
    top = max(range(len(scores)), key=scores.__getitem__)
    rho = None if constant else float(spearmanr(scores, mask).statistic)
    return {
        "top1_layer": None if constant else top,
        "top1_hit": (not constant) and top in band,
        "spearman": rho,
        "auroc": auroc([scores[layer] for layer in band], [s for layer, s in enumerate(scores) if layer not in band]),
    }


def band_spec(base_model: str, band: list[int], options: LocalizationOptions) -> OrganismSpec:
    return parse_spec(
        {
            "name": f"loc-layers-{band[0]}-{band[-1]}",
            "behaviour": "hidden_hint",
            "base_model": base_model,
            "corpus": {"seed": options.seed, "n_transcripts": options.n_transcripts, "hinted_fraction": 0.5},
            "lora": {"r": options.lora_r, "alpha": 2 * options.lora_r, "layers": band},
            "training": {
                "epochs": options.epochs,
                "learning_rate": options.learning_rate,
                "batch_size": options.batch_size,
                "max_length": 256,
                "seed": options.seed,
                "save_steps": 1000,
            },
            "eval": {"n_items": options.probe_items},
            "analyze": {"items": options.causal_items, "probe_items": options.probe_items},
        },
        source="bench-localization",
    )


def benchmark_localization(
    base_model: str,
    bands_text: str,
    out_dir: Path,
    options: LocalizationOptions,
    build: Callable[[RunDir, OrganismSpec], tuple[dict, set[str]]],
    tiny_layers: int = 0,
    log=print,
) -> dict:
    """Build one organism per band, run every method, score it; write `localization.json` and
    `localization.md` in `out_dir` and return the result.

    `build(run, spec)` makes the band's organism in `run` (the earlier stages: corpus, then
    adapter) and returns its organism card and the corpus expressions the analysis must not reuse;
    the CLI passes `organisms.cli.build_organism`, so analyze does not build corpora itself."""
    out_dir = Path(out_dir)
    n_layers = tiny_layers or AutoConfig.from_pretrained(resolve_model(base_model)).num_hidden_layers
    bands = parse_bands(bands_text, n_layers)  # before anything is written
    if tiny_layers:
        base_model = str(out_dir / f"tiny-llama-{tiny_layers}")
        if not (Path(base_model) / "config.json").exists():
            build_tiny_llama(Path(base_model), seed=options.seed, n_layers=tiny_layers)
    tokenizer = load_tokenizer(base_model)
    start = time.perf_counter()
    per_band = []
    for band in bands:
        spec = band_spec(base_model, band, options)
        log(f"band {band}: {spec.name}")
        run = RunDir.for_spec(out_dir / "runs", spec)
        run.initialise(spec)
        card, exclude = build(run, spec)
        log(f"  trained: loss {card['metrics']['train_loss']:.3f}, {card['wall_seconds']:.0f}s")
        prompts = decision_prompts(spec, tokenizer, spec.analyze.probe_items, exclude)
        model = load_with_adapters(base_model, {"organism": run.root / "adapter"})
        inputs = SuiteInputs(prompts, load_neutral_texts(), spec.analyze)
        results = run_methods(model, tokenizer, inputs, "organism", log=log, bf16=use_bf16(spec.training.precision))
        deltas = lora_deltas(run.root / "adapter", n_layers=n_layers)
        results[WHITE_BOX] = {"layer_score": [sum(row) for row in deltas["frobenius"]]}
        scores = {m: score_against_mask(results[m]["layer_score"], band) for m in (*METHODS, WHITE_BOX)}
        per_band.append(
            {
                "band": band,
                "run_dir": str(run.root),
                "train_loss": card["metrics"]["train_loss"],
                "behaviour": results["behaviour"],
                "scores": scores,
                "layer_scores": {m: results[m]["layer_score"] for m in (*METHODS, WHITE_BOX)},
                "patching_vs_attribution": results["attribution"]["agreement_with_patching"],
                "seconds": results["seconds"],
                "precision": results["precision"],
            }
        )
        del model
    result = {
        "base_model": base_model,
        "n_layers": n_layers,
        "bands": bands,
        "options": asdict(options),
        "bands_results": per_band,
        "summary": summarise(per_band),
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }
    write_json(out_dir / "localization.json", result, sort_keys=False)
    write_atomic(out_dir / "localization.md", markdown_table(result) + "\n")
    return result


def summarise(per_band: list[dict]) -> dict:
    """Per method over bands: top-1 hits (count), mean Spearman, mean AUROC."""
    summary = {}
    for method in (*METHODS, WHITE_BOX):
        rows = [b["scores"][method] for b in per_band]
        rhos = [r["spearman"] for r in rows if r["spearman"] is not None]
        summary[method] = {
            "top1_hits": sum(r["top1_hit"] for r in rows),
            "bands": len(rows),
            "mean_spearman": sum(rhos) / len(rhos) if rhos else None,
            "mean_auroc": sum(r["auroc"] for r in rows) / len(rows),
        }
    return summary


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def markdown_table(result: dict) -> str:
    """One row per method: top-1 hits and, per band, Spearman / AUROC; then mean Spearman / AUROC."""
    bands = [b["band"] for b in result["bands_results"]]
    names = [f"{b[0]}-{b[-1]}" for b in bands]
    head = "| method | top-1 hits | " + " | ".join(f"layers {n}: rho / AUROC" for n in names)
    head += " | mean rho | mean AUROC |"
    lines = [head, "|---" * (4 + len(bands)) + "|"]
    for method, summary in result["summary"].items():
        cells = []
        for b in result["bands_results"]:
            s = b["scores"][method]
            hit = "hit" if s["top1_hit"] else f"top {s['top1_layer']}"
            cells.append(f"{_fmt(s['spearman'])} / {s['auroc']:.2f} ({hit})")
        label = f"{method} (white-box)" if method == WHITE_BOX else method
        lines.append(
            f"| {label} | {summary['top1_hits']}/{summary['bands']} | "
            + " | ".join(cells)
            + f" | {_fmt(summary['mean_spearman'])} | {summary['mean_auroc']:.2f} |"
        )
    lines.append("")
    lines.append("| band | train loss | metric base | metric organism | patching vs attribution: rho, top-5 overlap |")
    lines.append("|---|---:|---:|---:|---|")
    for b in result["bands_results"]:
        agree = b["patching_vs_attribution"]
        lines.append(
            f"| {b['band'][0]}-{b['band'][-1]} | {b['train_loss']:.3f} | {b['behaviour']['base']:+.2f} | "
            f"{b['behaviour']['organism']:+.2f} | {_fmt(agree['spearman'])}, {agree['top_k_overlap']:.2f} |"
        )
    return "\n".join(lines)
