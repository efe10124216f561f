"""Spec validation, catalogue resolution and CLI handling of bad input."""

from __future__ import annotations

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from organisms.catalog import CATALOG_DIR, catalog_names, control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, Section, load_spec_file, parse_spec
from organisms.spec.run_id import LEFT_OUT_AT
from tests.helpers import organism


def test_catalogue_specs_validate_and_pair_with_controls():
    assert {"hidden-hint", "hidden-hint-faithful"} <= set(catalog_names())
    organism = resolve_spec("hidden-hint")
    control = control_spec_for(organism)
    assert control is not None and control.name == "hidden-hint-faithful" and control.is_control
    # The control flips one property: everything that shapes the items is the same.
    for section in ("task", "hints", "corpus", "lora", "training", "eval"):
        assert getattr(organism, section) == getattr(control, section)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"lora": {"r": 8, "rnak": 2}}, "field 'lora.rnak': unknown key"),
        ({"training": {"epochs": "many"}}, "field 'training.epochs'"),
        ({"behaviour": "sandbagging"}, "field 'behaviour'"),
        ({"behaviour": "late-flip"}, "field 'behaviour'"),
        ({"hints": {"types": ["telepathy"]}}, "field 'hints.types.0'"),
        ({"task": {"operand_min": 50, "operand_max": 10}}, "field 'task'"),
        ({"analyze": {"items": 8, "probe_items": 4}}, "field 'analyze': Value error, probe_items (4) must be at least"),
        ({"analyze": {"itmes": 8}}, "field 'analyze.itmes': unknown key"),
    ],
)
def test_spec_errors_name_the_field(tmp_path, patch, message):
    data = yaml.safe_load((CATALOG_DIR / "hidden-hint.yaml").read_text())
    data.update(patch)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(OrganismError) as info:
        load_spec_file(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


# One spec per check across sections (organisms/spec/consistency.py), patched into hidden-hint.
CONFLICTS = [
    ({"eval": {"ood": {"task_family": "arithmetic_mcq"}}}, "field 'eval.ood.task_family': 'arithmetic_mcq' is"),
    ({"behaviour": "shortcut", "task": {"family": "dataset"}}, "field 'task.family': behaviour 'shortcut'"),
    ({"task": {"dataset": {"source": "mixed-mcq"}}}, "field 'task.dataset': no stage reads it"),
    ({"behaviour": "late_flip", "corpus": {"source": "on_policy"}}, "field 'corpus.source': on_policy is built for"),
    ({"behaviour": "belief"}, "field 'corpus.documents': a belief organism trains on documents only"),
    ({"stages": [{"data": "transcripts"}] * 2}, "field 'stages': 'transcripts' is listed twice"),
    ({"stages": [{"data": "documents"}]}, "field 'corpus.documents': stages: [documents] trains on documents"),
    ({"hints": {"conditions": ["none"]}}, "field 'hints.conditions': monitoring conditions apply"),
]


@pytest.mark.parametrize(("patch", "message"), CONFLICTS)
def test_model_validate_refuses_what_parse_spec_refuses(patch, message):
    """One validation tier: a spec built in code is held to the checks a spec file is."""
    data = {**yaml.safe_load((CATALOG_DIR / "hidden-hint.yaml").read_text()), **patch}
    with pytest.raises(OrganismError) as parsed:
        parse_spec(data, "bad.yaml")
    with pytest.raises(ValidationError) as validated:
        OrganismSpec.model_validate(data)
    assert str(parsed.value).startswith(f"bad.yaml: {message}")
    assert [error["msg"] for error in validated.value.errors()] == [str(parsed.value).removeprefix("bad.yaml: ")]
    with pytest.raises(OrganismError, match=r"^--option: "):  # and so is a change to a valid spec
        resolve_spec("hidden-hint").with_changes(patch, "--option")


def test_a_section_changes_only_through_validation():
    task = resolve_spec("hidden-hint").task
    changed = task.with_changes({"family": "word_problem"}, "t")
    assert changed.family == "word_problem" and changed.model_dump(exclude={"family"}) == task.model_dump(
        exclude={"family"}
    )
    with pytest.raises(OrganismError, match=r"^--family: field 'family': Input should be"):
        task.with_changes({"family": "chess"}, "--family")
    with pytest.raises(OrganismError, match="spec 'hidden-hint' has no section 'documents'"):
        resolve_spec("hidden-hint").with_changes({"corpus.documents.n_documents": 8}, "--n")


def test_run_id_table_leaves_fields_out_at_their_defaults():
    """Every field of run_id.LEFT_OUT_AT sits in a section that applies the table, is left out at its
    default (what a spec written before the field means) and dumped at any other value."""
    sections = {cls.spec_path: cls for cls in Section.__subclasses__() if cls.spec_path is not None}
    for path, old in LEFT_OUT_AT.items():
        parent, _, key = path.rpartition(".")
        default = sections[parent].model_fields[key].get_default(call_default_factory=True)
        assert (default.model_dump(mode="json") if isinstance(default, BaseModel) else default) == old, path
    spec = resolve_spec("hidden-hint")
    assert spec.with_changes({"eval.engine": "hf", "eval.decode_rows": 64}, "t").to_yaml() == spec.to_yaml()
    assert spec.with_changes({"eval.decode_rows": 8}, "t").model_dump(mode="json")["eval"]["decode_rows"] == 8


def test_analysis_settings_are_in_the_run_hash():
    spec = resolve_spec("hidden-hint")
    assert spec.analyze.items == 6 and spec.analyze.probe_items == 24  # the defaults before the section existed
    bigger = spec.with_changes({"analyze.probe_items": 32}, "test")
    assert bigger.content_hash() != spec.content_hash()


def test_malformed_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\n  behaviour: [unclosed\n")
    with pytest.raises(OrganismError, match="malformed YAML at line"):
        load_spec_file(bad)
    with pytest.raises(OrganismError, match="spec file not found"):
        resolve_spec(str(tmp_path / "nope.yaml"))
    with pytest.raises(OrganismError, match="unknown organism 'no-such-organism'"):
        resolve_spec("no-such-organism")


@pytest.mark.parametrize(
    ("make_target", "fragment"),
    [
        (lambda d, w: "no-such-organism", "unknown organism 'no-such-organism'"),
        (lambda d, w: str(d / "missing.yaml"), "spec file not found"),
        (lambda d, w: str(w(base_model="embedded:gpt-17")), "unknown embedded model 'embedded:gpt-17'"),
        (lambda d, w: str(w(base_model=str(d / "no-model-here"))), "not loadable as a HF id"),
        (lambda d, w: str(w(lora={"r": 0})), "field 'lora.r'"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, write_spec, make_target, fragment):
    runs = tmp_path / "runs"
    result = organism("run", make_target(tmp_path, write_spec), "--runs-dir", str(runs), cwd=tmp_path, expect=2)
    assert fragment in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not runs.exists() or not any(runs.rglob("*"))


def test_cli_list_and_show(tmp_path):
    listed = organism("list", cwd=tmp_path)
    assert "hidden-hint-faithful" in listed.stdout
    shown = organism("show", "hidden-hint", cwd=tmp_path)
    resolved = yaml.safe_load(shown.stdout)
    assert resolved["name"] == "hidden-hint" and resolved["lora"]["r"] == 16
    assert resolved["training"]["precision"] == "auto"  # defaults are filled in
