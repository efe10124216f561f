"""LoRA weight deltas per layer x module, read from the adapter's safetensors.

For each adapted module, delta_W = scaling * B @ A with scaling = alpha / r (alpha / sqrt(r)
for rsLoRA). We report ||delta_W||_F, the effective rank exp(H(s / sum s)) of its singular
values s (Roy & Vetterli 2007), and the top singular values. This reads weights: it is a
white-box baseline, not a behavioural localization method.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import torch
from safetensors.torch import load_file

_KEY = re.compile(r"layers\.(\d+)\.(?:[\w.]*\.)?(\w+)\.lora_([AB])(?:\.[\w]+)?\.weight$")


def lora_deltas(adapter_dir: Path, n_layers: int | None = None, top_k: int = 4) -> dict:
    """Per layer (all `n_layers`; zeros where nothing is adapted) x module.

    Returns `{"layers", "modules", "frobenius": [layer][module], "effective_rank": [layer][module],
    "top_singular": {"blocks.{l}.{module}": [s_1, ...]}}`.
    """
    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    rank, alpha = config["r"], config["lora_alpha"]
    scaling = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    tensors = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
    pairs: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        match = _KEY.search(key)
        if match:
            layer, module, which = int(match.group(1)), match.group(2), match.group(3)
            pairs.setdefault((layer, module), {})[which] = tensor.float()
    layers = list(range(n_layers)) if n_layers else sorted({layer for layer, _ in pairs})
    modules = sorted({module for _, module in pairs})
    frob = [[0.0] * len(modules) for _ in layers]
    eff_rank = [[0.0] * len(modules) for _ in layers]
    top: dict[str, list[float]] = {}
    for (layer, module), ab in pairs.items():
        delta = scaling * ab["B"] @ ab["A"]
        singular = torch.linalg.svdvals(delta)
        i, j = layers.index(layer), modules.index(module)
        frob[i][j] = float(delta.norm())
        weights = singular / singular.sum().clamp_min(1e-12)
        entropy = -(weights * weights.clamp_min(1e-12).log()).sum()
        eff_rank[i][j] = float(entropy.exp())
        top[f"blocks.{layer}.{module}"] = singular[:top_k].tolist()
    return {"layers": layers, "modules": modules, "frobenius": frob, "effective_rank": eff_rank, "top_singular": top}
