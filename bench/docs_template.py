"""Template backend: documents per second and corpus diversity, per shipped universe.

Times the whole pipeline as `organism docs` runs it (ideas, grammar, revise, filters incl.
MinHash dedup, token counts), best of `--repeats`, for `--n` documents per universe.

    python bench/docs_template.py [--n 1000] [--repeats 3] [--out bench/results/docs_template.json]
"""

from __future__ import annotations

import platform
import time

from harness import bench_parser, write_report
from rich.console import Console
from rich.table import Table

from organisms.spec import parse_spec
from organisms.universe import shipped_universes
from runtime.models import load_tokenizer
from synth_docs.documents import build_documents


def main() -> None:
    parser = bench_parser(__doc__, "docs_template")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tokenizer = load_tokenizer("embedded:smollm2-135m")
    rows = []
    for universe in shipped_universes():
        data = {
            "name": "bench",
            "behaviour": "belief",
            "corpus": {"documents": {"universe": universe, "n_documents": args.n}},
        }
        spec = parse_spec(data, "bench")
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            _, _, stats = build_documents(spec, tokenizer)
            times.append(time.perf_counter() - start)
        keys = ("n_documents", "distinct_1", "distinct_2", "distinct_3", "duplicate_rate", "exact_duplicate_rate")
        row = {"universe": universe, "seconds": min(times), **{k: stats[k] for k in keys}}
        row["documents_per_second"] = args.n / row["seconds"]
        row["mean_words"] = stats["words"]["mean"]
        row["rejections"] = stats["rejections"]
        rows.append(row)

    table = Table(title=f"template backend, {args.n} documents per universe, best of {args.repeats}")
    columns = (
        "universe",
        "kept",
        "seconds",
        "docs/s",
        "words/doc",
        "distinct-1",
        "distinct-2",
        "distinct-3",
        "dup rate",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            r["universe"],
            str(r["n_documents"]),
            f"{r['seconds']:.2f}",
            f"{r['documents_per_second']:.0f}",
            f"{r['mean_words']:.0f}",
            f"{r['distinct_1']:.4f}",
            f"{r['distinct_2']:.4f}",
            f"{r['distinct_3']:.4f}",
            f"{r['duplicate_rate']:.4f}",
        )
    Console(width=140).print(table)
    report = {
        "machine": platform.processor() or platform.machine(),
        "n": args.n,
        "repeats": args.repeats,
        "results": rows,
    }
    write_report(args, report)


if __name__ == "__main__":
    main()
