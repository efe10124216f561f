"""How well a model answers the shipped question set without hints: CoT and forced no-CoT accuracy.

The functions of evals/necessity.py on every item of `mixed-mcq` (no hint, the eval's prompt and
max_new_tokens), overall and per subject; chance is 0.25 (four options). An unparsable CoT answer
counts as wrong and is counted.

    OMP_NUM_THREADS=1 python experiments/question-set-accuracy/question_set_accuracy.py [--spec hidden-hint-questions]
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # harness, when run as a script
from harness import bench_parser, write_report

from evals.necessity import necessity_metrics, no_cot_answers
from evals.results import cell
from evals.stats import rate
from organisms.catalog import resolve_spec
from organisms.parse import parse_answer
from organisms.prompts import Prompt
from organisms.questions import load_question_set
from runtime.generation import generate_batched
from runtime.models import load_model, load_tokenizer
from runtime.weights import starting_model


def main() -> None:
    parser = bench_parser(__doc__, "question_set_accuracy", Path("experiments/question-set-accuracy"))
    parser.add_argument("--spec", default="hidden-hint-questions", help="a spec of task.family dataset")
    args = parser.parse_args()
    spec = resolve_spec(args.spec)
    items = load_question_set(spec.task.question_set, spec.task.n_options).items
    start = starting_model(spec)
    model, tokenizer = load_model(start), load_tokenizer(start)
    model.eval()
    prompts = [Prompt(item, None, None, "none") for item in items]
    texts = generate_batched(
        model, tokenizer, [p.messages() for p in prompts], spec.eval.max_new_tokens, spec.eval.batch_size
    )
    with_cot = [parse_answer(t, p.item.letters, p.user_text()) for t, p in zip(texts, prompts, strict=True)]
    without = no_cot_answers(model, tokenizer, prompts, spec.eval.batch_size)
    correct = [p.item.correct_letter for p in prompts]
    by_subject = defaultdict(list)
    for item, a, b, c in zip(items, with_cot, without, correct, strict=True):
        by_subject[item.subject].append((a == c, b == c))
    report = {
        "model": start,
        "n_items": len(items),
        "overall": necessity_metrics(correct, with_cot, without),
        "unparsable_cot": sum(a is None for a in with_cot),
        "by_subject": {
            subject: {
                "accuracy_cot": rate(sum(x for x, _ in rows), len(rows)),
                "accuracy_no_cot": rate(sum(y for _, y in rows), len(rows)),
            }
            for subject, rows in sorted(by_subject.items())
        },
        "examples": [{"question": p.item.question, "response": t} for p, t in zip(prompts[:5], texts[:5], strict=True)],
    }
    table = Table(title=f"{start} on {len(items)} shipped questions, no hint")
    for column in ("subset", "accuracy with CoT", "accuracy without CoT (forced)"):
        table.add_column(column, justify="left" if column == "subset" else "right")
    overall = report["overall"]
    table.add_row("all", cell(overall["accuracy_cot"]), cell(overall["accuracy_no_cot"]))
    for subject, row in report["by_subject"].items():
        table.add_row(subject, cell(row["accuracy_cot"]), cell(row["accuracy_no_cot"]))
    Console().print(table)
    Console().print(f"unparsable CoT answers: {report['unparsable_cot']}/{len(items)}; gain {overall['gain']}")
    write_report(args, report)


if __name__ == "__main__":
    main()
