"""Question sets as a task source (organisms/questions.py): column mappings, stable ids, the seeded disjoint
split, one-message errors for bad sets; and the shipped set (organisms/question_sets/mixed-mcq.jsonl) is
what it claims: well-formed, no duplicates, every computable answer recomputed from its question, and
reasoning texts that neither give away an option letter nor read as a hint mention."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from organisms.errors import OrganismError
from organisms.hints import HINTS
from organisms.questions import (
    QUESTION_SETS_DIR,
    check_question_sets,
    item_id,
    load_question_set,
    question_set_items,
    split_record,
)
from organisms.spec import DatasetSpec, parse_spec
from organisms.tasks import draw_items
from synth_docs.transcripts import build_transcripts
from tests.helpers import QUESTION_COLUMNS, QUESTIONS, UNLOADED_MODEL, bad_question_set, question_set_spec

ROWS = [json.loads(line) for line in QUESTIONS.read_text().splitlines()]  # the question-set fixture


def dataset_spec(source: Path | str = QUESTIONS, **mapping) -> DatasetSpec:
    return DatasetSpec(source=str(source), **{**QUESTION_COLUMNS, "reasoning": "why", **mapping})


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


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


def test_seeded_split_is_disjoint_and_recorded():
    spec = parse_spec(question_set_spec(UNLOADED_MODEL, QUESTIONS), "test")
    split = split_record(spec)
    corpus, evals = split["corpus"]["item_ids"], split["eval"]["item_ids"]
    assert len(corpus) == 24 and len(evals) == 6 and not set(corpus) & set(evals)
    assert split["n_available"] == 40 and split["source"] == str(QUESTIONS)
    assert [r["item_id"] for r in build_transcripts(spec)] == corpus  # what the corpus really draws
    assert [i.id for i in draw_items(spec.task, 6, spec.eval.seed, frozenset(corpus))] == evals
    assert split_record(spec) == split  # seeded: the same split every time
    other = question_set_items(spec.task.question_set, 4, 24, seed=1)
    assert [i.id for i in other] != corpus


def test_behaviours_that_rewrite_steps_are_refused_on_question_sets():
    for behaviour in ("shortcut", "post_hoc"):
        with pytest.raises(OrganismError, match=f"behaviour '{behaviour}' .* no steps"):
            parse_spec(question_set_spec(UNLOADED_MODEL, QUESTIONS, behaviour=behaviour), "test")


BAD_CASES = ["missing_columns", "answer_outside", "too_few", "duplicate", "analysis_too_many"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_question_sets_are_named_in_one_message(tmp_path, case):
    source, overrides, fragment = bad_question_set(tmp_path, case)
    spec = parse_spec({**question_set_spec(UNLOADED_MODEL, source), **overrides}, "test")
    with pytest.raises(OrganismError) as error:
        check_question_sets(spec)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_identical_items_can_be_dropped_on_request(tmp_path):
    source, _, _ = bad_question_set(tmp_path, "duplicate")
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


# the shipped set (organisms/question_sets/mixed-mcq.jsonl)
SHIPPED = [
    json.loads(line) for line in (QUESTION_SETS_DIR / "mixed-mcq.jsonl").read_text(encoding="utf-8").splitlines()
]


DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# (larger unit, smaller unit) -> how many of the smaller make one of the larger
FACTORS = {
    ("metres", "centimetres"): 100,
    ("kilometres", "metres"): 1000,
    ("kilograms", "grams"): 1000,
    ("hours", "minutes"): 60,
    ("minutes", "seconds"): 60,
    ("litres", "millilitres"): 1000,
    ("days", "hours"): 24,
    ("weeks", "days"): 7,
    ("feet", "inches"): 12,
}


def correct_text(row: dict) -> str:
    return row["choices"]["ABCD".index(row["answer"])]


def test_shape_and_coverage():
    assert len(SHIPPED) >= 200
    subjects = Counter(row["subject"] for row in SHIPPED)
    assert len(subjects) >= 6 and min(subjects.values()) >= 20, subjects
    for row in SHIPPED:
        assert set(row) == {"question", "choices", "answer", "subject", "reasoning"}, row
        assert len(row["choices"]) == 4 and len(set(row["choices"])) == 4, row
        assert row["answer"] in "ABCD", row
        assert row["question"].strip() and row["reasoning"].strip(), row
    letters = Counter(row["answer"] for row in SHIPPED)
    assert min(letters.values()) > len(SHIPPED) / 8, letters  # the correct letter is not always the same one


def test_no_duplicates_and_stable_unique_ids():
    questions = [" ".join(row["question"].lower().split()) for row in SHIPPED]
    assert len(set(questions)) == len(questions), [q for q, n in Counter(questions).items() if n > 1]
    items = load_question_set(DatasetSpec(), n_options=4).items
    assert len(items) == len(SHIPPED) and len({item.id for item in items}) == len(items)
    for row, item in zip(SHIPPED, items, strict=True):
        assert item.question == row["question"] and item.reasoning == row["reasoning"]
        assert item.options[item.correct] == correct_text(row) and item.subject == row["subject"]


def recompute(row: dict) -> str | None:
    """The answer worked out from the question alone, for every computable subject (None otherwise)."""
    q = row["question"]
    if row["subject"] == "arithmetic":
        a, op, b = re.fullmatch(r"What is (\d+) ([×+\-÷]) (\d+)\?", q).groups()
        a, b = int(a), int(b)
        if op == "÷":
            assert a % b == 0, q
        return str({"×": a * b, "+": a + b, "-": a - b, "÷": a // b if b else None}[op])
    if row["subject"] == "units":
        small, quantity, big = re.fullmatch(r"How many (\w+) are in (\d+) (\w+)\?", q).groups()
        return str(int(quantity) * FACTORS[(big, small)])
    if row["subject"] == "sequences":
        terms = [int(t) for t in re.fullmatch(r"What number comes next: ([\d, ]+), \.\.\.\?", q).group(1).split(", ")]
        differences = {b - a for a, b in itertools.pairwise(terms)}
        if len(differences) == 1:
            return str(terms[-1] + differences.pop())
        ratios = {b / a for a, b in itertools.pairwise(terms)}
        assert len(ratios) == 1, q  # neither arithmetic nor geometric: not a well-posed item
        return str(terms[-1] * int(ratios.pop()))
    if row["subject"] == "calendar":
        today, days = re.fullmatch(r"If today is (\w+), what day of the week will it be in (\d+) days\?", q).groups()
        return DAYS[(DAYS.index(today) + int(days)) % 7]
    return None


@pytest.mark.parametrize("subject", ["arithmetic", "units", "sequences", "calendar"])
def test_computable_answers_are_right(subject):
    rows = [row for row in SHIPPED if row["subject"] == subject]
    assert len(rows) >= 20
    wrong = [
        (row["question"], correct_text(row), recompute(row)) for row in rows if recompute(row) != correct_text(row)
    ]
    assert not wrong, wrong
    for row in rows:  # the reasoning states the same result
        assert correct_text(row) in row["reasoning"], row


def test_reasoning_names_no_letter_and_no_hint():
    for row in SHIPPED:
        assert not re.search(r"\([A-H]\)", row["reasoning"]), row
        for hint in HINTS.values():
            assert not hint.is_verbalized(row["reasoning"]), (hint.type, row["reasoning"])
