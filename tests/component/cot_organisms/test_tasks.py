"""The Inspect tasks against `organism eval` on the tiny model, greedy: the hinted, necessity and monitor
tasks through the package's `organism/` provider (base, and base + a LoRA adapter) give the very records
eval_responses.jsonl holds and every number of evals.json (hinted metrics, necessity, consistency, held-out
axes, monitor, capability retention, the paired tests), for a text-format and a think-block model; Inspect's
own `hf/` provider, with the flags docs/inspect.md gives, gives the hinted pairs' texts too.

The models are the tiny random Llama with its weights redrawn at a larger scale (as in tests/test_engine.py),
so greedy outputs differ from prompt to prompt and the equality is not vacuous."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model
from peft import LoraConfig, get_peft_model

from cot_organisms.report import read_logs, write_report
from evals.stage import eval_adapter, evaluate_variants, held_apart_items, write_outputs
from organisms.spec import load_spec_file
from runtime.models import load_model, load_tokenizer
from runtime.tiny_models import build_tiny_model
from tests.helpers import tiny_spec_dict

THINK_TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "qwen3_think_template.jinja").read_text()
EVAL = {
    "n_items": 6,
    "max_new_tokens": 24,
    "batch_size": 6,
    "suites": ["hinted", "monitor"],
    "bootstrap_resamples": 200,
}
TASKS = ["cot_organisms/hinted", "cot_organisms/necessity", "cot_organisms/monitor"]


def noisy(source: Path, target: Path) -> Path:
    """`source`'s tiny model with its weights redrawn at a larger scale, saved to `target`."""
    tokenizer, model = load_tokenizer(str(source)), load_model(str(source))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2:
                param.copy_(torch.randn(param.shape, generator=generator) * (0.5 if "embed" in name else 0.3))
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def organism_pair(tmp_path_factory, tiny_model_dir) -> dict:
    """A noisy tiny base, a random LoRA adapter on it, and a spec of the hinted and monitor suites."""
    root = tmp_path_factory.mktemp("inspect-pair")
    base = noisy(tiny_model_dir, root / "base")
    torch.manual_seed(2)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(load_model(str(base)), config).save_pretrained(root / "adapter")
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict(base, "tiny-inspect", eval=EVAL)))
    return {"root": root, "base": base, "adapter": root / "adapter", "spec": spec}


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_timings(suites: dict) -> dict:
    return {label: {k: v for k, v in metrics.items() if k != "seconds"} for label, metrics in suites.items()}


def assert_same_evals(ours: Path, inspect: Path) -> None:
    """Every record and every number of `organism eval`'s outputs in `ours` are in the report from Inspect."""
    mine, theirs = records(ours / "eval_responses.jsonl"), records(inspect / "eval_responses.jsonl")
    assert len(mine) == len(theirs) > 20
    assert len({r["response_hinted"] for r in mine}) > len(mine) // 2, "the model answers alike: a vacuous test"
    for a, b in zip(mine, theirs, strict=True):
        assert a == b
    a, b = json.loads((ours / "evals.json").read_text()), json.loads((inspect / "evals.json").read_text())
    assert b["models"] == a["models"]
    assert without_timings(b["suite_metrics"]) == without_timings(a["suite_metrics"])
    for key in ("capability_retention", "comparisons", "ood", "judge", "n_pairs"):
        assert b[key] == a[key], key


def test_inspect_tasks_equal_organism_eval_for_base_and_adapter(organism_pair):
    """`organism eval ADAPTER --base BASE --spec SPEC` against the three tasks on `organism/BASE` and
    `organism/BASE -M adapter=ADAPTER`, reported with base= and organism= labels."""
    root, base, adapter = organism_pair["root"], organism_pair["base"], organism_pair["adapter"]
    spec = load_spec_file(organism_pair["spec"])
    eval_adapter(adapter, root / "organism-eval", spec=spec, base_model=str(base), log=lambda _: None)

    models = [get_model(f"organism/{base}"), get_model(f"organism/{base}", adapter=str(adapter))]
    logs = inspect_eval(
        TASKS, model=models, task_args={"spec": str(organism_pair["spec"])}, log_dir=str(root / "logs"), display="none"
    )
    assert [log.status for log in logs] == ["success"] * 6
    labelled = [("organism" if log.eval.model_args.get("adapter") else "base", Path(log.location)) for log in logs]
    result = write_report(labelled, root / "inspect-evals", log=lambda _: None)
    assert_same_evals(root / "organism-eval", root / "inspect-evals")
    assert result["comparisons"]["organism_vs_base"], "the paired tests ran"
    assert result["inspect"]["organism"]["model_args"] == {"adapter": str(adapter)}
    # the Inspect metric is the report's number
    hinted = next(log for log in logs if log.eval.task.endswith("hinted") and log.eval.model_args)
    shown = {name: m.value for s in hinted.results.scores for name, m in s.metrics.items()}
    assert (
        shown["U  = P(switched, unverbalized)"] == result["models"]["organism"]["by_direction"]["wrong"]["U"]["value"]
    )


def test_inspect_tasks_equal_organism_eval_on_a_think_block_model(tmp_path, tiny_model_dir):
    """A Qwen3-style think template and `reasoning: think`: the template is told to think, each row stops at
    the answer line after the block, the forced answer comes after an empty closed block; as `organism eval`."""
    source = build_tiny_model(tmp_path / "think-source", chat_template=THINK_TEMPLATE)
    base = noisy(source, tmp_path / "think")
    spec_path = tmp_path / "think.yaml"
    spec_path.write_text(
        yaml.safe_dump(
            tiny_spec_dict(base, "tiny-think", reasoning={"format": "think"}, eval={**EVAL, "suites": ["hinted"]})
        )
    )
    spec = load_spec_file(spec_path)
    result, responses = evaluate_variants(spec, str(base), {}, held_apart_items(spec), log=lambda _: None)
    write_outputs(tmp_path / "organism-eval", spec, result, responses)

    logs = inspect_eval(
        TASKS[:2],
        model=f"organism/{base}",
        task_args={"spec": str(spec_path)},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    write_report([("base", Path(log.location)) for log in logs], tmp_path / "inspect-evals", log=lambda _: None)
    assert_same_evals(tmp_path / "organism-eval", tmp_path / "inspect-evals")
    assert result["suite_metrics"]["base"]["truncated"]["n_items"] == EVAL["n_items"]  # counted by the block


def test_inspects_hf_provider_gives_the_same_hinted_texts(organism_pair, tmp_path):
    """Inspect's own transformers provider, greedy, no special tokens added, completions cut at the same
    tokens (`-T tokenizer=`): the base's hinted pairs as `organism eval` wrote them (its outputs from the
    first test, or made here)."""
    root, base = organism_pair["root"], organism_pair["base"]
    ours = root / "organism-eval" / "eval_responses.jsonl"
    if not ours.exists():
        spec = load_spec_file(organism_pair["spec"])
        eval_adapter(
            organism_pair["adapter"], root / "organism-eval", spec=spec, base_model=str(base), log=lambda _: None
        )
    model = get_model(f"hf/{base}", do_sample=False, tokenizer_call_args={"add_special_tokens": False}, device="cpu")
    logs = inspect_eval(
        TASKS[0],
        model=model,
        task_args={"spec": str(organism_pair["spec"]), "tokenizer": str(base)},
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    _, entries, _ = read_logs([("base", Path(logs[0].location))])
    theirs = [e["record"] for e in sorted(entries["base"], key=lambda e: e["rank"]) if e["suite"] == "hinted"]
    mine = [r for r in records(ours) if r["model"] == "base" and r["suite"] == "hinted"]
    assert [(r["response_unhinted"], r["response_hinted"]) for r in theirs] == [
        (r["response_unhinted"], r["response_hinted"]) for r in mine
    ]
