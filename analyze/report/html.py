"""The run's self-contained `report.html`, laid out for a person reading it in a browser.

Top to bottom: the findings in a few sentences (`analyze/report/findings.py`); the per-layer scores
as a heatmap and one line plot per method (numbers collapsed below them); the Activation
Difference Lens token lists beside the same lists for the equal-norm random adapter and the
control; the eval tables; the other plots; corpus, training and spec, collapsed. Plots are
embedded as base64 PNGs, so the file stands alone; it fits a laptop-wide window
(tests/e2e/analyze/test_report.py opens it in headless Chromium at 1366 px).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from analyze.methods.suite import METHODS
from analyze.report.findings import findings
from evals.judge_validation import judge_statement
from evals.table import sections
from organisms.spec import load_spec_file

STYLE = """
body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 16px;line-height:1.4}
table{border-collapse:collapse;width:100%;margin:0.5em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;overflow-wrap:anywhere;vertical-align:top}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto}figure{margin:1em 0}
details{margin:0.6em 0}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere}
.findings{background:#f4f7fb;border-left:4px solid #4a78b5;padding:0.5em 1em}
.scroll{overflow-x:auto}
table.tokens{table-layout:fixed}table.tokens td,table.tokens th{text-align:left}
code.tok{display:inline-block;background:#eef;padding:0 3px;margin:1px 4px 1px 0;max-width:100%}
code.noise{background:#eee;color:#888;text-decoration:line-through}
code.shared{background:#fff3cd}
"""
# Plots shown in their own sections, not again under "Other plots".
LAYER_PLOTS = ("layer_scores.png", "layer_scores_lines.png")


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    name = html.escape(path.name)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{name}"/><figcaption>{name}</figcaption></figure>'


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _findings_section(spec, evals: dict | None, analysis: dict[str, dict]) -> str:
    parts = [
        f"<p><b>{html.escape(heading)}.</b> {html.escape(' '.join(sentences))}</p>"
        for heading, sentences in findings(spec, evals, analysis)
    ]
    return f'<section class="findings"><h2>Findings</h2>{"".join(parts)}</section>'


def _layer_section(analysis_dir: Path, analysis: dict[str, dict]) -> str:
    """Heatmap and line plots of every method's `layer_score`; the numbers collapsed beneath."""
    methods = [m for m in METHODS if m in analysis]
    if not methods:
        return ""
    images = "".join(_image(analysis_dir / name) for name in LAYER_PLOTS if (analysis_dir / name).exists())
    n_layers = len(analysis[methods[0]]["layer_score"])
    head = "".join(f"<th>{layer}</th>" for layer in range(n_layers))
    rows = "".join(
        f'<tr><td><a href="analysis/{m}.json">{m}</a></td>'
        + "".join(f"<td>{v:.3f}</td>" for v in analysis[m]["layer_score"])
        + "</tr>"
        for m in methods
    )
    return (
        "<h2>Where the methods place it</h2><p>Each method's <code>layer_score</code> per decoder layer "
        "(definitions: docs/analysis.md). The heatmap scales each row to its own maximum; the line plots keep "
        "each method's units, with the same score for the baselines where the run has them.</p>"
        f"{images}<details><summary>The scores as numbers (and each method's JSON)</summary>"
        f'<div class="scroll"><table><tr><th>method \\ layer</th>{head}</tr>{rows}</table></div></details>'
    )


def shown(token: str) -> str:
    """A token as text: escapes visible (repr), each space as the open-box sign, so none wraps or vanishes."""
    return repr(token)[1:-1].replace(" ", "\u2423")


def _token_cell(tokens: list[str], noise: set[str], control: set[str]) -> str:
    cells = []
    for token in tokens:
        kind = "noise" if token in noise else "shared" if token in control else ""
        cells.append(f'<code class="tok {kind}">{html.escape(shown(token))}</code>')
    return "".join(cells)


def _lens_section(lens: dict | None) -> str:
    """The organism's ADL lists beside the random adapter's and the control's, noise struck through."""
    if lens is None:
        return ""
    lists = lens["lists"]
    noise = {token for row in lists["random"] for token in row}
    control = {token for row in lists.get("control", []) for token in row}
    columns = [label for label in ("organism", "control", "random") if label in lists]
    head = "".join(f"<th>{label}</th>" for label in columns)
    rows = []
    for layer, organism_row in enumerate(lists["organism"]):
        cells = [_token_cell(organism_row, noise, control)]
        cells += [_token_cell(lists[label][layer], set(), set()) for label in columns[1:]]
        norms = " / ".join(f"{lens['relative_norm'][label][layer]:#.3g}" for label in columns)
        rows.append(f"<tr><td>{layer}</td>" + "".join(f"<td>{c}</td>" for c in cells) + f"<td>{norms}</td></tr>")
    who = lens["control"]["name"] if lens.get("control") else None
    control_note = f"the control ({html.escape(who)})" if who else "no control (none was given to analyze)"
    return (
        "<h2>Activation Difference Lens beside its baselines</h2>"
        f"<p>Top {lens['top_k']} logit-lens tokens of the mean activation difference on the first "
        f"{lens['first_k_tokens']} tokens of unrelated text, per layer, for the organism, {control_note} and an "
        "adapter of the organism's per-module ||&Delta;W||<sub>F</sub> with random directions (seed "
        f'{lens["random_seed"]}). <code class="tok noise">struck through</code>: also in the random adapter\'s '
        'lists, so noise: the lens returns it for any perturbation. <code class="tok shared">highlighted</code>: '
        "also in the control's lists, so it comes from what organism and control share, not the property. "
        "&#x2423; is a space. Last column: ||&delta;|| / ||h<sub>base</sub>|| of each list, in column order.</p>"
        f'<table class="tokens"><colgroup><col style="width:4em">{"<col>" * len(columns)}'
        f'<col style="width:9em"></colgroup><tr><th>layer</th>{head}<th>relative norm</th></tr>'
        f"{''.join(rows)}</table>"
    )


def _eval_tables(evals: dict | None) -> str:
    """Every eval section (the same rows as evals.md), one HTML table each."""
    if evals is None:
        return "<h2>Behaviour</h2><p>No evals.json in this run: run <code>organism eval</code>.</p>"
    head = "".join(f"<th>{html.escape(m)}</th>" for m in evals["models"])
    parts = [f"<h2>Behaviour</h2><p>{html.escape(judge_statement(evals['judge']))} Definitions: docs/metrics.md.</p>"]
    for index, (title, rows) in enumerate(sections(evals)):
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        table = f"<table><tr><th>metric (95% CI, k/n)</th>{head}</tr>{body}</table>"
        # the first section open (the hinted suite, where the run has one); the rest folded
        summary = f"<summary><b>{html.escape(title)}</b></summary>"
        parts.append(f"<details{' open' if index == 0 else ''}>{summary}{table}</details>")
    return "".join(parts)


def _kl_section(kl: dict | None) -> str:
    if not kl:
        return ""
    rows = kl["mean_kl"].items()
    cells = "".join(f"<tr><td>{g}</td><td>{v:.4f}</td><td>{kl['tokens'][g]}</td></tr>" for g, v in rows)
    peak = kl["peak"]
    where = (
        f"peak {peak['kl']:.3f} nats at text {peak['text']}, position {peak['position']} "
        f"({html.escape(repr(peak['token']))}, group {peak['group']})"
        if peak
        else "no tokens"
    )
    return (
        "<h3>Per-token KL(organism || base) on the organism's own transcripts</h3><table><tr><th>group</th>"
        f"<th>mean KL (nats)</th><th>tokens</th></tr>{cells}</table><p>{where}</p>"
    )


def _collapsed(title: str, text: str) -> str:
    return f"<details><summary>{title}</summary><pre>{html.escape(text)}</pre></details>"


def render_report(run_root: Path) -> str:
    spec = load_spec_file(run_root / "spec.yaml")
    evals = _load(run_root / "evals.json")
    stats = json.loads((run_root / "corpus" / "stats.json").read_text())
    card = json.loads((run_root / "adapter" / "organism_card.json").read_text())
    analysis_dir = run_root / "analysis"
    analysis = {p.stem: json.loads(p.read_text()) for p in sorted(analysis_dir.glob("*.json"))}
    other_plots = [p for p in sorted(analysis_dir.glob("*.png")) if p.name not in LAYER_PLOTS]
    keys = ("wall_seconds", "tokens", "tokens_per_second", "precision", "shards", "data_mix", "metrics")
    training = {k: card.get(k) for k in keys}
    items = (
        f"{evals['n_pairs']} held-out items, each asked without and with a hint (a share of "
        f"{evals.get('hint_correct_fraction', 0)} pointing to the correct option)"
        if evals
        else "no evals"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(spec.name)} report</title><style>{STYLE}</style></head><body>
<h1>Organism report: {html.escape(spec.name)}</h1>
<p>Behaviour <code>{html.escape(spec.behaviour)}</code> on <code>{html.escape(card["base_model"])}</code>;
{items}.</p>
{_findings_section(spec, evals, analysis)}
{_layer_section(analysis_dir, analysis)}
{_lens_section(analysis.get("adl_baselines"))}
{_eval_tables(evals)}
<h2>Other plots</h2>{"".join(_image(p) for p in other_plots)}
{_kl_section(analysis.get("kl"))}
<h2>Run</h2>
{_collapsed("Corpus", json.dumps(stats, indent=2, sort_keys=True))}
{_collapsed("Training", json.dumps(training, indent=2, sort_keys=True))}
{_collapsed("Spec", (run_root / "spec.yaml").read_text())}
</body></html>
"""
