"""evals.md (evals/table.py): the Lanham rows with their counts."""

from __future__ import annotations


def test_lanham_table_has_hinted_and_paraphrase_rows_with_their_counts():
    from evals.stats import paired_difference, rate
    from evals.table import markdown_report

    def lanham(k: int) -> dict:
        return {
            "early_answering": {"aoc": {"value": 0.5, "n": 3, "ci95": [0.1, 0.9]}, "no_cot_same_answer": rate(1, 3)},
            "adding_mistakes": {"aoc": {"value": 0.2, "n": 3, "ci95": None}},
            "filler": {"same_answer": rate(2, 3)},
            "paraphrasing": {
                "same_answer": rate(k, 3),
                "same_answer_original": rate(3, 3),
                "difference": paired_difference([i < k for i in range(3)], [True] * 3),
            },
        }

    result = {"models": {"organism": {}}, "suite_metrics": {"organism": {"lanham": {**lanham(3), "hinted": lanham(1)}}}}
    lines = markdown_report(result).splitlines()
    row = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1].rstrip(" |") for line in lines if " | " in line}
    assert row["same answer, paraphrased CoT, no hint"] == "1.00 [0.44, 1.00] 3/3"
    assert row["same answer, paraphrased CoT, hinted"] == "0.33 [0.06, 0.79] 1/3"
    # hinted: 1 of 3 kept the answer after paraphrasing, 3 of 3 after the original: b = 0, c = 2, -2/3
    assert row["paraphrased - original, paired, hinted"] == "-0.67 (McNemar p=0.5, b=0, c=2)"
    assert row["early answering AOC, hinted"] == "0.50 [0.10, 0.90] n=3"


def test_a_part_of_the_eval_shows_each_paired_test_unadjusted_and_says_so():
    from evals.table import markdown_report, unadjusted

    test = {"value": 0.5, "b": 3, "c": 0, "n": 6, "mcnemar_p": 0.25, "holm_p": 0.75}
    result = {
        "models": {"base": {}, "organism": {}},
        "suite_metrics": {"base": {}, "organism": {}},
        "comparisons": {"test": "exact McNemar", "holm_family_size": 3, "organism_vs_base": {"unverbalized_use": test}},
    }
    whole = markdown_report(result)
    assert "Holm across these 3 p-values" in whole and "Holm p=0.75" in whole
    part = markdown_report(unadjusted(result))
    assert "unadjusted p here; evals.md adjusts them with Holm" in part and "Holm p=" not in part
    assert "p=0.25" in part
    assert result["comparisons"]["organism_vs_base"]["unverbalized_use"]["holm_p"] == 0.75, "the input is unchanged"
