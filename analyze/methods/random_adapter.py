"""A null adapter: the organism's LoRA with every delta replaced by a random one of the same size.

For each adapted module, the organism's update is delta_W = s B A (`analyze/methods/weights.py`). The
null keeps the adapter's config (rank, alpha, target modules, layers) and each module's
||delta_W||_F, and draws the directions: A', B' iid standard normal (seeded), then B' is scaled
so that ||s B' A'||_F = ||s B A||_F. Per-module norms equal means per-layer norms equal too.

Whatever a readout shows for this adapter, it shows for a finetune of that size that learned
nothing: tokens the Activation Difference Lens lists for it are what the lens returns for any
perturbation (`analyze/methods/lens_baselines.py`), and layers a localization method scores for it
are what the method finds for any adapter in that band (the random-LoRA null of
`organism bench-localization`, `app/benchmarks/localization.py`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from organisms.errors import OrganismError


def equal_norm_random_adapter(adapter_dir: Path, out_dir: Path, seed: int = 0) -> Path:
    """Write the null of `adapter_dir` into `out_dir` (a loadable peft adapter directory)."""
    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    other = [k for k in tensors if ".lora_A" not in k and ".lora_B" not in k]
    if other:
        raise OrganismError(
            f"{adapter_dir}: holds weights other than LoRA A/B ({other[0]}, ...); "
            "the equal-norm random adapter covers plain LoRA adapters only"
        )
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key_a in sorted(k for k in tensors if ".lora_A" in k):
        key_b = key_a.replace(".lora_A", ".lora_B")
        a, b = tensors[key_a].float(), tensors[key_b].float()
        rand_a = torch.randn(a.shape, generator=generator)
        rand_b = torch.randn(b.shape, generator=generator)
        scale = (b @ a).norm() / (rand_b @ rand_a).norm().clamp_min(1e-12)
        out[key_a] = rand_a.to(tensors[key_a].dtype)
        out[key_b] = (rand_b * scale).to(tensors[key_b].dtype)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(out, str(out_dir / "adapter_model.safetensors"))
    shutil.copy(adapter_dir / "adapter_config.json", out_dir / "adapter_config.json")
    return out_dir
