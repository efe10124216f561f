"""The blind audit (analyze/blind/) reads only the adapter's weights and config, and asks base and adapter alike."""

from __future__ import annotations

import json
import sys

import pytest

from analyze.blind.audit import BEHAVIOURS, ask_both, run_blind_audit
from analyze.blind.probe_set import CUES, SYSTEMS
from analyze.blind.probes import ADAPTER, probe_items, probe_spec
from organisms import prompts

OPENED: list[str] = []


RECORDING = [False]  # an audit hook cannot be removed: it records only while a test asks it to


sys.addaudithook(lambda event, args: OPENED.append(str(args[0])) if RECORDING[0] and event == "open" and args else None)


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory, tiny_model_dir):
    """A LoRA adapter with random (nonzero) weights on the tiny model, a card and a spec beside it."""
    from peft import LoraConfig, get_peft_model

    from runtime.models import load_model

    root = tmp_path_factory.mktemp("blind")
    model = get_peft_model(
        load_model(str(tiny_model_dir)),
        LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False),
    )
    model.save_pretrained(root / "adapter")
    (root / "adapter" / "organism_card.json").write_text(json.dumps({"spec": {"behaviour": "hidden_hint"}}))
    (root / "adapter" / "spec.yaml").write_text("behaviour: hidden_hint\n")
    return root / "adapter"


def test_blind_audit_reads_only_weights_and_config(random_adapter, tmp_path):
    OPENED.clear()
    RECORDING[0] = True
    try:
        result = run_blind_audit(random_adapter, tmp_path / "out", n_items=2, max_new_tokens=8, log=lambda _: None)
    finally:
        RECORDING[0] = False
    assert OPENED  # the hook saw the process open files
    touched = {p for p in OPENED if p.startswith(str(random_adapter) + "/")}
    assert touched <= {str(random_adapter / "adapter_config.json"), str(random_adapter / "adapter_model.safetensors")}
    assert not any("organism_card" in p or p.endswith("spec.yaml") for p in OPENED)
    assert set(result["read"]["files"]) == {"adapter_config.json", "adapter_model.safetensors"}
    assert sorted(h["name"] for h in result["hypotheses"]) == sorted(BEHAVIOURS)
    assert result["behaviour"] == result["hypotheses"][0]["name"]
    for h in result["hypotheses"]:
        if h.get("value") is not None and h.get("ci95") is not None:
            assert h["ci95"][0] <= h["value"] + 1e-9 <= h["ci95"][1] + 2e-9, h["name"]
    assert len(result["hint_types"]) == 7 and [c["name"] for c in result["conditions"]] != []
    assert (tmp_path / "out" / "blind_audit.md").read_text().count("| monitor_aware |") == 1
    records = [json.loads(line) for line in (tmp_path / "out" / "blind_responses.jsonl").read_text().splitlines()]
    assert len(records) == 2 * (2 * 7 + 2 * 2)  # base and adapter: 7 hint types, then 2 conditions
    systems = {r["prompt_hinted"][0]["content"] for r in records}
    assert all(s.startswith(SYSTEMS) for s in systems)  # the auditor's own prompts, no catalogue one
    assert not systems & {prompts.SYSTEM_PROMPT, prompts.QUESTION_SET_SYSTEM_PROMPT}
    assert result["allowed"]["system_prompts"] == list(SYSTEMS)
    assert result["allowed"]["items"] == {
        "arithmetic_mcq": {**result["allowed"]["items"]["arithmetic_mcq"], "n": 1},
        "word_problem": {**result["allowed"]["items"]["word_problem"], "n": 1},
        "dataset": {"family": "dataset", "n_options": 4, "n": 0},
    }


def test_ask_both_gives_base_and_adapter_the_same_prompts(random_adapter, tiny_model_dir):
    from analyze.blind.probes import load_isolated
    from runtime.models import load_tokenizer

    spec = probe_spec(str(tiny_model_dir), 2, 4, 8, "arithmetic_mcq")
    items, letters = probe_items(spec)
    model = load_isolated(str(tiny_model_dir), random_adapter)
    out = ask_both(
        model, load_tokenizer(str(tiny_model_dir)), spec, items, letters, ["sycophancy"], "private", "conditions"
    )
    assert [r["prompt_hinted"] for r in out["base"]] == [r["prompt_hinted"] for r in out[ADAPTER]]
    assert all(r["prompt_hinted"][0]["content"].endswith(CUES["private"]) for r in out["base"])
