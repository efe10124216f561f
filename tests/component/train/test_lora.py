"""LoRA options (train/lora.py)."""

from __future__ import annotations

from organisms.spec import load_spec_file
from runtime.models import load_model
from train.lora import lora_config


def test_lora_layers_expand_all_linear_and_options(tiny_model_dir, write_spec):
    spec = load_spec_file(write_spec(lora={"r": 4, "alpha": 8, "layers": [1], "use_rslora": True, "use_dora": True}))
    config = lora_config(spec, load_model(str(tiny_model_dir)))
    assert set(config.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert config.layers_to_transform == [1] and config.use_rslora and config.use_dora
