"""The run's self-contained `report.html`: evals, corpus, card and plots (embedded as base64)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from evals.table import sections


def _eval_table(evals: dict) -> str:
    """Every eval section (the same rows as evals.md), one HTML table each."""
    head = "".join(f"<th>{html.escape(m)}</th>" for m in evals["models"])
    parts = []
    for title, rows in sections(evals):
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        parts.append(f"<h3>{html.escape(title)}</h3><table><tr><th>metric (95% CI, k/n)</th>{head}</tr>{body}</table>")
    return "".join(parts)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    name = html.escape(path.name)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{name}"/><figcaption>{name}</figcaption></figure>'


def _load(analysis: Path, name: str) -> dict | None:
    path = analysis / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _localization_section(analysis: Path) -> str:
    """Behaviour metric, every method's per-layer score, patching/attribution agreement, ADL lens, KL, probes."""
    behaviour = _load(analysis, "behaviour")
    if behaviour is None:
        return ""
    methods = [m for m in ("patching", "attribution", "steering", "adl", "lens_kl", "probes") if _load(analysis, m)]
    results = {m: _load(analysis, m) for m in methods}
    n_layers = len(results[methods[0]]["layer_score"])
    head = "".join(f"<th>{layer}</th>" for layer in range(n_layers))
    rows = "".join(
        f"<tr><td>{m}</td>" + "".join(f"<td>{v:.3f}</td>" for v in results[m]["layer_score"]) + "</tr>" for m in methods
    )
    parts = [
        "<h2>Localization</h2>",
        f"<p>Behaviour metric ({html.escape(behaviour['metric'])}): base {_num(behaviour['base'])}, "
        f"organism {_num(behaviour['organism'])}. Definitions of every score: docs/analysis.md.</p>",
        f"<h3>Per-layer scores</h3><table><tr><th>method \\ layer</th>{head}</tr>{rows}</table>",
    ]
    if "attribution" in results:
        agree = results["attribution"]["agreement_with_patching"]
        parts.append(
            f"<p>Attribution vs exact patching over {agree['n_sites']} (direction, site) pairs: "
            f"Spearman {_num(agree['spearman'])}, top-{agree['top_k']} overlap {agree['top_k_overlap']}.</p>"
        )
    if "adl" in results:
        lens_rows = "".join(
            f"<tr><td>{layer}</td><td>{results['adl']['relative_norm'][layer]:.3f}</td>"
            f"<td>{results['adl']['cosine_with_task_diff'][layer]:+.2f}</td><td>"
            + html.escape(" | ".join(repr(tok) for tok, _ in tokens))
            + "</td></tr>"
            for layer, tokens in enumerate(results["adl"]["top_tokens"])
        )
        parts.append(
            "<h3>Activation Difference Lens (first tokens of neutral text)</h3><table><tr><th>layer</th>"
            "<th>||delta|| / ||h_base||</th><th>cos(task diff)</th><th>logit lens top tokens</th></tr>"
            f"{lens_rows}</table>"
        )
    kl = _load(analysis, "kl")
    if kl:
        cells = "".join(
            f"<tr><td>{g}</td><td>{v:.4f}</td><td>{kl['tokens'][g]}</td></tr>" for g, v in kl["mean_kl"].items()
        )
        peak = kl["peak"]
        where = (
            f"peak {peak['kl']:.3f} nats at text {peak['text']}, position {peak['position']} "
            f"({html.escape(repr(peak['token']))}, group {peak['group']})"
            if peak
            else "no tokens"
        )
        parts.append(
            "<h3>Per-token KL(organism || base)</h3><table><tr><th>group</th><th>mean KL (nats)</th>"
            f"<th>tokens</th></tr>{cells}</table><p>{where}</p>"
        )
    return "".join(parts)


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
{evals["n_pairs"]} held-out items, each asked without and with a hint (a share of
{evals.get("hint_correct_fraction", 0)} pointing to the correct option); verbalization judged by hint
markers; definitions in docs/metrics.md.</p>
<h2>Behaviour</h2>{_eval_table(evals)}
{_localization_section(run_root / "analysis")}
<h2>Plots</h2>{"".join(_image(p) for p in plots)}
<h2>Corpus</h2><pre>{html.escape(json.dumps(stats, indent=2, sort_keys=True))}</pre>
<h2>Training</h2><pre>{html.escape(json.dumps(training, indent=2, sort_keys=True))}</pre>
<h2>Spec</h2><pre>{html.escape(spec_text)}</pre>
</body></html>
"""
