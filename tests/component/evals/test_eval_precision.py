"""`eval.precision`: the weights the eval decodes and scores in (bf16 is the fast path on AMX CPUs and
GPUs), recorded in evals.json and evals.md, and part of what keys saved generations."""

from __future__ import annotations

import torch

import evals.stage
import runtime.precision
from evals.stage import evaluate_variants, saved_generations, write_outputs
from organisms.spec import parse_spec
from tests.component.evals.test_eval_progress import untrained_adapter
from tests.helpers import tiny_spec_dict


def spec_at(model_dir, precision: str):
    eval_section = {**tiny_spec_dict(model_dir)["eval"], "suites": ["hinted"], "precision": precision}
    return parse_spec(tiny_spec_dict(model_dir, eval=eval_section), "test")


def test_bf16_eval_holds_every_weight_in_bf16_adapters_included(tmp_path, tiny_model_dir, monkeypatch):
    spec = spec_at(tiny_model_dir, "bf16")
    adapters = {"organism": untrained_adapter(tmp_path / "adapter", tiny_model_dir)}
    loaded = []
    real = evals.stage.load_with_adapters

    def spy(*args):
        loaded.append(real(*args))
        return loaded[-1]

    monkeypatch.setattr(evals.stage, "load_with_adapters", spy)
    lines = []
    result, responses = evaluate_variants(spec, str(tiny_model_dir), adapters, set(), log=lines.append)
    dtypes = {name: p.dtype for name, p in loaded[0].named_parameters()}
    assert any("lora_" in name for name in dtypes) and set(dtypes.values()) == {torch.bfloat16}  # adapters too
    assert "eval weights: bf16 (eval.precision bf16)" in lines
    assert result["weights"] == "bf16" and {r["model"] for r in responses} == {"base", "organism"}
    write_outputs(tmp_path / "out", spec, result, responses)
    assert "**bf16 weights:**" in (tmp_path / "out" / "evals.md").read_text()


def test_fp32_is_the_default_and_leaves_run_ids_where_they_were(tiny_model_dir):
    unset = parse_spec(tiny_spec_dict(tiny_model_dir), "test")
    assert unset.eval.precision == "fp32"
    fp32 = unset.with_changes({"eval.precision": "fp32"}, "t")
    assert fp32.to_yaml() == unset.to_yaml() and fp32.content_hash() == unset.content_hash()
    assert unset.with_changes({"eval.precision": "bf16"}, "t").content_hash() != unset.content_hash()
    assert evals.stage.weights_dtype(unset) == "fp32" and evals.stage.weights_statement("fp32") == ""


def test_auto_follows_the_hardware_and_keys_saved_generations(tmp_path, tiny_model_dir, monkeypatch):
    spec = spec_at(tiny_model_dir, "auto")
    keys = {}
    for native in (False, True):
        monkeypatch.setattr(runtime.precision.torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda n=native: n)
        monkeypatch.setattr(runtime.precision.torch.cuda, "is_available", lambda: False)
        assert evals.stage.weights_dtype(spec) == ("bf16" if native else "fp32")
        keys[native] = saved_generations(tmp_path, spec, str(tiny_model_dir), {}, set())["base"].key
    assert keys[False] != keys[True]  # an fp32 machine never reuses a bf16 machine's generations
