"""Sizes are bounded by what the task can draw: a spec asking for more distinct items than its item
space holds is refused when it is read (one line naming the field and the bound), not run until the
draw gives up (a traceback) or memory runs out (10^9 transcripts)."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import app
from organisms.catalog import CATALOG_DIR
from organisms.errors import OrganismError
from organisms.spec import TaskSpec, parse_spec
from organisms.tasks import arithmetic_items, comparison_pairs


def hidden_hint(**patch) -> dict:
    data = yaml.safe_load((CATALOG_DIR / "hidden-hint.yaml").read_text())
    for key, value in patch.items():
        data[key] = {**data.get(key, {}), **value}
    return data


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"corpus": {"n_transcripts": 10**9}}, "corpus.n_transcripts"),
        ({"eval": {"n_items": 10**9}}, "eval.n_items"),
        ({"capability": {"n_transcripts": 10**9}}, "capability.n_transcripts"),
        ({"analyze": {"items": 10**9, "probe_items": 10**9}}, "analyze.probe_items"),
    ],
)
def test_a_count_beyond_the_item_space_is_refused_naming_the_field_and_bound(patch, field):
    """hidden-hint draws 3 operands in [2, 20]: 19^3 = 6,859 operand sequences, at most half drawn."""
    with pytest.raises(OrganismError) as info:
        parse_spec(hidden_hint(**patch), "huge.yaml")
    message = str(info.value)
    assert message.startswith(f"huge.yaml: field '{field}'")
    assert "at most 3,429" in message and "6,859 operand sequences" in message
    assert "\n" not in message


def test_a_narrow_operand_range_is_refused_before_the_draw_gives_up():
    """2 operands in [10, 12]: 9 operand sequences; 24 transcripts + 6 eval items cannot be drawn."""
    data = hidden_hint(task={"n_operands": 2, "operand_min": 10, "operand_max": 12})
    del data["capability"]
    data["corpus"]["n_transcripts"] = 24
    data["eval"]["n_items"] = 6
    with pytest.raises(OrganismError, match=r"field 'corpus.n_transcripts'.*at most 4 .*widen task.operand"):
        parse_spec(data, "small.yaml")


def test_the_bound_counts_every_stage_that_draws_and_admits_what_fits():
    data = hidden_hint(task={"n_operands": 2, "operand_min": 0, "operand_max": 19})  # 400 sequences, 200 drawn
    del data["capability"]
    data["corpus"]["n_transcripts"] = 150
    data["eval"]["n_items"] = 50
    data["analyze"] = {"items": 6, "probe_items": 24}
    assert parse_spec(data, "fits.yaml").corpus.n_transcripts == 150
    data["eval"]["n_items"] = 51
    drawn = r"201 distinct items \(150 \(corpus.n_transcripts\) \+ 51 \(eval.n_items\)\)"
    with pytest.raises(OrganismError, match=drawn):
        parse_spec(data, "one-more.yaml")


def test_a_belief_organism_draws_no_items_so_its_counts_are_not_bounded_by_them():
    data = yaml.safe_load((CATALOG_DIR / "belief-mercury-rings.yaml").read_text())
    data.setdefault("task", {}).update({"n_operands": 2, "operand_min": 10, "operand_max": 11})
    assert parse_spec(data, "belief.yaml").task.item_space == 4


def test_iphr_pairs_are_bounded_by_their_value_range():
    data = hidden_hint(eval={"iphr": {"n_pairs": 10**9}})
    with pytest.raises(OrganismError, match=r"field 'eval.iphr': .*at most 449 pairs"):
        parse_spec(data, "iphr.yaml")
    data = hidden_hint(eval={"iphr": {"value_min": 500, "value_max": 100}})
    with pytest.raises(OrganismError, match=r"field 'eval.iphr': .*value_max"):
        parse_spec(data, "iphr.yaml")


def test_a_draw_that_cannot_finish_is_a_one_line_error_not_a_value_error():
    """The spec check keeps this from happening; the draws themselves still say what to change."""
    task = TaskSpec(n_operands=2, operand_min=10, operand_max=11)
    with pytest.raises(OrganismError, match=r"task.operand_min"):
        arithmetic_items(task, 40, seed=0)
    with pytest.raises(OrganismError, match=r"eval.iphr"):
        comparison_pairs(10, seed=0, value_min=100, value_max=110)


def test_the_cli_refuses_a_huge_spec_with_exit_2_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(hidden_hint(corpus={"n_transcripts": 10**9})))
    result = CliRunner().invoke(app, ["docs", str(path), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "field 'corpus.n_transcripts'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_the_held_out_task_axis_of_a_question_set_organism_is_bounded_by_its_procedural_family():
    """The question set's own size is checked when it is loaded; the arithmetic axis is known here."""
    data = yaml.safe_load((CATALOG_DIR / "hidden-hint-questions.yaml").read_text())
    data["task"].update({"n_operands": 2, "operand_min": 10, "operand_max": 12})
    with pytest.raises(OrganismError, match=r"field 'eval.n_items': the held-out task axis \(arithmetic_mcq\)"):
        parse_spec(data, "questions.yaml")
    data["eval"]["ood"] = {"axes": ["phrasing", "hint_type"]}
    assert parse_spec(data, "questions.yaml").eval.n_items == 48
