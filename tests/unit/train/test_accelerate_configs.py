"""accelerate_configs/: every config parses and says what its name says."""

from __future__ import annotations

import pytest
import yaml
from accelerate.commands.config.config_args import ClusterConfig

from tests.helpers import REPO

CONFIGS = REPO / "accelerate_configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_accelerate_configs_parse_and_are_consistent(path):
    raw = yaml.safe_load(path.read_text())
    config = ClusterConfig.from_yaml_file(str(path))
    assert config.num_processes >= 1 and config.num_machines == 1
    kind = str(config.distributed_type)
    if path.stem == "single_gpu":
        assert kind.endswith("NO") and config.num_processes == 1
    if path.stem in ("ddp", "cpu_ddp"):
        assert kind.endswith("MULTI_GPU") and config.num_processes >= 2
    if path.stem == "cpu_ddp":
        assert config.num_processes == 2 and raw["mixed_precision"] == "no"
    if path.stem == "fsdp":
        assert kind.endswith("FSDP") and raw["fsdp_config"]["fsdp_version"] == 2
    if path.stem.startswith("deepspeed_zero"):
        assert kind.endswith("DEEPSPEED") and raw["deepspeed_config"]["zero_stage"] == int(path.stem[-1])
    assert {p.stem for p in CONFIGS.glob("*.yaml")} == {
        "single_gpu",
        "ddp",
        "fsdp",
        "deepspeed_zero2",
        "deepspeed_zero3",
        "cpu_ddp",
    }
