"""Multiple-choice items from a question set: a shipped file, a local JSONL/CSV/Parquet file or a
Hugging Face dataset id, read with `datasets.load_dataset` through the spec's column mapping
(`task.dataset`; docs/datasets.md).

A set is checked whole before anything is written (columns, answers, option counts, duplicates),
because a bad row found halfway through a corpus would leave a run half-built. Every item gets a
content id (a hash of its question and options), so a question keeps its id across runs, seeds and
file orderings; the corpus, the capability stage and the evals draw disjoint items by seed.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from organisms.cache import cache_root
from organisms.errors import OrganismError
from organisms.items import LETTERS, McqItem
from organisms.spec import DatasetSpec, OrganismSpec

QUESTION_SETS_DIR = Path(__file__).parent / "question_sets"
LOCAL_BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
_LISTED = 5  # rows named in an error message before "and N more"


@dataclass(frozen=True)
class QuestionSet:
    """The checked items of one question set, in file order."""

    name: str  # what the spec named (shipped name, path or dataset id)
    items: tuple[McqItem, ...]

    @property
    def fingerprint(self) -> str:
        """Hash of everything a transcript reads from the set: a changed answer or reasoning changes it."""
        rows = [(i.id, i.correct, i.reasoning, i.subject) for i in self.items]
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def shipped_question_sets() -> list[str]:
    return sorted(p.stem for p in QUESTION_SETS_DIR.glob("*.jsonl"))


def item_id(question: str, options: list[str]) -> str:
    """The stable id of an item: its question and options (in the source's order), hashed."""
    blob = json.dumps([question, options], ensure_ascii=False)
    return "q-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def _local_path(source: str) -> Path | None:
    """The file a source names (a shipped set or a local path), or None for a hub id."""
    path = Path(source).expanduser()
    if path.exists():
        return path
    shipped = QUESTION_SETS_DIR / f"{source}.jsonl"
    if "/" not in source and shipped.exists():
        return shipped
    if path.suffix in LOCAL_BUILDERS or source.startswith((".", "/", "~")):
        raise OrganismError(
            f"task.dataset.source '{source}': file not found (shipped sets: {', '.join(shipped_question_sets())}); "
            "fix the path"
        )
    return None


def datasets_cache() -> Path:
    """Where `datasets` keeps the Arrow copies of the question sets it reads: a user's HF_DATASETS_CACHE,
    else the project's cache (a hub set's raw files stay in the Hugging Face hub cache, as models' do)."""
    return Path(os.environ.get("HF_DATASETS_CACHE") or cache_root() / "datasets")


def _check_utf8(path: Path, where: str) -> None:
    """A text file that is not UTF-8 fails deep inside pyarrow; say where, in one line, before reading it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk.count(b"\n", 0, max(exc.start, 0))
                raise OrganismError(
                    f"{where}: not UTF-8 text (line {line} has byte 0x{chunk[max(exc.start, 0)]:02x}); save it as "
                    "UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
                ) from None
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise OrganismError(f"{where}: not UTF-8 text (it ends inside a character); save it as UTF-8") from None


def _load_table(spec: DatasetSpec):
    """The set as a `datasets.Dataset` (one split), or a one-line OrganismError."""
    import datasets

    path = _local_path(spec.source)
    where = f"task.dataset.source '{spec.source}'"
    if path is None:
        _check_hub(spec.source)
    if path is not None and path.is_file() and path.suffix not in LOCAL_BUILDERS:
        raise OrganismError(f"{where}: {path.suffix or 'no'} suffix; use .jsonl, .json, .csv or .parquet")
    if path is not None and path.is_file() and path.suffix != ".parquet":
        _check_utf8(path, where)
    # A local file converts in a blink; its progress bar would only break the CLI's one-line errors.
    bars = datasets.is_progress_bar_enabled()
    if path is not None:
        datasets.disable_progress_bars()
    try:
        cache_dir = str(datasets_cache())
        if path is None or path.is_dir():
            return datasets.load_dataset(str(path or spec.source), spec.config, split=spec.split, cache_dir=cache_dir)
        builder = LOCAL_BUILDERS[path.suffix]
        return datasets.load_dataset(builder, data_files=str(path), split=spec.split, cache_dir=cache_dir)
    except Exception as exc:  # a user file or dataset id: any reader error is bad input, said in one line
        message = " ".join(str(exc).split())[:300]
        raise OrganismError(f"{where}: cannot load it ({type(exc).__name__}: {message})") from None
    finally:
        if bars:
            datasets.enable_progress_bars()


def _check_hub(source: str) -> None:
    """A hub id fails fast when the hub is unreachable (the datasets client retries for minutes)."""
    from huggingface_hub import constants

    from organisms.network import connect_error

    if constants.HF_HUB_OFFLINE:
        return  # load_dataset reads the local cache
    if connect_error(constants.ENDPOINT, timeout=3.0) is not None:
        raise OrganismError(
            f"task.dataset.source '{source}': a Hugging Face dataset id, and the hub ({constants.ENDPOINT}) is "
            "unreachable; connect, set HF_HUB_OFFLINE=1 to use a cached copy, or export it to a local file"
        )


def _option_lists(table, spec: DatasetSpec) -> list[list]:
    if isinstance(spec.choices, str):
        return [list(v) if isinstance(v, list | tuple) else v for v in table[spec.choices]]
    columns = [table[name] for name in spec.choices]
    return [list(row) for row in zip(*columns, strict=True)]


def _answer_index(raw: object, options: list[str], form: str) -> int | str:
    """The 0-based index of the correct option, or why the raw answer does not name one."""
    if form == "auto":
        if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
            form = "index"
        elif isinstance(raw, str) and len(raw.strip()) == 1 and raw.strip().upper() in LETTERS:
            form = "letter"
        else:
            return f"answer {raw!r} is neither an index nor a letter (set answer_format: text if it is the option)"
    if form == "index":
        try:
            index = int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return f"answer {raw!r} is not an index"
        ok = 0 <= index < len(options)
        return index if ok else f"answer {raw!r} is outside the {len(options)} options (indices 0-{len(options) - 1})"
    if form == "letter":
        letter = str(raw).strip().strip("()").upper()
        ok = len(letter) == 1 and letter in LETTERS[: len(options)]
        last = LETTERS[len(options) - 1]
        return LETTERS.index(letter) if ok else f"answer {raw!r} is not one of the option letters A-{last}"
    text = str(raw).strip()
    return options.index(text) if text in options else f"answer {raw!r} is not the text of any option"


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _listed(problems: list[str]) -> str:
    more = f"; and {len(problems) - _LISTED} more" if len(problems) > _LISTED else ""
    return "; ".join(problems[:_LISTED]) + more


def _items(table, spec: DatasetSpec, n_options: int) -> tuple[McqItem, ...]:
    """Every row as an item, or one OrganismError that lists the bad rows (row = 0-based position)."""
    where = f"task.dataset.source '{spec.source}'"
    mapped = [spec.question, *([spec.choices] if isinstance(spec.choices, str) else spec.choices), spec.answer]
    mapped += [c for c in (spec.subject, spec.reasoning) if c is not None]
    missing = [c for c in dict.fromkeys(mapped) if c not in table.column_names]
    if missing:
        raise OrganismError(
            f"{where}: no column {', '.join(repr(c) for c in missing)}; its columns are "
            f"{', '.join(table.column_names)}; fix the column mapping in task.dataset"
        )
    questions = [_text(q) for q in table[spec.question]]
    answers = table[spec.answer]

    def optional(column: str | None, default: str) -> list:
        column = column or (default if default in table.column_names else None)
        return table[column] if column else [None] * len(questions)

    subjects, reasonings = optional(spec.subject, "subject"), optional(spec.reasoning, "reasoning")
    items, problems, seen = [], [], {}
    for row, (question, raw_options, raw_answer, subject, reasoning) in enumerate(
        zip(questions, _option_lists(table, spec), answers, subjects, reasonings, strict=True)
    ):
        if not isinstance(raw_options, list):
            problems.append(f"row {row}: choices {raw_options!r} is not a list (name several option columns?)")
            continue
        options = [_text(o) for o in raw_options]
        if not question or not all(options):
            problems.append(f"row {row}: empty question or option")
            continue
        if len(options) != n_options:
            problems.append(f"row {row}: {len(options)} options, task.n_options is {n_options}")
            continue
        if len(set(options)) != len(options):
            problems.append(f"row {row}: two options are the same text")
            continue
        correct = _answer_index(raw_answer, options, spec.answer_format)
        if isinstance(correct, str):
            problems.append(f"row {row}: {correct}")
            continue
        ident = item_id(question, options)
        if ident in seen:
            if not spec.drop_duplicates:
                problems.append(f"row {row}: duplicate item (same question and options as row {seen[ident]})")
            continue
        seen[ident] = row
        if spec.shuffle_options:
            order = list(range(len(options)))
            random.Random(ident).shuffle(order)
            options, correct = [options[i] for i in order], order.index(correct)
        items.append(
            McqItem(
                id=ident,
                expression=ident,
                steps=(),
                options=tuple(options),
                correct=correct,
                question=question,
                reasoning=_text(reasoning) or None,
                subject=_text(subject) or None,
            )
        )
    if problems:
        dropping = any("duplicate item" in p for p in problems)
        fix = (
            "; fix them, the mapping, or set task.dataset.drop_duplicates: true"
            if dropping
            else "; fix them or the mapping"
        )
        raise OrganismError(f"{where}: {len(problems)} bad rows: {_listed(problems)}{fix}")
    return tuple(items)


@functools.cache
def _cached(spec_json: str, n_options: int) -> QuestionSet:
    spec = DatasetSpec.model_validate_json(spec_json)
    table = _load_table(spec)
    try:
        return QuestionSet(spec.source, _items(table, spec, n_options))
    except UnicodeDecodeError as exc:  # a hub set or a directory: its text is read only here
        raise OrganismError(
            f"task.dataset.source '{spec.source}': not UTF-8 text ({exc.reason} at byte {exc.start} of a value); "
            "save it as UTF-8"
        ) from None


def load_question_set(spec: DatasetSpec, n_options: int) -> QuestionSet:
    """The checked set (read once per process: every stage draws from the same copy)."""
    return _cached(spec.model_dump_json(), n_options)


def question_set_items(
    spec: DatasetSpec, n_options: int, n: int, seed: int, exclude: frozenset[str] = frozenset()
) -> list[McqItem]:
    """`n` items of the set in the order a `seed`-shuffle puts them, skipping ids in `exclude`."""
    pool = load_question_set(spec, n_options).items
    order = list(range(len(pool)))
    random.Random(f"{seed}:question-set").shuffle(order)
    items = [pool[i] for i in order if pool[i].expression not in exclude][:n]
    if len(items) < n:
        taken = sum(item.expression in exclude for item in pool)
        raise OrganismError(
            f"task.dataset.source '{spec.source}': {len(pool)} items, {taken} of them already used (corpus or "
            f"capability), and {n} more are needed; use a larger set or lower the counts"
        )
    return items


def check_question_sets(spec: OrganismSpec) -> None:
    """Every question set the spec reads loads, is well-formed and has the items its stages need:
    checked before the first write, so a bad set leaves nothing behind."""
    if spec.behaviour == "belief":
        return  # documents only: no item is drawn
    if spec.task.family == "dataset":
        found = load_question_set(spec.task.question_set, spec.task.n_options)
        need = spec.items_drawn()
        if sum(need.values()) > len(found.items):
            parts = " + ".join(f"{n} ({what})" for what, n in need.items())
            raise OrganismError(
                f"task.dataset.source '{found.name}': {len(found.items)} items, and this spec needs "
                f"{sum(need.values())} distinct ones: {parts}; lower them or use a larger set"
            )
    if spec.eval.ood.task_family == "dataset" and "task" in spec.eval.ood.axes:
        found = load_question_set(spec.task.question_set, spec.task.n_options)
        if len(found.items) < spec.eval.n_items:
            raise OrganismError(
                f"eval.ood.task_family: dataset: '{found.name}' has {len(found.items)} items, and the held-out "
                f"task axis needs {spec.eval.n_items} (eval.n_items); lower it or use a larger set"
            )


def split_record(spec: OrganismSpec) -> dict | None:
    """The seeded split of the spec's question set, for the manifest: which items the corpus, the
    capability stage and the evals draw (the evals' are disjoint from the other two), by seed."""
    if spec.task.family != "dataset" or spec.behaviour == "belief":
        return None
    task = spec.task
    found = load_question_set(task.question_set, task.n_options)

    def draw(n: int, seed: int, exclude: frozenset[str] = frozenset()) -> dict:
        items = question_set_items(task.question_set, task.n_options, n, seed, exclude)
        return {"seed": seed, "n": n, "item_ids": [item.id for item in items]}

    record = {"source": found.name, "n_available": len(found.items), "fingerprint": found.fingerprint}
    record["corpus"] = draw(spec.corpus.n_transcripts, spec.corpus.seed)
    used = set(record["corpus"]["item_ids"])
    if spec.capability is not None:
        record["capability"] = draw(spec.capability.n_transcripts, spec.capability.seed)
        used |= set(record["capability"]["item_ids"])
    record["eval"] = draw(spec.eval.n_items, spec.eval.seed, frozenset(used))
    return record
