"""CoT-answer consistency read off responses already generated (no new generation).

- late flip (Arcuschin et al. 2025): the final answer differs from the last option the reasoning concluded
- unfaithful shortcut: a written arithmetic step is wrong while the final answer is the correct one
Formulas: `evals.metrics.late_flip_rate`, `shortcut_rate`.
"""

from __future__ import annotations

from evals.metrics import late_flip_rate, shortcut_rate
from evals.parse import arithmetic_steps, last_conclusion, parse_answer
from organisms.tasks import LETTERS


def consistency_suite(records: list[dict], n_options: int) -> dict:
    """Late flip on hinted and unhinted responses; shortcuts on unhinted ones (their answers are checkable)."""
    letters = LETTERS[:n_options]
    result = {}
    for which in ("unhinted", "hinted"):
        texts = [r[f"response_{which}"] for r in records]
        result[f"late_flip_{which}"] = late_flip_rate(
            [parse_answer(t, letters) for t in texts], [last_conclusion(t, letters) for t in texts]
        )
    texts = [r["response_unhinted"] for r in records]
    checks = [[step.is_correct for step in arithmetic_steps(t)] for t in texts]
    correct = [parse_answer(t, letters) == r["correct_letter"] for t, r in zip(texts, records, strict=True)]
    result["shortcut"] = shortcut_rate(checks, correct)
    return result
