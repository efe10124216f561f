"""Optional on-disk activation cache: one safetensors shard per batch, streamed back one at a time.

For runs too big to hold every site's activations in memory: `write_activation_cache`
runs the model batch by batch with every site hooked and writes
`<dir>/shard-00000.safetensors`, ... (keys: site names `[batch, pos, d_model]`, plus
`input_ids` and `attention_mask` `[batch, pos]`), then `manifest.json`. The directory is
built with `runtime.rundir.staged_dir`, so a cache is complete or absent.
`read_activation_cache` yields one shard (dict of tensors) at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedTokenizerBase

from analyze.methods.hooks import SITE_KINDS, record_activations
from organisms.errors import OrganismError
from runtime.models import use_adapter
from runtime.rundir import staged_dir, write_json

MANIFEST = "manifest.json"


@torch.inference_mode()
def write_activation_cache(
    model,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    out_dir: Path,
    adapter: str | None = None,
    batch_size: int = 8,
    kinds: tuple[str, ...] = SITE_KINDS,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Cache every site for `texts` (right-padded batches) under `out_dir`; returns `out_dir`."""
    out_dir = Path(out_dir)
    with staged_dir(out_dir) as staging:
        shards = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            enc = tokenizer(batch, return_tensors="pt", padding=True, padding_side="right", add_special_tokens=False)
            with use_adapter(model, adapter), record_activations(model, kinds) as store:
                model(**enc.to(model.device), logits_to_keep=1)
            tensors = {name: acts.to(dtype).contiguous() for name, acts in store.items()}
            tensors["input_ids"] = enc["input_ids"].cpu().contiguous()
            tensors["attention_mask"] = enc["attention_mask"].cpu().contiguous()
            name = f"shard-{len(shards):05d}.safetensors"
            save_file(tensors, str(staging / name))
            shards.append(name)
        meta = {"shards": shards, "n_texts": len(texts), "kinds": list(kinds), "adapter": adapter, "dtype": str(dtype)}
        write_json(staging / MANIFEST, meta, sort_keys=False)
    return out_dir


def read_activation_cache(cache_dir: Path) -> Iterator[dict[str, torch.Tensor]]:
    """Yield the shards of a cache in order, one dict of tensors at a time."""
    manifest = Path(cache_dir) / MANIFEST
    if not manifest.exists():
        raise OrganismError(
            f"{cache_dir}: not an activation cache (no {MANIFEST}); write it with write_activation_cache"
        )
    for name in json.loads(manifest.read_text())["shards"]:
        yield load_file(str(Path(cache_dir) / name))
