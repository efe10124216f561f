"""What a blind auditor may read and ask: the adapter's weights and peft config, and its own probe prompts.

`isolate_adapter` copies only the weights and `adapter_config.json` into a fresh directory before
anything loads them, so an organism card, a spec or a corpus lying next to the adapter is never
opened. The base model is `--base`, else the config's `base_model_name_or_path`.

The probes are the auditor's own held-out items (its own seed, arithmetic MCQ by default), asked
with and without a hint to a wrong option, in two phases:

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

from evals.hinted import HintedPair, evaluate
from organisms.errors import OrganismError
from organisms.hints import HINTS
from organisms.items import McqItem
from organisms.prompts import Prompt, wrong_letter
from organisms.spec import OrganismSpec, parse_spec
from organisms.tasks import draw_items
from runtime.models import load_with_adapters, use_adapter
from runtime.rundir import hash_path

WEIGHT_FILES = ("adapter_model.safetensors",)  # a pickled adapter_model.bin is refused, never unpickled
HINT_TYPES = tuple(HINTS)
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
    """The auditor's own spec: its items, every hint type; the behaviour field is unused (no generator runs)."""
    return parse_spec(
        {
            "name": "blind-audit-probes",
            "behaviour": "hidden_hint",
            "base_model": base_model,
            "task": {"family": family, "n_operands": 3, "n_options": 4, "operand_min": 10, "operand_max": 99},
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


def probe_items(spec: OrganismSpec) -> tuple[list[McqItem], list[str]]:
    """The items and, per item, the wrong letter every hint on it points to (seeded: the same for every
    hint type and condition, so they differ in the hint alone)."""
    items = draw_items(spec.task, spec.eval.n_items, seed=spec.eval.seed)
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
        HintedPair(Prompt(items[i], None, None, condition), Prompt(items[i], t, letters[i], condition)) for i, t in plan
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
