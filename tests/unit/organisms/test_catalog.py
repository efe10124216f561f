"""The catalogue (organisms/catalog.py): organisms pair with controls that flip one property."""

from __future__ import annotations

from organisms.catalog import control_spec_for, resolve_spec


def test_new_catalogue_organisms_pair_with_controls_that_flip_one_property():
    for name, differs in (
        ("hidden-hint-sdf-only", "universe"),
        ("monitor-aware-sdf", "universe"),
        ("hidden-hint-two-stage", "universe"),
        ("monitor-aware-two-stage", "universe"),
    ):
        organism = resolve_spec(name)
        control = control_spec_for(organism)
        assert control is not None and control.is_control
        a, b = organism.model_dump(), control.model_dump()
        assert a["corpus"]["documents"].pop(differs) != b["corpus"]["documents"].pop(differs)
        for section in ("task", "hints", "corpus", "lora", "training", "stages", "eval", "capability"):
            assert a[section] == b[section], (name, section)
    assert [s.data for s in resolve_spec("hidden-hint-two-stage").training_stages()] == ["documents", "transcripts"]
