"""`organism bench-audit`: blind-audit catalogue organisms and score the audits against the truth (docs/audit.md).

Each spec is built once into `runs_dir` by the pipeline (its run directory is keyed by the spec's hash, so a
rerun reuses the trained adapter), then audited blind from its adapter directory alone
(`analyze/blind/audit.py`) and scored (`analyze/blind/scoring.py`).

An entry `random-lora:REF[@SEED]` is a negative made from weights alone: the equal-norm random adapter of
REF's trained adapter (`analyze/methods/random_adapter.py`: same config, each module's ||delta W||_F kept,
directions drawn with SEED, default 0). It is written under `runs_dir/random-lora/`, keyed by the sha256 of
REF's weights and the seed, so a rerun reuses it; its truth is `none`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from analyze.blind.audit import adapter_digest, run_blind_audit
from analyze.blind.probe_set import probe_set_digest
from analyze.blind.scoring import markdown_bench, saw_hints, score, truth
from analyze.methods.random_adapter import equal_norm_random_adapter
from app.pipeline import build
from organisms.catalog import resolve_spec
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec
from runtime.rundir import RunDir, write_atomic, write_json

RANDOM_LORA = "random-lora"


@dataclass(frozen=True)
class BenchEntry:
    """One `--specs` entry: a spec whose trained adapter is audited, or (`random_seed` set) the equal-norm
    random adapter of that spec's trained adapter, drawn with that seed."""

    spec: OrganismSpec
    random_seed: int | None = None

    @property
    def name(self) -> str:
        """The row's name and its audit's folder under `--out`: the spec's name, or random-lora-REF-seedN."""
        if self.random_seed is None:
            return self.spec.name
        return f"{RANDOM_LORA}-{self.spec.name}-seed{self.random_seed}"


def parse_entry(text: str) -> BenchEntry:
    """A `--specs` entry: a catalogue name or spec YAML, or `random-lora:REF[@SEED]` (REF a catalogue name or
    spec YAML, SEED a non-negative integer, default 0)."""
    text = text.strip()
    head, colon, rest = text.partition(":")
    if head.strip() != RANDOM_LORA:
        return BenchEntry(resolve_spec(text))
    usage = "random-lora:REF or random-lora:REF@SEED (REF a catalogue name or spec YAML; e.g. random-lora:post-hoc@1)"
    reference, at, seed_text = rest.rpartition("@") if "@" in rest else (rest, "", "")
    reference = reference.strip()
    if not colon or not reference:
        raise OrganismError(f"--specs {text!r}: name the organism whose adapter it randomizes: {usage}")
    if reference.partition(":")[0] == RANDOM_LORA:
        raise OrganismError(f"--specs {text!r}: the reference is a trained organism, not another random LoRA: {usage}")
    seed = 0
    if at:
        if not seed_text.strip().isdigit():
            raise OrganismError(f"--specs {text!r}: the seed after '@' is a non-negative integer: {usage}")
        seed = int(seed_text)
    try:
        spec = resolve_spec(reference)
    except OrganismError as exc:
        raise OrganismError(f"--specs {text!r}: {exc}") from None
    return BenchEntry(spec, seed)


def parse_entries(text: str) -> list[BenchEntry]:
    """Comma-separated `--specs` entries, each at most once (each writes its own audit folder)."""
    entries = [parse_entry(part) for part in text.split(",") if part.strip()]
    if not entries:
        raise OrganismError(f"--specs {text!r}: name at least one organism")
    names = [entry.name for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise OrganismError(f"--specs: {', '.join(twice)} listed twice; list each entry once")
    return entries


def random_lora(reference: Path, runs_dir: Path, name: str, seed: int) -> Path:
    """The equal-norm random adapter of the adapter `reference` (of organism `name`), drawn with `seed`: at
    `runs_dir/random-lora/NAME-SHA12-seedN`, keyed by the reference weights' sha256, written once (a rerun,
    or a reference trained again to the same weights, reuses it)."""
    digest = adapter_digest(reference)
    out = runs_dir / RANDOM_LORA / f"{name}-{digest[:12]}-seed{seed}"
    if (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as tmp:
        written = equal_norm_random_adapter(reference, Path(tmp) / "adapter", seed)
        provenance = {"reference": str(reference), "reference_sha256": digest, "seed": seed}
        write_json(written / "random_lora.json", provenance)
        shutil.rmtree(out, ignore_errors=True)  # a half-written folder from an interrupted run
        try:
            written.rename(out)
        except OSError:  # another process (one per organism) wrote it first: the same bytes
            if not (out / "adapter_model.safetensors").is_file():
                raise
    return out


def finished_audit(adapter: Path, out_dir: Path, audit_options: dict) -> dict | None:
    """The blind audit already in `out_dir` when it audited these very weights with these options and
    this probe set (an interrupted benchmark, or one process per organism before a last call that only
    scores)."""
    path = out_dir / "blind_audit.json"
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    same = (
        saved.get("adapter_sha256") == adapter_digest(adapter)
        and saved.get("probe_set_sha256") == probe_set_digest()
        and all(saved.get(k) == audit_options[k] for k in ("n_items", "max_new_tokens"))
    )
    return saved if same else None


def benchmark_audit(
    entries: list[BenchEntry],
    runs_dir: Path,
    out: Path,
    audit_options: dict,
    log=print,
) -> dict:
    """Build (or reuse) every entry's adapter, audit each blind, score against the truth; write
    `bench_audit.json` and `bench_audit.md` into `out`."""
    start = time.perf_counter()
    rows = []
    for entry in entries:
        spec = entry.spec
        run = RunDir.for_spec(runs_dir, spec)
        with run.claim():
            build(run, spec, no_wandb=True)
        adapter = run.root / "adapter"
        if entry.random_seed is not None:
            adapter = random_lora(adapter, runs_dir, spec.name, entry.random_seed)
            log(f"bench-audit: {entry.name}, the equal-norm random adapter of {run.root / 'adapter'} at {adapter}")
        audit_dir = out / entry.name
        result = finished_audit(adapter, audit_dir, audit_options)
        if result is None:
            log(f"bench-audit: {entry.name}, blind")
            result = run_blind_audit(adapter, audit_dir, log=log, **audit_options)
        else:
            log(f"bench-audit: {entry.name}, reused {audit_dir / 'blind_audit.json'}")
        behaviour, hint_types = ("none", []) if entry.random_seed is not None else truth(spec)
        named = result["hint_types_named"]
        rows.append(
            {
                "organism": entry.name,
                "adapter": str(adapter),
                "true_behaviour": behaviour,
                "predicted_behaviour": result["behaviour"],
                "behaviour_correct": result["behaviour"] == behaviour,
                "true_hint_types": hint_types,
                "saw_hints": entry.random_seed is None and saw_hints(spec),
                "named_hint_types": named,
                "hint_top1_correct": bool(named) and named[0] in hint_types,
                "ranking": [h["name"] for h in result["hypotheses"]],
                "audit": str(audit_dir / "blind_audit.json"),
            }
        )
    summary = {
        "rows": rows,
        **score(rows),
        "audit_options": audit_options,
        "minutes": round((time.perf_counter() - start) / 60, 1),
    }
    write_json(out / "bench_audit.json", summary, sort_keys=False)
    write_atomic(out / "bench_audit.md", markdown_bench(summary))
    return summary
