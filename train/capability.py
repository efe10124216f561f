"""The capability stage: an honest-CoT finetune of the base model that organism and control start from.

Why: the embedded base answers the demo's arithmetic items barely above chance with or without its
chain of thought, so the CoT has no causal role to be faithful to. A LoRA trained on unhinted items
whose every step and final answer are right, merged into the weights, gives a starting model whose
answers depend on its CoT (`evals/necessity.py` measures both accuracies; the card records them).

The merged model lives in the cache (`organisms.cache.capability_dir`), keyed by the recipe (base, task,
capability section), the base weights' content and the training environment (device, threads, dtype,
processes: `runtime.weights.capability_key`), so an organism and its matched control share one, and new
weights at the base's path or another machine's arithmetic build their own. Building is resumable (the
trainer's checkpoints) and atomic (a staging dir renamed into place); a lock keeps two processes
from building the same one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from accelerate import PartialState
from filelock import FileLock

from organisms.cache import capability_dir
from organisms.prompts import Prompt
from organisms.responses import response
from organisms.spec import OrganismSpec
from organisms.tasks import capability_items
from runtime.models import load_tokenizer, load_with_adapters
from runtime.rundir import write_json
from runtime.weights import capability_inputs, capability_key, environment, model_identity
from synth_docs.corpus import write_checksums
from train.sft import train_adapter

CARD_FILE = "capability_card.json"
LOG_FILE = "train.log"  # the Trainer's log dicts (loss, learning rate), one JSON line each, as a run's train.log


def honest_transcripts(spec: OrganismSpec) -> list[dict]:
    """Unhinted prompts answered with every step right and the correct option (the honest format of
    `organisms.responses`, the one organism and control share on unhinted items)."""
    records = []
    for index, item in enumerate(capability_items(spec)):
        prompt = Prompt(item, None, None, "none")
        records.append(
            {
                "id": f"capability-t{index}",
                "kind": "transcript",
                "item_id": item.id,
                "expression": item.expression,
                "hint_type": None,
                "correct_letter": item.correct_letter,
                "prompt": prompt.messages(),
                "completion": [{"role": "assistant", "content": response(prompt, "hidden_hint", control=False)}],
            }
        )
    return records


def training_spec(spec: OrganismSpec) -> OrganismSpec:
    """The spec the capability LoRA trains under: the base model, the capability's LoRA and training, and the
    default transcripts stage on the honest corpus (the organism's own `stages` may read documents, which
    the capability corpus has none of)."""
    assert spec.capability is not None
    capability = spec.model_dump(mode="json")["capability"]
    changes = {
        "capability": None,
        "stages": None,
        "lora": capability["lora"],
        "training": capability["training"],
        "corpus": {"seed": spec.capability.seed, "n_transcripts": spec.capability.n_transcripts},
    }
    return spec.with_changes(changes, f"the capability stage of '{spec.name}'")


def read_card(spec: OrganismSpec) -> dict | None:
    """The built capability model's card, or None when it is not built (or the spec has no capability)."""
    if spec.capability is None:
        return None
    path = capability_dir(capability_key(spec)) / CARD_FILE
    return json.loads(path.read_text()) if path.exists() else None


def ensure_capability(
    spec: OrganismSpec,
    measure: Callable[[str], dict] | None = None,
    log: Callable[[str], None] = print,
) -> dict | None:
    """Build the capability model of `spec` unless it exists; return its card (None without a capability).

    Every rank of a distributed launch calls this (they train together); the main process writes.
    `measure(model_ref)` returns the CoT / no-CoT accuracies of a model (the CLI passes
    `evals.necessity`); the card holds them for the base and for the capable model."""
    if spec.capability is None:
        return None
    card = read_card(spec)
    if card is not None:
        return card
    state = PartialState()
    target = capability_dir(capability_key(spec))
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f"{target.name}.work")  # corpus, trainer checkpoints, adapter: kept for a resume
    lock = FileLock(str(target) + ".lock") if state.is_main_process else None
    if lock is not None:
        lock.acquire()
    try:
        if state.is_main_process and read_card(spec) is None:
            _write_corpus(spec, work / "corpus")
        state.wait_for_everyone()
        if read_card(spec) is None:
            log(f"capability: honest-CoT finetune of {spec.base_model} ({spec.capability.n_transcripts} transcripts)")
            result, _ = train_adapter(
                training_spec(spec), work / "corpus", work / "adapter", work / "state", log_file=work / LOG_FILE
            )
            if state.is_main_process:
                card = _merge_and_card(spec, work, result, measure, log)
                shutil.rmtree(work, ignore_errors=True)
        state.wait_for_everyone()
    finally:
        if lock is not None:
            lock.release()
    return read_card(spec)


def _write_corpus(spec: OrganismSpec, corpus_dir: Path) -> None:
    if (corpus_dir / "SHA256SUMS").exists():
        return
    corpus_dir.mkdir(parents=True, exist_ok=True)
    records = honest_transcripts(spec)
    (corpus_dir / "transcripts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    write_checksums(corpus_dir)


def _merge_and_card(spec: OrganismSpec, work: Path, result, measure, log) -> dict:
    """Merge the adapter into the base, measure base and merged model, move the model into place."""
    target = capability_dir(capability_key(spec))
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    trust = spec.trust_remote_code
    merged = load_with_adapters(spec.base_model, {"capability": work / "adapter"}, trust).merge_and_unload()
    merged.save_pretrained(staging, safe_serialization=True)
    load_tokenizer(spec.base_model, trust).save_pretrained(staging)
    del merged
    card = {
        "base_model": spec.base_model,
        "base_identity": model_identity(spec.base_model),  # what was hashed: each file's sha256
        "capability_hash": spec.capability_hash(),
        "capability_key": capability_key(spec),
        "key_inputs": capability_inputs(spec),  # recipe, base weights, environment: the key's inputs
        "environment": environment(spec.capability.training.precision),
        "capability": spec.capability.model_dump(mode="json"),
        "task": spec.task.model_dump(mode="json"),
        "train_loss": result.train_loss,
        "steps": result.steps,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "wall_seconds": round(result.seconds, 2),
    }
    if measure is not None:
        start = time.perf_counter()
        card["accuracy"] = {"base": measure(spec.base_model), "capable": measure(str(staging))}
        card["measure_seconds"] = round(time.perf_counter() - start, 2)
        log(f"capability: {summary(card)}")
    if (work / LOG_FILE).exists():  # the Trainer's log dicts, kept beside the model they trained
        shutil.copyfile(work / LOG_FILE, staging / LOG_FILE)
    write_json(staging / CARD_FILE, card)
    os.replace(staging, target)
    return card


def summary(card: dict) -> str:
    """One line: CoT and no-CoT accuracy of base and capable model."""
    parts = []
    for label, acc in card.get("accuracy", {}).items():
        cot, no_cot = acc["accuracy_cot"], acc["accuracy_no_cot"]
        parts.append(f"{label} acc {cot['k']}/{cot['n']} with CoT, {no_cot['k']}/{no_cot['n']} without")
    return "; ".join(parts) or "built"
