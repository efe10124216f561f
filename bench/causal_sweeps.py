"""Patching and steering sweeps: the reference paths against the batched / resumed ones, same run.

On a trained run directory (its spec, its adapter, the analyze stage's own inputs: the first
`analyze.items` hinted decision prompts, the built-in neutral texts, the spec's precision):

    patching, one site per forward   analyze.methods.patching.patching_sweep(batched=False): 2 x 3 x L full forwards
    patching, batched                patching_sweep(): 2 x L forwards of 3 x items rows, layers l.. only
    steering, every layer            analyze.methods.steering.steering_sweep(reuse_clean_layers=False)
    steering, from the clean run     steering_sweep(): each steered forward starts after the steered layer

The clean runs are computed once and shared, as in the analyze stage. Modes run interleaved
(every round runs each once, the order rotated), because the machine is shared. Reported per
mode: seconds (best of `--rounds`), model forwards, row-layers (decoder layers run x rows: the
work), and the largest score difference from its reference. The load average is printed beside.

    python bench/causal_sweeps.py --run /tmp/demo/runs/hidden-hint/<id> [--rounds 1]
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

from analyze.methods.behaviour import LogitDiff, decision_prompts, encode_left
from analyze.methods.hooks import decoder_layers
from analyze.methods.neutral import load_neutral_texts
from analyze.methods.patching import clean_runs, patching_sweep
from analyze.methods.steering import steering_sweep
from analyze.methods.suite import autocast
from organisms.spec import load_spec_file
from runtime.models import load_tokenizer, load_with_adapters
from runtime.precision import use_bf16
from synth_docs.corpus import corpus_expressions


def max_difference(a: dict, b: dict, keys: tuple[str, ...]) -> float:
    """Largest |a - b| over the per-layer lists under `keys` (dicts of lists or lists)."""
    worst = 0.0
    for key in keys:
        groups = a[key].items() if isinstance(a[key], dict) else [(None, a[key])]
        for sub, values in groups:
            other = b[key][sub] if sub is not None else b[key]
            worst = max(worst, max(abs(x - y) for x, y in zip(values, other, strict=True)))
    return worst


def main() -> None:
    parser = bench_parser(__doc__, "causal_sweeps")
    parser.add_argument("--run", type=Path, required=True, help="a trained run directory (read only)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    spec = load_spec_file(args.run / "spec.yaml")
    tokenizer = load_tokenizer(spec.base_model)
    model = load_with_adapters(spec.base_model, {"organism": args.run / "adapter"})
    exclude = corpus_expressions(args.run / "corpus")
    prompts = decision_prompts(spec, tokenizer, spec.analyze.probe_items, exclude)
    hinted = [p for p in prompts if not p.twin][: spec.analyze.items]
    task_enc = encode_left(tokenizer, [p.text for p in hinted]).to(model.device)
    metric = LogitDiff(tokenizer, hinted)
    neutral_enc = tokenizer(
        load_neutral_texts(), return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False
    ).to(model.device)
    steering = {"max_nll_increase": spec.analyze.max_nll_increase, "scales": tuple(spec.analyze.steering_scales)}

    counts = {"forwards": 0, "row_layers": 0}
    model.register_forward_pre_hook(
        lambda module, args_, kwargs: counts.__setitem__("forwards", counts["forwards"] + 1), with_kwargs=True
    )
    for layer in decoder_layers(model):
        layer.self_attn.register_forward_pre_hook(
            lambda module, args_, kwargs: counts.__setitem__(
                "row_layers", counts["row_layers"] + kwargs["hidden_states"].shape[0]
            ),
            with_kwargs=True,
        )

    bf16 = use_bf16(spec.training.precision)
    with autocast(model, bf16):
        start = time.perf_counter()
        clean = clean_runs(model, task_enc, metric, "organism")
        clean_seconds = time.perf_counter() - start
        modes = {
            "patching, one site per forward": lambda: patching_sweep(
                model, task_enc, metric, "organism", clean, batched=False
            ),
            "patching, batched": lambda: patching_sweep(model, task_enc, metric, "organism", clean),
            "steering, every layer": lambda: steering_sweep(
                model, task_enc, metric, neutral_enc, clean, **steering, reuse_clean_layers=False
            ),
            "steering, from the clean run": lambda: steering_sweep(
                model, task_enc, metric, neutral_enc, clean, **steering
            ),
        }
        names = list(modes)
        seconds = dict.fromkeys(names, float("inf"))
        results, work = {}, {}
        load = [os.getloadavg()[0]]
        for round_ in range(args.rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                counts.update(forwards=0, row_layers=0)
                start = time.perf_counter()
                results[name] = modes[name]()
                seconds[name] = min(seconds[name], time.perf_counter() - start)
                work[name] = dict(counts)
                load.append(os.getloadavg()[0])
    patch_keys = ("organism_to_base", "base_to_organism", "layer_score")
    steer_keys = ("scale", "neutral_nll", "steered_metric", "layer_score")
    reference = {
        "patching, batched": ("patching, one site per forward", patch_keys),
        "steering, from the clean run": ("steering, every layer", steer_keys),
    }
    rows = []
    for name in names:
        row = {"mode": name, "seconds": round(seconds[name], 2), **work[name]}
        if name in reference:
            ref, keys = reference[name]
            row["speedup"] = round(seconds[ref] / seconds[name], 2)
            row["max_score_difference"] = max_difference(results[name], results[ref], keys)
        rows.append(row)

    n_tokens = int(task_enc["attention_mask"].sum())
    title = (
        f"{spec.name} ({args.run.name}): {len(hinted)} prompts, {n_tokens} tokens, "
        f"{len(decoder_layers(model))} layers, "
        f"{'bf16 autocast' if bf16 else 'fp32'}, best of {args.rounds}"
    )
    table = Table(title=title)
    for column in ("mode", "seconds", "forwards", "row-layers", "speedup", "max |score diff|"):
        table.add_column(column, justify="right")
    for r in rows:
        diff = r.get("max_score_difference")
        table.add_row(
            r["mode"],
            f"{r['seconds']:.1f}",
            str(r["forwards"]),
            str(r["row_layers"]),
            f"{r['speedup']:.2f}x" if "speedup" in r else "",
            "" if diff is None else f"{diff:.2e}",
        )
    console = Console(width=140)
    console.print(table)
    console.print(
        f"clean runs (shared, once): {clean_seconds:.1f}s; 1-min load average during the run: "
        f"{min(load):.2f}-{max(load):.2f} on {os.cpu_count()} CPUs; torch threads {torch.get_num_threads()}"
    )
    write_report(
        args,
        {
            "run": str(args.run),
            "prompts": len(hinted),
            "tokens": n_tokens,
            "precision": "bf16 autocast" if bf16 else "fp32",
            "clean_runs_seconds": round(clean_seconds, 2),
            "load_average": load,
            "torch_threads": torch.get_num_threads(),
            "modes": rows,
        },
    )


if __name__ == "__main__":
    main()
