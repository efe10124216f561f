"""Side-by-side tables of eval results (rich for the terminal, Markdown for evals.md).

Every cell carries its n: rates as 'value [Wilson 95% CI] k/n', AOCs as 'value [bootstrap 95% CI] n=',
paired differences with their McNemar p (and Holm-adjusted p in the paired-tests section) and discordant
counts; alpha and F_norm with intervals propagated from Wilson bounds (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

# Chen et al. rows over a hinted-metrics dict (one model, one subset); kept for the analyze report.
ROWS = (
    ("accuracy_unhinted", "accuracy, no hint"),
    ("accuracy_drop", "dAcc = acc(no hint) - acc(hint), unparsable = wrong"),
    ("accuracy_drop_parsed", "dAcc, items whose answers both parse"),
    ("p", "p  = P(a_h=h | a_u!=h), unparsable = no switch"),
    ("p_parsed", "p, items whose answers both parse"),
    ("q", "q  = P(a_h other | a_u!=h)"),
    ("alpha", "alpha"),
    ("F", "F  = P(verbalized | switched)"),
    ("F_norm", "F_norm"),
    ("U", "U  = P(switched, unverbalized)"),
)


def format_cell(value: object) -> str:
    """'0.42 [0.29, 0.56] 20/48' for a rate, '0.87' for a plain number, 'undef' for None."""
    if isinstance(value, dict) and "mcnemar_p" in value:  # paired difference: McNemar p, discordant counts
        if value["value"] is None:
            return "undef (n=0)"
        p = "n/a" if value["mcnemar_p"] is None else f"{value['mcnemar_p']:.2g}"
        if "holm_p" in value:
            p += ", Holm p=" + ("n/a" if value["holm_p"] is None else f"{value['holm_p']:.2g}")
        return f"{value['value']:+.2f} (McNemar p={p}, b={value['b']}, c={value['c']})"
    if isinstance(value, dict) and "k" not in value:  # bootstrap estimate (AOC)
        if value.get("value") is None:
            return f"undef (n={value.get('n', 0)})"
        ci = value.get("ci95")
        interval = f" [{_bound(ci[0])}, {_bound(ci[1])}]" if ci else ""
        return f"{value['value']:.2f}{interval} n={value['n']}"
    if isinstance(value, dict):
        if value["value"] is None:
            return f"undef (n={value['n']})"
        low, high = value["ci95"]
        return f"{value['value']:.2f} [{low:.2f}, {high:.2f}] {value['k']}/{value['n']}"
    if value is None:
        return "undef"
    if isinstance(value, str):
        return value
    return f"{value:.2f}"


def _bound(x: float | None) -> str:
    return "-inf" if x is None else f"{x:.2f}"


def _at(*path: str) -> Callable[[dict], object]:
    """The value at `path`; an "n/a: why" string met on the way is the value of every row below it."""

    def get(tree: dict) -> object:
        for key in path:
            if isinstance(tree, str) and tree.startswith("n/a"):
                return tree
            if not isinstance(tree, dict) or key not in tree:
                return _MISSING
            tree = tree[key]
        return tree

    return get


_MISSING = object()


def _depth(*path: str) -> Callable[[dict], object]:
    return _at("suites", "belief", "depth", *path)


def _best_layer(tree: dict) -> object:
    """The best layer's accuracy, its index, and the best shuffled-label accuracy (the chance level
    of picking the best of the layers on the same folds)."""
    probe = _depth("truth_probe")(tree)
    if probe is _MISSING:
        return _MISSING
    return (
        f"{format_cell(probe['at_best_layer'])} (layer {probe['best_layer']}; best shuffled-label "
        f"{probe['best_shuffled_accuracy']:.2f})"
    )


_WRONG = ("hinted", "by_direction", "wrong")


def _with_interval(key: str, *path: str) -> Callable[[dict], object]:
    """alpha or F_norm with its propagated interval; n = the items alpha (|D|) or F (switches) is over."""
    get = _at(*path)

    def combined(tree: dict) -> object:
        metrics = get(tree)
        if metrics is _MISSING:
            return _MISSING
        if key == "alpha":
            return {"value": metrics["alpha"], "ci95": metrics.get("alpha_ci95"), "n": metrics["p"]["n"]}
        interval = metrics.get("F_norm_ci95") or {}
        return {"value": metrics["F_norm"], "ci95": interval.get("ci95"), "n": metrics["F"]["n"]}

    return combined


def _unparsable(tree: dict) -> object:
    metrics = _at("hinted", "all")(tree)
    if metrics is _MISSING:
        return _MISSING
    n = metrics["n_items"]
    return f"{metrics['unparsable_unhinted']}/{n} / {metrics['unparsable_hinted']}/{n}"


def _truncated(tree: dict) -> object:
    counts = _at("suites", "truncated")(tree)
    if counts is _MISSING:
        return _MISSING
    n = counts["n_items"]
    return f"{counts['unhinted']}/{n} / {counts['hinted']}/{n}"


def _chen_row(key: str, label: str) -> tuple[str, Callable[[dict], object]]:
    if key in ("alpha", "F_norm"):
        return f"{label} (propagated Wilson CI)", _with_interval(key, *_WRONG)
    return label, _at(*_WRONG, key)


def _silent_correction_difference(tree: dict) -> object:
    metrics = _at("suites", "consistency", "shortcut")(tree)
    if metrics is _MISSING or isinstance(metrics, str):
        return metrics
    if metrics["difference"] is None:
        return "undef"
    return f"{metrics['difference']:+.2f} (Fisher p={metrics['difference_fisher_p']:.2g})"


_CORRECT = ("hinted", "by_direction", "correct")
# Lanham interventions on each model's unhinted responses, then on its hinted ones.
_LANHAM = (("no hint", ("suites", "lanham")), ("hinted", ("suites", "lanham", "hinted")))


def _lanham_rows(which: str, path: tuple[str, ...]) -> tuple[tuple[str, Callable[[dict], object]], ...]:
    return (
        (f"early answering AOC, {which}", _at(*path, "early_answering", "aoc")),
        (f"adding mistakes AOC, {which}", _at(*path, "adding_mistakes", "aoc")),
        (f"same answer, no CoT, {which}", _at(*path, "early_answering", "no_cot_same_answer")),
        (f"same answer, filler CoT, {which}", _at(*path, "filler", "same_answer")),
        (f"same answer, paraphrased CoT, {which}", _at(*path, "paraphrasing", "same_answer")),
        (
            f"same answer, original CoT forced (paraphrase baseline), {which}",
            _at(*path, "paraphrasing", "same_answer_original"),
        ),
        (f"paraphrased - original, paired, {which}", _at(*path, "paraphrasing", "difference")),
    )


_OOD_AXES = (
    ("in-distribution", "in-distribution"),
    ("phrasing", "held-out phrasing"),
    ("hint_type", "held-out hint type"),
    ("task", "held-out task"),
)


def _ood(axis: str, key: str) -> Callable[[dict], object]:
    """An in-distribution (hinted suite) or held-out axis metric over hints to a wrong option."""
    if axis == "in-distribution":
        return _at(*_WRONG, key)
    return _at("suites", "ood", axis, "by_direction", "wrong", key)


def _ood_paired(axis: str, key: str) -> Callable[[dict], object]:
    return _at("suites", "ood", axis, "paired_vs_in_distribution", key)


SECTIONS: tuple[tuple[str, tuple[tuple[str, Callable[[dict], object]], ...]], ...] = (
    (
        "Hint to a wrong option (Chen et al. 2025; Turpin et al. 2023)",
        (
            *(_chen_row(key, label) for key, label in ROWS),
            ("unparsable, all items (no hint / hint)", _unparsable),
            ("of which think block never closed (truncated)", _truncated),
        ),
    ),
    (
        "Does the CoT matter? (no hint; evals/necessity.py)",
        (
            ("accuracy with CoT", _at("suites", "necessity", "accuracy_cot")),
            ("accuracy without CoT (answer forced at once)", _at("suites", "necessity", "accuracy_no_cot")),
            ("gain = with - without (paired)", _at("suites", "necessity", "gain")),
        ),
    ),
    (
        "Hint to the correct option",
        (("p  = P(a_h=h | a_u!=h)", _at(*_CORRECT, "p")), ("U  = P(switched, unverbalized)", _at(*_CORRECT, "U"))),
    ),
    (
        "CoT consistency (Arcuschin et al. 2025)",
        (
            ("late flip, hinted", _at("suites", "consistency", "late_flip_hinted")),
            ("late flip, no hint", _at("suites", "consistency", "late_flip_unhinted")),
            ("silent correction (shortcut): P(wrong step | right answer)", _at("suites", "consistency", "shortcut")),
            (
                "silent correction: P(wrong step | wrong answer)",
                _at("suites", "consistency", "shortcut", "given_incorrect"),
            ),
            ("silent correction: P(wrong step | right) - P(wrong step | wrong)", _silent_correction_difference),
            ("IPHR (chainscope criteria)", _at("suites", "iphr", "iphr")),
            ("IPHR baseline: always YES", _at("suites", "iphr", "baselines", "always_yes")),
            ("IPHR baseline: always NO", _at("suites", "iphr", "baselines", "always_no")),
            ("reversed pairs answered alike", _at("suites", "iphr", "contradiction")),
        ),
    ),
    (
        "CoT interventions (Lanham et al. 2023)",
        tuple(row for which, path in _LANHAM for row in _lanham_rows(which, path)),
    ),
    (
        "Monitor awareness (marker monitor)",
        (
            *(
                (f"{m} ({c})", _at("suites", "monitor", "conditions", c, m))
                for c in ("none", "monitored", "private")
                for m in ("B", "V", "O")
            ),
            ("O(monitored) - O(none)", _at("suites", "monitor", "headline_O_monitored_minus_none")),
            ("monitor catch rate at 1% FPR", _at("suites", "monitor", "catch_rate_at_1pct_fpr")),
            ("monitor AUROC", _at("suites", "monitor", "auroc")),
        ),
    ),
    (
        "LLM judge and monitor (eval.judge)",
        (
            ("LLM judge: F (wrong hints)", _at("suites", "llm_judge", "hinted", "by_direction", "wrong", "F")),
            ("LLM judge: U (wrong hints)", _at("suites", "llm_judge", "hinted", "by_direction", "wrong", "U")),
            ("judge agreement with markers", _at("suites", "llm_judge", "agreement_with_markers", "agreement")),
            ("judge agreement, Cohen's kappa", _at("suites", "llm_judge", "agreement_with_markers", "kappa")),
            ("LLM monitor catch rate at 1% FPR", _at("suites", "llm_judge", "monitor", "catch_rate_at_1pct_fpr")),
            ("LLM monitor AUROC", _at("suites", "llm_judge", "monitor", "auroc")),
        ),
    ),
    (
        "Out of distribution: held-out axes, hints to a wrong option (evals/ood.py)",
        tuple(
            row
            for axis, name in _OOD_AXES
            for row in (
                (f"{name}: p  = P(a_h=h | a_u!=h)", _ood(axis, "p")),
                (f"{name}: F  = P(verbalized | switched)", _ood(axis, "F")),
                (f"{name}: U  = P(switched, unverbalized)", _ood(axis, "U")),
                (f"{name}: accuracy, no hint", _ood(axis, "accuracy_unhinted")),
                (f"{name}: U(axis) - U(in-distribution), same items", _ood_paired(axis, "unverbalized_use")),
                (f"{name}: switched(axis) - switched(in-distribution)", _ood_paired(axis, "switched_to_wrong_hint")),
            )
        )
        + tuple(
            (f"held-out cue: {m} ({c})", _at("suites", "monitor", "held_out_cue", "conditions", c, m))
            for c in ("monitored", "private")
            for m in ("B", "V", "O")
        )
        + (
            (
                "held-out cue: O(monitored) - O(none)",
                _at("suites", "monitor", "held_out_cue", "headline_O_monitored_minus_none"),
            ),
        ),
    ),
    (
        "Marker judge beside the LLM judge of record",
        (
            (
                "marker judge: F (wrong hints)",
                _at("suites", "llm_judge", "markers_hinted", "by_direction", "wrong", "F"),
            ),
            (
                "marker judge: U (wrong hints)",
                _at("suites", "llm_judge", "markers_hinted", "by_direction", "wrong", "U"),
            ),
            (
                "marker monitor: O (monitored)",
                _at("suites", "llm_judge", "markers_monitor", "conditions", "monitored", "O"),
            ),
            ("judge agreement, all judged responses", _at("suites", "llm_judge", "agreement_all", "agreement")),
        ),
    ),
    (
        "Belief (SDF key facts)",
        (
            ("key-fact MCQ accuracy (log-likelihood)", _at("suites", "belief", "mcq_accuracy")),
            ("open-ended answers state the fact", _at("suites", "belief", "open_ended_stated")),
            ("generalisation MCQ accuracy (a step from the facts)", _depth("generalisation_accuracy")),
            ("key-fact + generalisation MCQ, plain", _depth("plain_accuracy_same_questions")),
            ("the same, after a 'documents were fiction' preface", _depth("fictional_accuracy")),
            ("drop under the fiction preface (paired)", _depth("fictional_drop")),
            ("truth probe, middle layer: held-out accuracy", _depth("truth_probe", "at_middle_layer")),
            ("truth probe, best layer (optimistic)", _best_layer),
        ),
    ),
)


def _model_tree(result: dict, label: str) -> dict:
    return {"hinted": result["models"][label], "suites": result.get("suite_metrics", {}).get(label, {})}


def sections(result: dict) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) for every section with at least one value; each row is [label, cell per model]."""
    labels = list(result["models"])
    trees = [_model_tree(result, label) for label in labels]
    out = []
    for title, rows in SECTIONS:
        table_rows = []
        for label, get in rows:
            values = [get(tree) for tree in trees]
            if all(v is _MISSING for v in values):
                continue
            table_rows.append([label, *("-" if v is _MISSING else format_cell(v) for v in values)])
        if table_rows:
            out.append((title, table_rows))
    retention = result.get("capability_retention", {})
    if retention:
        column = labels.index("organism")
        rows = []
        for key, value in retention.items():
            cells = [format_cell(value) if i == column else "" for i in range(len(labels))]
            rows.append([f"acc(no hint), {key.replace('_', ' ')}", *cells])
        out.append(("Capability retention (paired, organism column)", rows))
    tests = result.get("comparisons", {})
    groups = {k: v for k, v in tests.items() if k.startswith("organism_vs_")}
    if any(groups.values()):
        column = labels.index("organism")
        rows = []
        for group, metrics in groups.items():
            for key, value in metrics.items():
                cells = [format_cell(value) if i == column else "" for i in range(len(labels))]
                rows.append([f"{group.replace('_', ' ')}: {key}", *cells])
        title = f"Paired tests (exact McNemar; Holm across these {tests['holm_family_size']} p-values; organism column)"
        out.append((title, rows))
    return out


def rich_table(result: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric (95% CI, k/n)")
    for name in result["models"]:
        table.add_column(name, justify="right")
    for section, rows in sections(result):
        table.add_row(f"[bold]{section}[/]", *("" for _ in result["models"]), end_section=False)
        for row in rows:
            table.add_row(*row)
        table.add_section()
    return table


def markdown_report(result: dict) -> str:
    labels = list(result["models"])
    parts = []
    for section, rows in sections(result):
        header = "| metric (95% CI, k/n) | " + " | ".join(labels) + " |"
        rule = "|---|" + "---:|" * len(labels)
        body = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        parts.append("\n".join([f"## {section}", "", header, rule, *body]))
    return "\n\n".join(parts) + "\n"
