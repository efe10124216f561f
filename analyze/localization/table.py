"""`localization.md`: one table per score, the null baselines in the same table as the methods, then
one row per trained organism (did it learn the behaviour?)."""

from __future__ import annotations

from analyze.localization.null import NULLS
from analyze.localization.summary import MEAN, band_name
from evals.render import markdown_table

TITLES = {
    "auroc": "AUROC (band layers vs the rest; ties 1/2)",
    "spearman": "Spearman rho (score vs band mask)",
    "peak_hit": "Peak hit (share of the layers tied at the maximum that lie in the band)",
    "onset_hit": "Onset hit (first layer above 10% of the score's range = the band's first layer)",
    "auroc_downstream": "AUROC, band vs downstream (layers from the band's first on only: no credit for the 0s before)",
    "spearman_downstream": "Spearman rho, band vs downstream (layers from the band's first on only)",
}
PAIRED = ("auroc", "auroc_downstream")  # scores shown over the random-LoRA null, paired by seed


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _cell(cell: dict, signed: bool) -> str:
    """'seed mean [t-interval]; margin over the random null mean, share of its draws beaten'."""
    text = _num(cell["mean"], signed)
    if cell["low"] is not None:
        text += f" [{_num(cell['low'], signed)}, {_num(cell['high'], signed)}]"
    vs = cell["vs"]["random_after_onset"]
    if vs is not None:
        text += f"; {vs['margin']:+.2f}, {vs['beats']:.0%}"
    return text


def _null_cell(null: dict, signed: bool) -> str:
    if null["draws"] is None:
        return _num(null["mean"], signed)
    return f"{_num(null['mean'], signed)} [{_num(null['low'], signed)}, {_num(null['high'], signed)}]"


def score_table(result: dict, score: str) -> list[str]:
    summary = result["summary"]
    names = [band_name(b) for b in result["bands"]] + [MEAN]
    signed = score.startswith("spearman")
    n_seeds = len(result["options"]["training_seeds"])
    draws = summary["nulls"][names[0]]["random_after_onset"][score]["draws"]
    lines = [
        f"### {TITLES[score]}",
        "",
        f"Rows: mean over {n_seeds} training seed(s) [95% t-interval]; after ';', the margin over the random "
        "null's mean and the share of its draws the mean beats. Null rows: the random null's mean "
        f"[central 95% of {draws} draws of a {n_seeds}-seed mean]; the step null's exact value.",
        "",
    ]
    rows = [
        ["null: " + null.replace("_", " "), *(_null_cell(summary["nulls"][n][null][score], signed) for n in names)]
        for null in NULLS
    ]
    for row, by_band in summary["rows"].items():
        label = f"{row} (white-box)" if row == "weight_deltas" else row
        rows.append([label, *(_cell(by_band[n][score], signed) for n in names)])
    columns = ["row", *(f"layers {n}" if n != MEAN else "mean over bands" for n in names)]
    lines += markdown_table(columns, rows)
    return lines


def random_lora_table(result: dict) -> list[str]:
    """Each row with a random-LoRA counterpart minus that counterpart, paired by training seed."""
    summary = result["summary"]
    names = [band_name(b) for b in result["bands"]] + [MEAN]
    items = summary["rows"].items()
    paired = [(row, by_band) for row, by_band in items if "random_lora" in by_band[MEAN]["auroc"]["vs"]]
    if not paired:
        return []
    lines = [
        "### Over the random-LoRA null (row minus its random-LoRA row, paired by training seed)",
        "",
        "`<method>` minus `<method> [random LoRA]`, and `<method> - control` minus `<method> - control [random "
        "LoRAs]`: mean over seeds [95% t-interval]. Above 0: the trained adapter's row beats an adapter of "
        "its size in its band that learned nothing.",
        "",
    ]
    rows = []
    for row, by_band in paired:
        for score in PAIRED:
            label = f"{row}: {'AUROC' if score == 'auroc' else 'AUROC downstream'}"
            rows.append([label, *(_paired_cell(by_band[n][score]["vs"]["random_lora"]) for n in names)])
    columns = ["row", *(f"layers {n}" if n != MEAN else "mean over bands" for n in names)]
    return lines + markdown_table(columns, rows)


def _paired_cell(vs: dict) -> str:
    text = _num(vs["margin"], signed=True)
    if vs["low"] is not None:
        text += f" [{_num(vs['low'], signed=True)}, {_num(vs['high'], signed=True)}]"
    return text


def runs_table(result: dict) -> list[str]:
    """Per band, seed and role: train loss (none for a random LoRA), the behaviour metric base vs model,
    and how well attribution patching agrees with exact patching."""
    columns = (
        "band",
        "seed",
        "model",
        "train loss",
        "metric base",
        "metric model",
        "patching vs attribution: rho, top-5 overlap",
    )
    rows = []
    for r in result["runs"]:
        for role, rec in r["runs"].items():
            agree = rec["patching_vs_attribution"]
            rows.append(
                [
                    band_name(r["band"]),
                    str(r["training_seed"]),
                    role,
                    f"{rec['train_loss']:.3f}" if "train_loss" in rec else "-",
                    f"{rec['behaviour']['base']:+.2f}",
                    f"{rec['behaviour']['organism']:+.2f}",
                    f"{_num(agree['spearman'], signed=True)}, {agree['top_k_overlap']:.2f}",
                ]
            )
    return markdown_table(columns, rows, "lrlrrrl")


def markdown_localization(result: dict) -> str:
    """Every score's table (AUROC, Spearman, peak hit, onset hit, AUROC and Spearman band vs downstream),
    the rows over their random-LoRA null, then the runs table."""
    lines = []
    for score in TITLES:
        lines += [*score_table(result, score), ""]
    if paired := random_lora_table(result):
        lines += [*paired, ""]
    return "\n".join(lines + runs_table(result))
