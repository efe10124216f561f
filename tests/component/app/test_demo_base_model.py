"""`organism demo --base-model`: the catalogue pair on another model. Both specs change their base and
nothing else (so their own run directories), in the one-seed and the multi-seed demo; a model that is
not there stops the demo before anything is written, naming the model."""

from __future__ import annotations

import pytest

from app import pipeline
from organisms.catalog import control_spec_for, resolve_spec
from organisms.errors import OrganismError
from runtime.rundir import default_run_id


@pytest.fixture
def captured(monkeypatch):
    """What the demo hands to its stages, instead of training (the stages are tested elsewhere)."""
    calls = {}
    monkeypatch.setattr(pipeline, "progressive", lambda *args, **kw: calls.setdefault("progressive", args))
    monkeypatch.setattr(pipeline, "seeds", lambda *args, **kw: calls.setdefault("seeds", args))
    return calls


def test_both_specs_move_to_the_other_base_and_nothing_else(captured, tmp_path, tiny_model_dir):
    pipeline.demo(tmp_path / "runs", base_model=str(tiny_model_dir))
    organism_run, spec, control_run, control_spec = captured["progressive"][:4]
    catalogue = resolve_spec("hidden-hint")
    catalogue_control = control_spec_for(catalogue)
    for moved, original in ((spec, catalogue), (control_spec, catalogue_control)):
        assert moved.base_model == str(tiny_model_dir)
        assert moved.model_dump(exclude={"base_model"}) == original.model_dump(exclude={"base_model"})
        assert moved.content_hash() != original.content_hash()
    assert organism_run.root.name == default_run_id(spec) != default_run_id(catalogue)
    assert control_run.root.parent.name == "hidden-hint-faithful"
    assert not (tmp_path / "runs").exists()  # nothing written before the stages run


def test_the_multi_seed_demo_moves_too(captured, tmp_path, tiny_model_dir):
    pipeline.demo(tmp_path / "runs", training_seeds=[0, 1], suites="hinted,ood", base_model=str(tiny_model_dir))
    spec, control_spec, training_seeds = captured["seeds"][:3]
    assert spec.base_model == control_spec.base_model == str(tiny_model_dir)
    assert spec.eval.suites == ["hinted"] and training_seeds == [0, 1]


def test_a_missing_model_stops_before_anything_is_written(captured, tmp_path):
    with pytest.raises(OrganismError, match="embedded:nope"):
        pipeline.demo(tmp_path / "runs", base_model="embedded:nope")
    assert captured == {} and not (tmp_path / "runs").exists()
