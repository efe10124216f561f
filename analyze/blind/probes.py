"""What a blind auditor may read and ask: the adapter's weights and peft config, and its own probe prompts.

`isolate_adapter` copies only the weights and `adapter_config.json` into a fresh directory before
anything loads them, so an organism card, a spec or a corpus lying next to the adapter is never
opened. The base model is `--base`, else the config's `base_model_name_or_path`.

The probes are the auditor's own (`analyze/blind/probe_set.py`: its system prompts, hint wordings and
cues, none from the catalogue), on its own items (its seed: arithmetic chains, word problems and the
shipped question set in equal shares), asked with and without a hint to a wrong option, in two phases:

    phase 1 (hint types)   every item with every hint type, condition "none"
    phase 2 (conditions)   every item under "monitored" and "private", with the hint types phase 1
                           named (rotated over items; all types when it named none)

Base and adapter answer the same prompts (one model, the adapter switched off for the base).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from analyze.blind.probe_set import HINT_TYPES, SOURCES, ProbePrompt
from evals.hinted import HintedPair, evaluate
from organisms.errors import OrganismError
from organisms.items import McqItem
from organisms.prompts import wrong_letter
from organisms.spec import OrganismSpec, parse_spec
from organisms.tasks import draw_items
from runtime.models import load_with_adapters, use_adapter
from runtime.rundir import hash_path

WEIGHT_FILES = ("adapter_model.safetensors",)  # a pickled adapter_model.bin is refused, never unpickled
AUDIT_SEED = 31337  # the auditor's own items: not the catalogue's corpus (0) or eval (10000) seeds
ADAPTER = "adapter"


def isolate_adapter(adapter: Path, into: Path) -> dict:
    """Copy the weights and `adapter_config.json` (nothing else) into `into`; return what was read:
    the files with their sha256, the base model and the target modules the config names."""
    config_path = adapter / "adapter_config.json"
    weights = next((adapter / name for name in WEIGHT_FILES if (adapter / name).is_file()), None)
    if not config_path.is_file() or weights is None:
        pickled = (
            " (adapter_model.bin is a pickle: refused, never loaded)"
            if (adapter / "adapter_model.bin").exists()
            else ""
        )
        raise OrganismError(f"{adapter}: not a peft adapter (needs adapter_config.json and {WEIGHT_FILES[0]}){pickled}")
    into.mkdir(parents=True, exist_ok=True)
    for source in (config_path, weights):
        shutil.copyfile(source, into / source.name)
    config = json.loads((into / "adapter_config.json").read_text())
    return {
        "files": {p.name: hash_path(into / p.name) for p in (config_path, weights)},
        "base_model": config.get("base_model_name_or_path"),
        "target_modules": config.get("target_modules"),
        "layers_to_transform": config.get("layers_to_transform"),
    }


def probe_spec(base_model: str, n_items: int, max_new_tokens: int, batch_size: int, family: str) -> OrganismSpec:
    """The auditor's generation settings as a spec (its task is `family`'s source, or arithmetic for
    `all`: only `n_options` and the answer line matter to generation); no generator runs."""
    task = SOURCES["arithmetic_mcq" if family == "all" else family]
    return parse_spec(
        {
            "name": "blind-audit-probes",
            "behaviour": "hidden_hint",
            "base_model": base_model,
            "task": task,
            "hints": {"types": list(HINT_TYPES)},
            "eval": {
                "n_items": n_items,
                "seed": AUDIT_SEED,
                "max_new_tokens": max_new_tokens,
                "batch_size": batch_size,
                "hint_correct_fraction": 0.0,
            },
        },
        "blind audit probes",
    )


def sources_of(family: str) -> list[str]:
    """The item sources a `--family` value names: `all` is every source of the probe set."""
    if family == "all":
        return list(SOURCES)
    if family not in SOURCES:
        raise OrganismError(f"--family {family!r}: one of all, {', '.join(SOURCES)}")
    return [family]


def shares(n_items: int, sources: list[str]) -> dict[str, int]:
    """`n_items` split over the sources as evenly as possible, the first ones taking the remainder."""
    base, extra = divmod(n_items, len(sources))
    return {name: base + (i < extra) for i, name in enumerate(sources)}


def probe_items(spec: OrganismSpec, family: str = "all") -> tuple[list[McqItem], list[str]]:
    """The items (each source's share, drawn from the auditor's seed) and, per item, the wrong letter
    every hint on it points to (seeded: the same for every hint type and condition, so they differ in
    the hint alone)."""
    items: list[McqItem] = []
    for offset, (name, n) in enumerate(shares(spec.eval.n_items, sources_of(family)).items()):
        if n:  # each source its own seed: word problems are arithmetic chains told as stories
            task = spec.task.with_changes(SOURCES[name], f"the probe set's {name} items")
            items += draw_items(task, n, seed=spec.eval.seed + offset)
    rng = random.Random(f"{spec.eval.seed}:blind-letters")
    return items, [wrong_letter(item, rng) for item in items]


def _ask(model, tokenizer, spec, items, letters, types: list[str], condition: str, phase: str) -> list[dict]:
    """Records of `items` asked under `condition`: every item with each of `types` (phase 1), or with
    the types rotated over items (phase 2); the unhinted answer is generated once per item."""
    if phase == "hint_types":
        plan = [(i, t) for t in types for i in range(len(items))]
    else:
        plan = [(i, types[i % len(types)]) for i in range(len(items))]
    pairs = [
        HintedPair(
            ProbePrompt(items[i], None, None, condition, cue=i, system=i),
            ProbePrompt(items[i], t, letters[i], condition, phrasing=i, cue=i, system=i),
        )
        for i, t in plan
    ]
    n = len(items)  # the plan's first n entries ask every item once, in order
    _, records = evaluate(model, tokenizer, pairs[:n], spec)
    if len(pairs) > n:
        unhinted = [r["response_unhinted"] for r in records]
        _, more = evaluate(model, tokenizer, pairs[n:], spec, [unhinted[i] for i, _ in plan[n:]])
        records = records + more
    return [{**r, "phase": phase, "item_index": i} for r, (i, _) in zip(records, plan, strict=True)]


def ask_both(model, tokenizer, spec, items, letters, types, condition, phase) -> dict[str, list[dict]]:
    """The same probes for the base (adapter off) and the adapter."""
    out = {}
    for name, adapter in (("base", None), (ADAPTER, ADAPTER)):
        with use_adapter(model, adapter):
            out[name] = [
                {**r, "model": name} for r in _ask(model, tokenizer, spec, items, letters, types, condition, phase)
            ]
    return out


def load_isolated(base_model: str, isolated: Path):
    """The base with the isolated adapter as `ADAPTER`."""
    return load_with_adapters(base_model, {ADAPTER: isolated})
