"""The spec (organisms/spec/): every field and every check across sections named in the error, one
validation tier for files and code, run ids that stay put when a field is added, and the shipped
specs beside the catalogue validate."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from organisms.catalog import CATALOG_DIR, catalog_names, control_spec_for, resolve_spec
from organisms.errors import OrganismError
from organisms.spec import OrganismSpec, Section, load_spec_file, parse_spec
from organisms.spec.run_id import LEFT_OUT_AT
from tests.helpers import REPO, UNLOADED_MODEL, tiny_spec_dict
from tests.scripted_pool import op_spec


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


def test_existing_specs_keep_their_hashes():
    """The field is left out of the dump at its default: every catalogue spec hashes as before."""
    for name in catalog_names():
        spec = resolve_spec(name)
        assert "reasoning" not in spec.model_dump(mode="json")
        spelled_out = spec.with_changes({"reasoning": {"format": "text"}}, "test")
        assert spelled_out.content_hash() == spec.content_hash()
        assert spec.with_changes({"reasoning": {"format": "think"}}, "test").content_hash() != spec.content_hash()


CAPABILITY = {
    "n_transcripts": 8,
    "lora": {"r": 4, "alpha": 8},
    "training": {"epochs": 1, "batch_size": 4, "learning_rate": 0.01, "max_length": 256},
}


def test_capability_spec_errors_name_the_field():
    data = tiny_spec_dict(UNLOADED_MODEL, capability={**CAPABILITY, "lora": {"quantize": "4bit"}})
    with pytest.raises(OrganismError, match=r"capability.*no quantize"):
        parse_spec(data, "x.yaml")
    data = tiny_spec_dict(UNLOADED_MODEL, capability={**CAPABILITY, "n_transcripts": 2})
    with pytest.raises(OrganismError, match=r"capability\.n_transcripts"):
        parse_spec(data, "x.yaml")


def test_belief_spec_validation():
    with pytest.raises(OrganismError, match=r"field 'corpus.documents': a belief organism trains on documents only"):
        parse_spec({"name": "b", "behaviour": "belief"}, "b.yaml")
    bad_backend = {
        "name": "b",
        "behaviour": "belief",
        "corpus": {"documents": {"universe": "x", "backend": {"name": "openai"}}},
    }
    with pytest.raises(OrganismError, match=r"field 'corpus.documents.backend'.*needs a model name"):
        parse_spec(bad_backend, "b.yaml")
    with pytest.raises(OrganismError, match=r"field 'corpus\.documents\.minhash_threshold'"):
        parse_spec({**bad_backend, "corpus": {"documents": {"universe": "x", "minhash_threshold": 2}}}, "b.yaml")
    assert resolve_spec("belief-mercury-rings").corpus.documents.universe == "mercury-rings"


DOCS_ONLY = {"seed": 0, "documents": {"universe": "silent-hints", "n_documents": 8}}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"stages": [{"data": "documents"}, {"data": "documents"}]}, "field 'stages': 'documents' is listed twice"),
        ({"corpus": {**DOCS_ONLY, "documents_ratio": 0.5}}, "field 'corpus.documents_ratio': mixes documents into"),
        ({"corpus": {**DOCS_ONLY, "n_transcripts": 40}}, "field 'corpus.n_transcripts': shapes transcripts"),
        ({"corpus": {"seed": 0}}, "field 'corpus.documents': stages: [documents] trains on documents"),
        ({"behaviour": "belief", "stages": [{"data": "transcripts"}]}, "a belief organism has no transcripts"),
        ({"hints": {"conditions": ["none"]}}, "field 'hints.conditions': monitoring conditions apply to"),
        ({"stages": [{"data": "documents", "epochs": 0}]}, "field 'stages.0.epochs'"),
    ],
)
def test_documents_only_contradictions_are_named(patch, message):
    data = {"name": "x", "behaviour": "hidden_hint", "corpus": DOCS_ONLY, "stages": [{"data": "documents"}], **patch}
    with pytest.raises(OrganismError, match=r"^x\.yaml: ") as info:
        parse_spec(data, "x.yaml")
    assert message in str(info.value)


def test_documents_only_specs_survive_a_full_dump_seeds_and_suites():
    """A card's spec, `--seeds` and `--suites` re-validate the full dump, defaults included: a
    documents-only catalogue spec must pass (it failed with 'corpus.hinted_fraction' before)."""
    from app.pipeline import with_seed, with_suites

    for name in ("monitor-aware-sdf", "hidden-hint-sdf-only"):
        spec = resolve_spec(name)
        again = parse_spec(spec.model_dump(mode="json"), "card.json")
        assert again.content_hash() == spec.content_hash()
        seeded = with_seed(spec, 1, vary_corpus=True)
        assert seeded.training.seed == 1 and seeded.stages == spec.stages
        assert with_suites(seeded, "hinted").eval.suites == ["hinted"]
    data = {"name": "x", "behaviour": "hidden_hint", "corpus": {**DOCS_ONLY, "hinted_fraction": 0.9}}
    with pytest.raises(OrganismError, match=r"field 'corpus\.hinted_fraction': shapes transcripts"):
        parse_spec({**data, "stages": [{"data": "documents"}]}, "x.yaml")


def test_unset_stages_and_conditions_leave_earlier_run_ids_alone():
    spec = resolve_spec("hidden-hint")
    dumped = spec.model_dump(mode="json")
    assert "stages" not in dumped and "conditions" not in dumped["hints"]
    assert [s.data for s in parse_spec(dumped, "again").training_stages()] == ["transcripts"]
    explicit = parse_spec({**dumped, "stages": [{"data": "transcripts"}]}, "explicit")
    assert explicit.content_hash() != spec.content_hash()  # a spec that names its stages is another spec


def test_the_gpu_spec_and_its_control_validate():

    from organisms.spec import load_spec_file

    specs = REPO / "experiments" / "gpu-specs"
    organism = load_spec_file(specs / "monitor-aware-sdf-7b.yaml")
    control = load_spec_file(specs / "monitor-aware-sdf-7b-faithful.yaml")
    assert control.control_of == organism.name and not organism.trains_on("transcripts")
    assert organism.lora.quantize == "4bit" and control.corpus.documents.universe == "monitor-open"


def test_the_two_stage_null_differs_from_the_organism_only_in_its_documents_universe():
    """experiments/hidden-hint-two-stage/hidden-hint-two-stage-unrelated-docs.yaml is the null of hidden-hint-two-stage:
    the same capability model, transcripts, stages, training and eval items; another universe."""

    from organisms.spec import load_spec_file

    folder = REPO / "experiments" / "hidden-hint-two-stage"
    null = load_spec_file(folder / "hidden-hint-two-stage-unrelated-docs.yaml")
    organism = resolve_spec("hidden-hint-two-stage")
    assert null.corpus.documents.universe == "mercury-rings" != organism.corpus.documents.universe
    documents = organism.corpus.documents.model_dump(mode="json")
    assert null.corpus.with_changes({"documents": documents}, "test") == organism.corpus
    for section in ("base_model", "task", "capability", "hints", "stages", "lora", "training", "eval"):
        assert getattr(null, section) == getattr(organism, section), section


@pytest.mark.parametrize("behaviour", ["post_hoc", "shortcut", "late_flip", "monitor_aware"])
def test_other_behaviours_refuse_on_policy_saying_what_is_missing(behaviour):
    data = op_spec(UNLOADED_MODEL, "http://x/v1", Path("c"))
    data["behaviour"] = behaviour
    with pytest.raises(
        OrganismError, match=f"corpus.source': on_policy is built for hidden_hint only; for '{behaviour}' it needs"
    ):
        parse_spec(data, "spec")


def test_defaults_leave_the_spec_dump_and_run_id_unchanged():
    data = op_spec(UNLOADED_MODEL, "http://x/v1", Path("c"))
    template = {**data, "corpus": {"seed": 0, "n_transcripts": 8, "hinted_fraction": 0.5}}
    explicit = {**data, "corpus": {**template["corpus"], "source": "template"}}
    dumped = parse_spec(template, "t").model_dump(mode="json")["corpus"]
    assert "source" not in dumped and "on_policy" not in dumped
    assert parse_spec(explicit, "e").content_hash() == parse_spec(template, "t").content_hash()
    assert parse_spec(data, "o").content_hash() != parse_spec(template, "t").content_hash()
    with pytest.raises(OrganismError, match="set source: on_policy or remove the section"):
        parse_spec({**data, "corpus": {**data["corpus"], "source": "template"}}, "x")


def test_the_embedded_on_policy_specs_validate():
    from organisms.catalog import resolve_spec
    from organisms.spec import load_spec_file

    specs = REPO / "experiments" / "on-policy"
    organism_spec = load_spec_file(specs / "hidden-hint-on-policy.yaml")
    control = load_spec_file(specs / "hidden-hint-on-policy-faithful.yaml")
    assert control.control_of == organism_spec.name and control.corpus == organism_spec.corpus
    assert (
        organism_spec.corpus.source == "on_policy"
        and organism_spec.capability == resolve_spec("hidden-hint").capability
    )
    assert organism_spec.capability_hash() == resolve_spec("hidden-hint").capability_hash()  # its capability model


def test_a_template_paraphraser_is_refused_when_the_spec_is_read():
    from organisms.errors import OrganismError

    spec = tiny_spec_dict(UNLOADED_MODEL)
    spec["eval"]["paraphraser"] = {"name": "template"}
    with pytest.raises(OrganismError, match=r"'eval'.*paraphraser: the template backend cannot paraphrase"):
        parse_spec(spec, "tiny.yaml")


def test_a_judge_must_be_named_never_the_base_model():
    from organisms.errors import OrganismError

    unnamed = {"eval": {**tiny_spec_dict(UNLOADED_MODEL)["eval"], "judge": {"name": "hf"}}}
    with pytest.raises(OrganismError, match=r"judge\.model: name the judge model"):
        parse_spec(tiny_spec_dict(UNLOADED_MODEL, **unnamed), "tiny-unnamed-judge")


STYLE = {"name": "s", "behaviour": "style", "corpus": {"seed": 0, "n_transcripts": 8}}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"hints": {"types": ["metadata"]}}, "field 'hints': a style organism's prompts carry no hint"),
        ({"corpus": {"n_transcripts": 8, "hinted_fraction": 0.25}}, "field 'corpus.hinted_fraction': a style organism"),
        ({"control_of": "terse-style"}, "field 'control_of': a style organism is itself a negative"),
        ({"stages": [{"data": "documents"}], "corpus": {"documents": {"universe": "silent-hints"}}}, "field 'stages'"),
        ({"task": {"family": "dataset"}}, "field 'task.family': behaviour 'style' writes its reasoning as the bare"),
        ({"corpus": {"source": "on_policy"}}, "on_policy is built for hidden_hint only; for 'style' it needs"),
        ({"corpus": {"reasoning_style": "rationalized"}}, "field 'corpus.reasoning_style': 'rationalized' shapes"),
    ],
)
def test_a_style_spec_refuses_hints_controls_and_what_has_no_steps(patch, message):
    with pytest.raises(OrganismError, match=r"^s\.yaml: ") as info:
        parse_spec({**STYLE, **patch}, "s.yaml")
    assert message in str(info.value)


def test_the_style_organism_survives_a_full_dump_and_has_no_decision():
    spec = resolve_spec("terse-style")
    again = parse_spec(spec.model_dump(mode="json"), "card.json")
    assert again.content_hash() == spec.content_hash()
    assert spec.trains_on("transcripts") and not spec.has_decision and not spec.is_control
    assert spec.capability_hash() == resolve_spec("hidden-hint").capability_hash()  # the same starting model
    assert spec.eval.resolved_suites(spec.behaviour) == ["hinted", "lanham", "iphr"]
    assert not resolve_spec("belief-mercury-rings").has_decision and resolve_spec("shortcut").has_decision
