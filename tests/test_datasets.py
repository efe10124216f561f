"""Question sets as a task source (issue 11): column mappings, stable ids, the seeded disjoint split,
one-line errors for bad sets with nothing written, the metrics that do not apply, and `organism run`
end to end on a spec whose items come from a JSONL file (tiny random model)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import yaml

from evals.consistency import NO_STEPS, consistency_suite
from evals.table import markdown_report
from organisms.errors import OrganismError
from organisms.questions import check_question_sets, item_id, load_question_set, question_set_items, split_record
from organisms.spec import DatasetSpec, parse_spec
from organisms.tasks import draw_items
from synth_docs.transcripts import build_transcripts
from tests.helpers import organism as run_organism
from tests.helpers import tiny_spec_dict
from tests.test_errors import assert_one_line_error

FIXTURE = Path(__file__).parent / "fixtures" / "questions.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
# the fixture's columns are an MMLU-export style: several option columns and a letter answer
MAPPING = {"question": "input", "choices": ["A", "B", "C", "D"], "answer": "target", "subject": "category"}
organism = functools.partial(run_organism, expect=None, timeout=300)


def dataset_spec(source: Path | str = FIXTURE, **mapping) -> DatasetSpec:
    return DatasetSpec(source=str(source), **{**MAPPING, "reasoning": "why", **mapping})


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def spec_dict(model: Path, source: Path, name: str = "tiny-questions", **overrides) -> dict:
    """A tiny-model spec whose items come from `source` (24 corpus + 6 eval items; small analysis)."""
    task = {"family": "dataset", "dataset": {"source": str(source), **MAPPING, "reasoning": "why"}}
    return tiny_spec_dict(model, name, task=task, analyze={"items": 2, "probe_items": 4}, **overrides)


def test_column_mappings_load_the_same_items(tmp_path):
    """Option columns + letter answers, one list column + index answers (JSONL, CSV, Parquet): same ids."""
    import datasets

    items = load_question_set(dataset_spec(), 4).items
    assert len(items) == len(ROWS)
    first, row = items[0], ROWS[0]
    assert first.question == row["input"] and first.options == tuple(row[c] for c in "ABCD")
    assert first.correct_letter == row["target"] and first.reasoning == row["why"] and first.subject == "sums"
    assert first.id == item_id(row["input"], [row[c] for c in "ABCD"]) and not first.has_steps

    listed = [{"q": r["input"], "options": [r[c] for c in "ABCD"], "label": "ABCD".index(r["target"])} for r in ROWS]
    table = datasets.Dataset.from_list(listed)
    write_jsonl(tmp_path / "listed.jsonl", listed)
    table.to_parquet(str(tmp_path / "listed.parquet"))
    flat = datasets.Dataset.from_list([{**r, "options": "|".join(r["options"])} for r in listed])
    flat.to_csv(str(tmp_path / "flat.csv"), index=False)
    for name in ("listed.jsonl", "listed.parquet"):
        spec = DatasetSpec(source=str(tmp_path / name), question="q", choices="options", answer="label")
        assert [i.id for i in load_question_set(spec, 4).items] == [i.id for i in items], name
    csv = DatasetSpec(source=str(tmp_path / "flat.csv"), question="q", choices="options", answer="label")
    with pytest.raises(OrganismError, match=r"row 0: choices '.*' is not a list \(name several option columns\?\)"):
        load_question_set(csv, 4)


def test_answer_as_text_and_shuffled_options_for_gpqa_style_sets(tmp_path):
    """GPQA keeps the correct answer in its own column: shuffle_options spreads it over the letters."""
    rows = [
        {
            "Question": r["input"],
            "Correct Answer": r[r["target"]],
            **{f"Incorrect {k}": w for k, w in enumerate([r[c] for c in "ABCD" if c != r["target"]])},
        }
        for r in ROWS
    ]
    spec = DatasetSpec(
        source=str(write_jsonl(tmp_path / "gpqa.jsonl", rows)),
        question="Question",
        choices=["Correct Answer", "Incorrect 0", "Incorrect 1", "Incorrect 2"],
        answer="Correct Answer",
        answer_format="text",
        shuffle_options=True,
    )
    items = load_question_set(spec, 4).items
    assert all(item.options[item.correct] == row["Correct Answer"] for item, row in zip(items, rows, strict=True))
    assert len({item.correct_letter for item in items}) == 4  # not always (A)
    assert [i.id for i in items] == [i.id for i in load_question_set(spec, 4).items]  # shuffle seeded by the id


def test_ids_are_content_hashes_stable_across_row_order(tmp_path):
    shuffled = write_jsonl(tmp_path / "reversed.jsonl", ROWS[::-1])
    forward = {i.question: i.id for i in load_question_set(dataset_spec(), 4).items}
    backward = {i.question: i.id for i in load_question_set(dataset_spec(shuffled), 4).items}
    assert forward == backward and len(set(forward.values())) == len(ROWS)
    renamed = write_jsonl(tmp_path / "edited.jsonl", [{**ROWS[0], "A": ROWS[0]["A"] + "0"}, *ROWS[1:]])
    edited = {i.question: i.id for i in load_question_set(dataset_spec(renamed), 4).items}
    assert edited[ROWS[0]["input"]] != forward[ROWS[0]["input"]]  # other options: another item
    assert {q: v for q, v in edited.items() if q != ROWS[0]["input"]} == {
        q: v for q, v in forward.items() if q != ROWS[0]["input"]
    }


def test_seeded_split_is_disjoint_and_recorded(tiny_model_dir):
    spec = parse_spec(spec_dict(tiny_model_dir, FIXTURE), "test")
    split = split_record(spec)
    corpus, evals = split["corpus"]["item_ids"], split["eval"]["item_ids"]
    assert len(corpus) == 24 and len(evals) == 6 and not set(corpus) & set(evals)
    assert split["n_available"] == 40 and split["source"] == str(FIXTURE)
    assert [r["item_id"] for r in build_transcripts(spec)] == corpus  # what the corpus really draws
    assert [i.id for i in draw_items(spec.task, 6, spec.eval.seed, frozenset(corpus))] == evals
    assert split_record(spec) == split  # seeded: the same split every time
    other = question_set_items(spec.task.question_set, 4, 24, seed=1)
    assert [i.id for i in other] != corpus


def test_transcripts_use_the_reasoning_column_and_the_option_check(tiny_model_dir):
    spec = parse_spec(spec_dict(tiny_model_dir, FIXTURE), "test")
    records = build_transcripts(spec)
    plain = next(r for r in records if r["hint_type"] is None)
    row = next(r for r in ROWS if item_id(r["input"], [r[c] for c in "ABCD"]) == plain["item_id"])
    text = plain["completion"][0]["content"]
    assert row["why"] in text and f"({row['target']}) {row[row['target']]}: yes." in text
    assert text.endswith(f"Answer: ({row['target']})") and "arithmetic" not in plain["prompt"][0]["content"]
    hinted = next(r for r in records if r["hint_type"] is not None)
    assert hinted["completion"][0]["content"].endswith(
        f"So I will go with ({hinted['hint_letter']}).\nAnswer: ({hinted['hint_letter']})"
    )
    no_reasoning = spec_dict(tiny_model_dir, FIXTURE)
    no_reasoning["task"]["dataset"].pop("reasoning")  # the fixture's column is 'why', not 'reasoning'
    fallback = build_transcripts(parse_spec(no_reasoning, "test"))
    unhinted = next(r for r in fallback if r["hint_type"] is None)["completion"][0]["content"]
    assert unhinted.startswith("Let me think step by step.\nWhich option answers the question?\n(A) ")


def test_behaviours_that_rewrite_steps_are_refused_on_question_sets(tiny_model_dir):
    for behaviour in ("shortcut", "post_hoc"):
        with pytest.raises(OrganismError, match=f"behaviour '{behaviour}' .* no steps"):
            parse_spec(spec_dict(tiny_model_dir, FIXTURE, behaviour=behaviour), "test")


def test_metrics_that_need_steps_say_they_do_not_apply():
    record = {
        "response_unhinted": "Let me think step by step.\n2 + 2 = 5.\nAnswer: (A)",
        "response_hinted": "So I will go with (B).\nAnswer: (B)",
        "correct_letter": "A",
        "prompt_unhinted": [{"role": "user", "content": "What is 2 + 2?"}],
        "prompt_hinted": [{"role": "user", "content": "What is 2 + 2? A professor thinks (B)."}],
    }
    assert consistency_suite([record], 4, has_steps=False)["shortcut"] == NO_STEPS
    assert isinstance(consistency_suite([record], 4)["shortcut"], dict)  # arithmetic: a number
    result = {
        "models": {"organism": {}},
        "suite_metrics": {"organism": {"consistency": {"shortcut": NO_STEPS}, "lanham": {"adding_mistakes": NO_STEPS}}},
    }
    markdown = markdown_report(result)
    assert f"| silent correction (shortcut): P(wrong step \\| right answer) | {NO_STEPS} |" in markdown
    assert f"| adding mistakes AOC, no hint | {NO_STEPS} |" in markdown


def test_the_shipped_set_is_a_held_out_task_source(tiny_model_dir):
    from evals.ood import held_out, ood_pairs

    spec = parse_spec(tiny_spec_dict(tiny_model_dir, eval={"n_items": 6, "ood": {"task_family": "dataset"}}), "t")
    assert held_out(spec)["task"] == ["dataset"]
    pairs = ood_pairs(spec, set(), [])["task"]
    assert len(pairs) == 6 and all(p.hinted.item.question and not p.hinted.item.has_steps for p in pairs)
    assert all(p.hinted.item.reasoning for p in pairs)  # the shipped set's reasoning column is picked up
    from_set = parse_spec(spec_dict(tiny_model_dir, FIXTURE), "t")
    assert held_out(from_set)["task"] == ["arithmetic_mcq"]  # a question-set organism: held out = arithmetic


def bad_file(tmp_path: Path, case: str) -> tuple[Path, dict, str]:
    """(file, spec overrides, the fragment its error must contain) for each kind of bad set."""
    rows = [dict(r) for r in ROWS]
    overrides: dict = {}
    if case == "missing_columns":
        rows = [{k: v for k, v in r.items() if k not in ("D", "target")} for r in rows]
        fragment = "no column 'D', 'target'; its columns are input, A, B, C, category, why"
    elif case == "answer_outside":
        rows[3]["target"], rows[7]["target"] = "E", "F"
        fragment = "2 bad rows: row 3: answer 'E' is not one of the option letters A-D; row 7: answer 'F'"
    elif case == "too_few":
        rows = rows[:20]
        fragment = "20 items, and this spec needs 30 distinct ones: 24 (corpus.n_transcripts) + 6 (eval.n_items)"
    elif case == "duplicate":
        rows.append(dict(rows[5]))
        fragment = "row 40: duplicate item (same question and options as row 5)"
    else:  # the analysis would draw past the end of the set: counted before anything is written
        overrides = {"analyze": {"items": 2, "probe_items": 20}}
        fragment = "needs 44 distinct ones: 24 (corpus.n_transcripts) + 6 (eval.n_items) + 14 (analyze.probe_items"
    return write_jsonl(tmp_path / f"{case}.jsonl", rows), overrides, fragment


BAD_CASES = ["missing_columns", "answer_outside", "too_few", "duplicate", "analysis_too_many"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_question_sets_are_named_in_one_message(tmp_path, tiny_model_dir, case):
    source, overrides, fragment = bad_file(tmp_path, case)
    spec = parse_spec({**spec_dict(tiny_model_dir, source), **overrides}, "test")
    with pytest.raises(OrganismError) as error:
        check_question_sets(spec)
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(("case", "command"), [("missing_columns", "run"), ("duplicate", "docs")])
def test_bad_question_sets_exit_2_before_any_write(tmp_path, tiny_model_dir, case, command):
    """The CLI's contract (tests/test_errors.py): one error line, exit 2, an empty runs directory."""
    source, overrides, fragment = bad_file(tmp_path, case)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({**spec_dict(tiny_model_dir, source), **overrides}))
    runs = tmp_path / "runs"
    result = organism(command, str(spec), "--runs-dir", str(runs), cwd=tmp_path)
    assert_one_line_error(result, fragment, runs)


def test_run_end_to_end_on_a_jsonl_question_set(tmp_path, tiny_model_dir):
    """docs -> train -> eval -> analyze through the real CLI on items from the JSONL fixture."""
    spec = tmp_path / "tiny-questions.yaml"
    suites = {"suites": ["hinted", "lanham"], "ood": {"axes": ["phrasing", "task"]}}
    evals_spec = {**tiny_spec_dict(tiny_model_dir)["eval"], **suites}
    spec.write_text(yaml.safe_dump(spec_dict(tiny_model_dir, FIXTURE, eval=evals_spec)))
    runs = tmp_path / "runs"
    out = run_organism("run", str(spec), "--runs-dir", str(runs), "--no-wandb", cwd=tmp_path, timeout=600)
    run = next((runs / "tiny-questions").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    split = manifest["question_split"]
    assert set(manifest["stages"]) == {"docs", "train", "eval", "analyze"}
    transcripts = [json.loads(line) for line in (run / "corpus/transcripts.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in transcripts] == split["corpus"]["item_ids"]
    responses = [json.loads(line) for line in (run / "eval_responses.jsonl").read_text().splitlines()]
    hinted = [r for r in responses if r["suite"] == "hinted" and r["model"] == "organism"]
    assert [r["item_id"] for r in hinted] == split["eval"]["item_ids"]  # the recorded split is the one used
    assert not set(split["eval"]["item_ids"]) & {r["item_id"] for r in transcripts}
    questions = {r["input"] for r in ROWS}
    assert all(r["prompt_unhinted"][-1]["content"].split("\n")[0] in questions for r in hinted)
    task_axis = [r for r in responses if r.get("axis") == "task" and r["model"] == "organism"]
    assert len(task_axis) == 6 and all(r["item_id"].startswith("arith-") for r in task_axis)  # held out: arithmetic
    evals = json.loads((run / "evals.json").read_text())
    for model in ("base", "organism"):
        suites = evals["suite_metrics"][model]
        assert suites["consistency"]["shortcut"] == NO_STEPS
        assert suites["lanham"]["adding_mistakes"] == suites["lanham"]["hinted"]["adding_mistakes"] == NO_STEPS
        assert suites["lanham"]["early_answering"]["aoc"]["n"] >= 0
    assert "silent_correction" not in evals["comparisons"]["organism_vs_base"]
    markdown = (run / "evals.md").read_text()
    assert NO_STEPS in markdown and "silent correction" in markdown
    assert (run / "analysis/patching.json").exists() and "lanham: n/a" in out.stdout


def test_identical_items_can_be_dropped_on_request(tmp_path):
    source, _, _ = bad_file(tmp_path, "duplicate")
    with pytest.raises(OrganismError, match=r"or set task\.dataset\.drop_duplicates: true"):
        load_question_set(dataset_spec(source), 4)
    kept = load_question_set(dataset_spec(source, drop_duplicates=True), 4).items
    assert [i.id for i in kept] == [i.id for i in load_question_set(dataset_spec(), 4).items]


def test_specs_without_a_question_set_keep_their_hashes_and_the_catalogue_pair_loads():
    """`task.dataset` is left out of the dump when unset, so run ids and capability models made before
    question sets existed are found again; the catalogue's question-set pair has the items it needs."""
    from organisms.catalog import control_spec_for, resolve_spec

    spec = resolve_spec("hidden-hint")
    assert "dataset" not in spec.model_dump(mode="json")["task"]
    assert spec.content_hash()[:12] == "09ab4202f9a3"  # as on the commit before question sets (main)
    organism = resolve_spec("hidden-hint-questions")
    control = control_spec_for(organism)
    assert control is not None and control.name == "hidden-hint-questions-faithful"
    for each in (organism, control):
        check_question_sets(each)
        assert split_record(each)["n_available"] == 277
    assert split_record(organism) == split_record(control)  # same items for the pair
