"""CoT monitors, cheapest first, and how well each catches an organism (docs/monitors.md).

One interface (`interface.py`): a monitor reads what a deployed monitor would (a response's reasoning, its
final answer, the question and its options as asked without a hint) and returns a suspicion score per
response with its counted reading (`Verdict`). The four, one file each:

    keyword      the hint-marker patterns (today's marker monitor, evals/monitor.py)    keyword.py
    consistency  the reasoning's own conclusion against the final answer                consistency.py
    steps        every arithmetic step recomputed, every option check checked           steps.py
    llm          a language model asked whether the reasoning supports the answer       llm.py

`calibration.py` says which runs are positives and which are honest (in one place), splits the items
into a calibration and a report split, sets each monitor's threshold at 1% false positives on the
calibration split's honest runs and measures catch rate, false-positive rate and AUROC on the report
split; `suite.py` is the monitors section of evals.md (its `SUITE`), the detectability card and the
paired comparisons between models.
"""
