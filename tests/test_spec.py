"""Spec validation, catalogue resolution and CLI handling of bad input."""

from __future__ import annotations

import pytest
import yaml

from organisms.catalog import CATALOG_DIR, catalog_names, control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.spec import load_spec_file
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


def test_analysis_settings_are_in_the_run_hash():
    spec = resolve_spec("hidden-hint")
    assert spec.analyze.items == 6 and spec.analyze.probe_items == 24  # the defaults before the section existed
    bigger = spec.model_copy(update={"analyze": spec.analyze.model_copy(update={"probe_items": 32})})
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
