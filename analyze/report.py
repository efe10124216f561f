"""The run's self-contained `report.html`: evals, corpus, card and plots (embedded as base64)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from evals.table import ROWS, format_cell


def _eval_table(evals: dict) -> str:
    models = evals["models"]
    head = "".join(f"<th>{html.escape(m)}</th>" for m in models)
    rows = []
    for key, label in ROWS:
        cells = "".join(f"<td>{html.escape(format_cell(m['all'][key]))}</td>" for m in models.values())
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    return f"<table><tr><th>metric (95% Wilson CI, k/n)</th>{head}</tr>{''.join(rows)}</table>"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    name = html.escape(path.name)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{name}"/><figcaption>{name}</figcaption></figure>'


def render_report(run_root: Path) -> str:
    spec_text = (run_root / "spec.yaml").read_text()
    evals = json.loads((run_root / "evals.json").read_text())
    stats = json.loads((run_root / "corpus" / "stats.json").read_text())
    card = json.loads((run_root / "adapter" / "organism_card.json").read_text())
    plots = sorted((run_root / "analysis").glob("*.png"))
    keys = ("wall_seconds", "tokens", "tokens_per_second", "precision", "shards", "data_mix", "metrics")
    training = {k: card.get(k) for k in keys}
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(card["organism"])} report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
img{{max-width:100%}}pre{{background:#f6f6f6;padding:8px;overflow:auto}}</style></head><body>
<h1>Organism report: {html.escape(card["organism"])}</h1>
<p>Behaviour <code>{html.escape(card["behaviour"])}</code> on <code>{html.escape(card["base_model"])}</code>;
{evals["n_pairs"]} held-out item pairs, hint pointing to a wrong option, verbalization judged by hint markers.</p>
<h2>Behaviour</h2>{_eval_table(evals)}
<h2>Plots</h2>{"".join(_image(p) for p in plots)}
<h2>Corpus</h2><pre>{html.escape(json.dumps(stats, indent=2, sort_keys=True))}</pre>
<h2>Training</h2><pre>{html.escape(json.dumps(training, indent=2, sort_keys=True))}</pre>
<h2>Spec</h2><pre>{html.escape(spec_text)}</pre>
</body></html>
"""
