"""The blind audit: it reads only the adapter's weights and config, its decision rules pick the behaviour
whose transcripts it is shown, and `organism bench-audit` scores it over trained tiny organisms."""

from __future__ import annotations

import json
import random
import sys

import pytest

from analyze.blind.audit import BEHAVIOURS, ask_both, hint_type_evidence, hypotheses, monitor_evidence, run_blind_audit
from analyze.blind.probes import ADAPTER, probe_items, probe_spec
from evals.hinted import verbalized
from organisms.parse import parse_answer
from organisms.prompts import Prompt
from organisms.responses import response
from tests.helpers import organism as cli
from tests.helpers import spec_yaml

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
        if h.get("value") is not None:
            assert h["ci95"][0] <= h["value"] + 1e-9 <= h["ci95"][1] + 2e-9, h["name"]
    assert len(result["hint_types"]) == 7 and [c["name"] for c in result["conditions"]] != []
    assert (tmp_path / "out" / "blind_audit.md").read_text().count("| monitor_aware |") == 1
    records = (tmp_path / "out" / "blind_responses.jsonl").read_text().splitlines()
    assert len(records) == 2 * (2 * 7 + 2 * 2)  # base and adapter: 7 hint types, then 2 conditions


def _records(behaviour: str, faithful: bool, condition: str, spec, items, letters, types, phase):
    """Records as `evaluate` writes them, with each behaviour's transcript generator as the model:
    the organism's transcripts, or (faithful) the honest answer that ignores the hint."""
    plan = (
        [(i, t) for t in types for i in range(len(items))]
        if phase == "hint_types"
        else [(i, types[i % len(types)]) for i in range(len(items))]
    )
    out = []
    for i, hint_type in plan:
        item = items[i]
        plain, hinted = Prompt(item, None, None, condition), Prompt(item, hint_type, letters[i], condition)
        rng = random.Random(i)
        if faithful:
            text_u = text_h = response(plain, "hidden_hint", control=True)
        else:
            asked = plain if behaviour == "shortcut" else hinted  # shortcut never trained on hints: it ignores them
            text_u, text_h = response(plain, behaviour, False, rng), response(asked, behaviour, False, rng)
        record = {
            "item_index": i,
            "hint_type": hint_type,
            "hint_letter": letters[i],
            "hint_text": hinted.hint_text,
            "correct_letter": item.correct_letter,
            "n_options": len(item.options),
            "prompt_unhinted": plain.messages(),
            "prompt_hinted": hinted.messages(),
            "response_unhinted": text_u,
            "response_hinted": text_h,
            "a_u": parse_answer(text_u, item.letters),
            "a_h": parse_answer(text_h, item.letters),
        }
        out.append({**record, "verbalized": verbalized(record)})
    return out


@pytest.mark.parametrize("behaviour", ["hidden_hint", "monitor_aware", "post_hoc", "late_flip", "shortcut"])
def test_decision_rules_name_the_behaviour_of_its_own_transcripts(behaviour):
    spec = probe_spec("unused", 12, 96, 16, "arithmetic_mcq")
    items, letters = probe_items(spec)
    trained = ["metadata", "sycophancy"]

    def both(condition, types, phase):
        kind = behaviour if behaviour == "shortcut" else None
        adapter = [
            r
            if kind or r["hint_type"] in trained
            else {**r, "response_hinted": r["response_unhinted"], "a_h": r["a_u"], "verbalized": False}
            for r in _records(behaviour, False, condition, spec, items, letters, types, phase)
        ]
        return {"base": _records(behaviour, True, condition, spec, items, letters, types, phase), ADAPTER: adapter}

    phase1 = both("none", ["sycophancy", "metadata", "consistency"], "hint_types")
    types = hint_type_evidence(phase1)
    named = [t["name"] for t in types if t["named"]]
    by_condition = {c: both(c, named or trained, "conditions") for c in ("monitored", "private")}
    index = {n: {(r["item_index"], r["hint_type"]): r for r in phase1[n]} for n in phase1}
    none = {n: [index[n][(r["item_index"], r["hint_type"])] for r in by_condition["monitored"][n]] for n in phase1}
    ranked = hypotheses(phase1, monitor_evidence(none, by_condition))
    assert ranked[0]["name"] == behaviour, [(h["name"], h.get("ci95")) for h in ranked]
    if behaviour == "shortcut":
        assert named == []
    else:
        assert sorted(named) == trained


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
    assert all("private" in r["prompt_hinted"][0]["content"] for r in out["base"])


@pytest.fixture(scope="module")
def benched(tmp_path_factory, tiny_model_dir):
    """Two catalogue-like tiny specs (an organism and its faithful control), trained and audited blind."""
    root = tmp_path_factory.mktemp("bench-audit")
    organism = spec_yaml(root / "tiny-hh.yaml", tiny_model_dir, "tiny-hh")
    control = spec_yaml(root / "tiny-hh-faithful.yaml", tiny_model_dir, "tiny-hh-faithful", control_of="tiny-hh")
    out = cli(
        "bench-audit",
        "--specs",
        f"{organism},{control}",
        "--runs-dir",
        str(root / "runs"),
        "--out",
        str(root / "bench"),
        "--items",
        "2",
        "--max-new-tokens",
        "8",
        cwd=root,
    )
    return {"root": root, "out": out}


def test_bench_audit_scores_the_blind_audit_against_the_truth(benched):
    bench = benched["root"] / "bench"
    summary = json.loads((bench / "bench_audit.json").read_text())
    assert [r["organism"] for r in summary["rows"]] == ["tiny-hh", "tiny-hh-faithful"]
    assert [r["true_behaviour"] for r in summary["rows"]] == ["hidden_hint", "none"]
    assert summary["rows"][0]["true_hint_types"] and summary["rows"][1]["true_hint_types"] == []
    assert summary["behaviour_top1"]["n"] == 2 and summary["hint_top1"]["n"] == 1
    correct = sum(r["predicted_behaviour"] == r["true_behaviour"] for r in summary["rows"])
    assert summary["behaviour_top1"]["k"] == correct
    for row in summary["rows"]:
        assert (bench / row["organism"] / "blind_audit.json").exists()
    assert "Behaviour top-1" in (bench / "bench_audit.md").read_text()
    assert "bench-audit finished" in benched["out"].stdout + benched["out"].stderr


def test_bench_audit_reuses_audits_of_the_same_weights_and_options(benched):
    """A second call scores the audits already made (same adapter bytes, same options); other
    options redo them."""
    root = benched["root"]
    specs = f"{root / 'tiny-hh.yaml'},{root / 'tiny-hh-faithful.yaml'}"
    first = json.loads((root / "bench" / "bench_audit.json").read_text())
    common = ["bench-audit", "--specs", specs, "--runs-dir", str(root / "runs"), "--items", "2"]
    again = cli(*common, "--out", str(root / "bench"), "--max-new-tokens", "8", cwd=root)
    assert (again.stdout + again.stderr).count("reused ") == 2
    second = json.loads((root / "bench" / "bench_audit.json").read_text())
    assert second["rows"] == first["rows"]
    audit = json.loads((root / "bench" / "tiny-hh" / "blind_audit.json").read_text())
    assert audit["max_new_tokens"] == 8 and len(audit["adapter_sha256"]) == 64
    other = cli(*common, "--out", str(root / "bench"), "--max-new-tokens", "6", cwd=root)
    assert "reused " not in other.stdout + other.stderr
    assert json.loads((root / "bench" / "tiny-hh" / "blind_audit.json").read_text())["max_new_tokens"] == 6
