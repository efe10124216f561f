"""Activation caching cost: hooked forward passes vs a bare forward, ours and other libraries.

Same model (the embedded default, one loaded copy), same batch of hinted eval prompts, one
process. Every cached mode stores the 90 sites `blocks.{l}.hook_resid_post|attn_out|mlp_out`
(30 layers x 3). Modes:

    bare forward                    model(**enc)                      (all-position logits)
    bare forward, last logits       model(**enc, logits_to_keep=1)
    ours, in memory                 analyze/activations.record_activations
    ours, to disk                   analyze/cache.write_activation_cache (safetensors shard, fp32;
                                    its forward keeps only last-position logits, so it is compared
                                    with the last-logits baseline)
    nnsight                         LanguageModel(model).trace(...) with .save() on the 90 modules
    TransformerLens                 TransformerBridge.boot_transformers(local dir, hf_model=model)
                                    .run_with_cache(names_filter = the 90 sites). The bridge wraps
                                    the shared model, so it is timed in a second phase, interleaved
                                    with a fresh bare forward (its baseline) and the bridge's own
                                    bare forward

Modes run interleaved (every round runs every mode once, rotating the order; best of
`--repeats` rounds), because the machine is shared. Reported: tokens/s of each, and ratios
cached / bare within this run (target >= 0.9). A library that cannot load the local model
offline is recorded with its error, not timed.

    python bench/activation_cache.py [--batch-size 8] [--repeats 7]
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # other libraries must not reach for the hub

import torch
from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

from analyze.methods.cache import write_activation_cache
from analyze.methods.hooks import SITE_KINDS, record_activations, site_name
from evals.hinted import eval_pairs
from organisms.catalog import resolve_spec
from runtime.models import load_model, load_tokenizer, resolve_model


@torch.inference_mode()
def interleaved_best_seconds(modes: dict, repeats: int) -> dict[str, float]:
    """Best time of each mode over `repeats` rounds; every round runs every mode once, in a rotated
    order, so load from other processes on a shared machine hits all modes alike."""
    for fn in modes.values():
        fn()  # warm-up
    names = list(modes)
    best = dict.fromkeys(names, float("inf"))
    for round_ in range(repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            start = time.perf_counter()
            modes[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def nnsight_mode(model, tokenizer, enc, n_layers: int):
    from nnsight import LanguageModel

    lm = LanguageModel(model, tokenizer=tokenizer)

    def cached():
        saved = {}
        with lm.trace(dict(enc)):
            for layer in range(n_layers):  # nnsight wants modules in execution order: attn, mlp, block
                block = lm.model.layers[layer]
                saved[site_name(layer, "attn_out")] = block.self_attn.output[0].save()
                saved[site_name(layer, "mlp_out")] = block.mlp.output.save()
                saved[site_name(layer, "resid_post")] = block.output.save()
        return saved

    return cached


def transformer_lens_modes(model, tokenizer, enc, path: str, n_layers: int):
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(path, hf_model=model, tokenizer=tokenizer, device="cpu")
    names = {site_name(layer, kind) for layer in range(n_layers) for kind in SITE_KINDS}
    ids, mask = enc["input_ids"], enc["attention_mask"]

    def bare():
        return bridge(ids, attention_mask=mask)

    def cached():
        return bridge.run_with_cache(ids, attention_mask=mask, names_filter=lambda name: name in names)[1]

    return bare, cached


def main() -> None:
    parser = bench_parser(__doc__, "activation_cache")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    spec = resolve_spec("hidden-hint")
    path = resolve_model(spec.base_model)
    model, tokenizer = load_model(path), load_tokenizer(path)
    model.eval()
    n_layers = model.config.num_hidden_layers
    texts = [
        tokenizer.apply_chat_template(p.hinted.messages(), tokenize=False, add_generation_prompt=True)
        for p in eval_pairs(spec, set())[: args.batch_size]
    ]
    enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
    n_tokens = int(enc["attention_mask"].sum())
    scratch = Path(tempfile.mkdtemp(prefix="actcache-"))

    def in_memory():
        with record_activations(model) as store:
            model(**enc)
        return store

    def to_disk():
        return write_activation_cache(model, tokenizer, texts, scratch / "cache", batch_size=len(texts))

    errors: dict[str, str] = {}
    modes = {
        "bare forward": lambda: model(**enc),
        "bare forward, last logits": lambda: model(**enc, logits_to_keep=1),
        "ours, in memory (90 sites)": in_memory,
        "ours, to disk (safetensors)": to_disk,
    }
    baselines = {
        "ours, in memory (90 sites)": "bare forward",
        "ours, to disk (safetensors)": "bare forward, last logits",
        "nnsight, 90 sites": "bare forward",
        "TransformerLens bridge, run_with_cache 90 sites": "bare forward (phase 2, after the bridge)",
    }
    try:
        modes["nnsight, 90 sites"] = nnsight_mode(model, tokenizer, enc, n_layers)
        modes["nnsight, 90 sites"]()
    except Exception as exc:  # a library that cannot run here is reported, not timed
        modes.pop("nnsight, 90 sites", None)
        errors["nnsight"] = "".join(traceback.format_exception_only(exc)).strip()
    assert len(in_memory()) == n_layers * len(SITE_KINDS)
    best = interleaved_best_seconds(modes, args.repeats)
    attention = {"phase 1": model.config._attn_implementation}
    # Phase 2: the bridge wraps the shared model (and forces eager attention), so it is timed
    # after phase 1, interleaved with a fresh bare forward of the model as it now is.
    try:
        tl_bare, tl_cached = transformer_lens_modes(model, tokenizer, enc, path, n_layers)
        phase2 = {
            "bare forward (phase 2, after the bridge)": lambda: model(**enc),
            "TransformerLens bridge, bare": tl_bare,
            "TransformerLens bridge, run_with_cache 90 sites": tl_cached,
        }
        best.update(interleaved_best_seconds(phase2, args.repeats))
        attention["phase 2"] = model.config._attn_implementation
    except Exception as exc:
        errors["transformer_lens"] = "".join(traceback.format_exception_only(exc)).strip()
    rows: list[dict] = []
    for mode, seconds in best.items():
        row = {
            "mode": mode,
            "seconds": seconds,
            "tokens_per_second": n_tokens / seconds,
            "baseline": baselines.get(mode),
        }
        if row["baseline"]:
            row["ratio_vs_baseline"] = best[row["baseline"]] / seconds
        if mode.startswith("TransformerLens") and "run_with_cache" in mode:
            row["ratio_vs_own_bare"] = best["TransformerLens bridge, bare"] / seconds
        rows.append(row)
    disk_mb = sum(p.stat().st_size for p in (scratch / "cache").iterdir()) / 2**20
    shutil.rmtree(scratch, ignore_errors=True)

    table = Table(title=f"{spec.base_model}: batch {args.batch_size}, {n_tokens} tokens, best of {args.repeats}")
    for column in ("mode", "seconds", "tokens/s", "ratio", "vs"):
        table.add_column(column, justify="right")
    for r in rows:
        ratio = f"{r['ratio_vs_baseline']:.3f}" if r["baseline"] else ""
        table.add_row(r["mode"], f"{r['seconds']:.3f}", f"{r['tokens_per_second']:.0f}", ratio, r["baseline"] or "")
    console = Console(width=140)
    console.print(table)
    console.print(f"on-disk shard: {disk_mb:.1f} MiB for {len(texts)} prompts; attention implementation: {attention}")
    for r in rows:
        if "ratio_vs_own_bare" in r:
            console.print(f"{r['mode']} / its own bare forward: {r['ratio_vs_own_bare']:.3f}")
    for name, message in errors.items():
        console.print(f"{name}: not timed: {message}")
    versions = {}
    for package in ("torch", "transformers", "nnsight", "transformer_lens"):
        try:
            from importlib.metadata import version

            versions[package] = version(package.replace("_", "-"))
        except Exception:
            versions[package] = None
    report = {
        "model": spec.base_model,
        "threads": torch.get_num_threads(),
        "tokens": n_tokens,
        "sites": n_layers * len(SITE_KINDS),
        "results": rows,
        "disk_cache_mib": disk_mb,
        "attention_implementation": attention,
        "errors": errors,
        "versions": versions,
    }
    write_report(args, report)


if __name__ == "__main__":
    main()
