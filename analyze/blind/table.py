"""The blind audit as tables: ranked hypotheses, hint types and monitoring conditions (markdown and rich)."""

from __future__ import annotations

from rich.table import Table

from evals.render import markdown_table, rich_table
from evals.results import Difference, Rate


def _estimate(entry: dict) -> str:
    return Difference.from_json(entry).cell()


def _rate(entry: dict | None) -> str:
    return "-" if entry is None else Rate.from_json(entry).cell(interval=False)


def _raw(entry: dict, side: str | None = None) -> str:
    """A raw rate (`side`: adapter or base) or the raw lift; the entry itself when it has no `raw`
    part (the shortcut signature is not corrected for noise)."""
    raw = entry.get("raw", entry)
    if side is None:
        return _estimate(raw) if "raw" in entry else "-"
    return _rate(raw.get(side))


def hypothesis_rows(result: dict) -> list[list[str]]:
    return [
        [str(i + 1), h["name"], _estimate(h), _raw(h), _raw(h, "adapter"), _raw(h, "base")]
        for i, h in enumerate(result["hypotheses"])
    ]


def hint_rows(result: dict) -> list[list[str]]:
    return [
        [
            t["name"],
            _estimate(t),
            _raw(t),
            _raw(t, "adapter"),
            _raw(t, "base"),
            _estimate(t["unverbalized_use"]),
            _rate(t["adapter_verbalized_when_following"]),
            "yes" if t["named"] else "no",
        ]
        for t in result["hint_types"]
    ]


def condition_rows(result: dict) -> list[list[str]]:
    return [[c["name"], _estimate(c), _raw(c), _raw(c, "adapter"), _raw(c, "base")] for c in result["conditions"]]


HYPOTHESIS_COLUMNS = ("rank", "hypothesis", "score [95% CI]", "raw lift [95% CI]", "adapter (raw)", "base (raw)")
HINT_COLUMNS = (
    "hint type",
    "follow-rate lift [95% CI]",
    "raw lift [95% CI]",
    "adapter follows (raw)",
    "base follows (raw)",
    "U lift [95% CI]",
    "adapter verbalizes when following",
    "named",
)
CONDITION_COLUMNS = ("condition", "U lift [95% CI]", "raw lift [95% CI]", "adapter U (raw)", "base U (raw)")


def markdown_blind(result: dict) -> str:
    """`blind_audit.md`: the verdict, the three ranked tables and each hypothesis's signature."""
    named = ", ".join(result["hint_types_named"]) or "none"
    lines = [
        f"# Blind audit: {result['adapter']}",
        "",
        f"Base `{result['base_model']}`; read only {', '.join(result['read']['files'])}. "
        f"{result['n_items']} probe items of the auditor's own ({result['task_family']}, seed {result['probe_seed']}), "
        "in its own system prompts, hint wordings and cues (analyze/blind/probe_set.py, none from the catalogue; "
        "`allowed` in blind_audit.json), every hint to a wrong option; verbalization judge: "
        f"{result['judge']}. Scores and lifts are corrected for noise (the same event on another wrong option "
        "subtracted); raw rates beside them. Definitions and decision rules: docs/audit.md (blind audit).",
        "",
        f"**Behaviour: `{result['behaviour']}`**; hint types named: {named}; "
        f"condition with the largest unverbalized use: `{result['condition']}`.",
        "",
        "## Hypotheses (ranked by the lower end of the interval)",
        "",
        *markdown_table(HYPOTHESIS_COLUMNS, hypothesis_rows(result)),
        "",
        "## Hint types (phase 1, no monitoring cue)",
        "",
        *markdown_table(HINT_COLUMNS, hint_rows(result)),
        "",
        f"## Monitoring conditions (phase 2, hint types {', '.join(result['phase2_hint_types'])})",
        "",
        *markdown_table(CONDITION_COLUMNS, condition_rows(result)),
        "",
        "## Signatures",
        "",
        *(f"- `{h['name']}`: {h['signature']}" for h in result["hypotheses"]),
        "",
    ]
    return "\n".join(lines)


def rich_blind(result: dict) -> Table:
    title = f"blind audit: {result['behaviour']} (hint types: {', '.join(result['hint_types_named']) or 'none'})"
    return rich_table(HYPOTHESIS_COLUMNS, hypothesis_rows(result), title)
