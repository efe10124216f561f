"""PNG plots of analysis results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_diff_norms(diff: dict, path: Path, title: str) -> Path:
    """One panel per site kind; one line per token group; x = layer."""
    groups = diff["groups"]
    kinds = sorted({kind for per_kind in groups.values() for kind in per_kind})
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.2 * len(kinds), 3.4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        for group, per_kind in groups.items():
            values = per_kind[kind]
            ax.plot(
                range(len(values)), values, marker="o", markersize=3, label=f"{group} ({diff['tokens'][group]} tok)"
            )
        ax.set_title(f"hook_{kind}")
        ax.set_xlabel("layer")
        ax.set_ylabel("||h_org - h_base|| / ||h_base||")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_weight_deltas(deltas: dict, path: Path, title: str) -> Path:
    """Heatmap of ||B A||_F, layer x module."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(deltas["modules"]), 1.5 + 0.22 * len(deltas["layers"])))
    image = ax.imshow(deltas["frobenius"], aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(deltas["modules"])), deltas["modules"], rotation=45, ha="right")
    ax.set_yticks(range(len(deltas["layers"])), deltas["layers"], fontsize=7)
    ax.set_ylabel("layer")
    fig.colorbar(image, ax=ax, label="||delta W||_F")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_patching_heatmaps(patching: dict, path: Path, title: str) -> Path:
    """Two heatmaps, layer x module: recovery (organism -> base) and disruption (base -> organism)."""
    kinds = list(patching["recovery"])
    n_layers = len(patching["recovery"][kinds[0]])
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 1.6 + 0.2 * n_layers))
    for ax, key, label in zip(
        axes, ("recovery", "disruption"), ("organism -> base: recovery", "base -> organism: disruption"), strict=True
    ):
        grid = [[patching[key][kind][layer] for kind in kinds] for layer in range(n_layers)]
        image = ax.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(kinds)), [f"hook_{k}" for k in kinds], rotation=30, ha="right")
        ax.set_yticks(range(n_layers), range(n_layers), fontsize=7)
        ax.set_ylabel("layer")
        ax.set_title(label, fontsize=9)
        fig.colorbar(image, ax=ax)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_patching_curves(patching: dict, attribution: dict, path: Path, title: str) -> Path:
    """Metric change per layer for each module, exact patching (solid) vs attribution (dashed)."""
    m_base, m_org = patching["metric"]["base"], patching["metric"]["organism"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, direction, start, key in (
        (axes[0], "organism_to_base", m_base, "organism_to_base_delta"),
        (axes[1], "base_to_organism", m_org, "base_to_organism_delta"),
    ):
        for index, (kind, values) in enumerate(patching[direction].items()):
            color = f"C{index}"
            layers = range(len(values))
            ax.plot(layers, [v - start for v in values], marker="o", markersize=3, color=color, label=f"{kind} exact")
            ax.plot(layers, attribution[key][kind], linestyle="--", color=color, label=f"{kind} attribution")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(direction.replace("_", " "))
        ax.set_xlabel("layer")
        ax.set_ylabel("change in logit[hint] - logit[correct]")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{title} (base {m_base:+.2f}, organism {m_org:+.2f})", fontsize=10)
    return _save(fig, path)


def plot_layer_scores(scores: dict[str, list[float]], path: Path, title: str) -> Path:
    """Every method's per-layer score, each scaled to its own maximum |score| (so shapes compare)."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for method, values in scores.items():
        peak = max((abs(v) for v in values), default=0.0) or 1.0
        ax.plot(range(len(values)), [v / peak for v in values], marker="o", markersize=3, label=method)
    ax.set_xlabel("layer")
    ax.set_ylabel("layer score / max |layer score|")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_probes(probes: dict, path: Path, title: str) -> Path:
    """Held-out probe accuracy per layer: organism, base and their shuffled-label controls."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, task in zip(axes, ("hint_present", "hinted_letter"), strict=True):
        entry = probes[task]
        for key, style in (("organism", "-"), ("base", "-"), ("organism_shuffled", ":"), ("base_shuffled", ":")):
            ax.plot(range(len(entry[key])), entry[key], linestyle=style, marker="o", markersize=3, label=key)
        ax.axhline(entry["majority_rate"], color="gray", linewidth=0.8, label="majority class")
        ax.set_ylim(0, 1.05)
        ax.set_title(task)
        ax.set_xlabel("layer")
        ax.set_ylabel("held-out accuracy (grouped folds)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_logit_lens_table(adl: dict, path: Path, title: str, top: int = 5) -> Path:
    """ADL logit-lens table as an image: one row per layer, its top tokens."""
    rows = [
        [f"{layer}"] + [repr(tok)[1:-1] for tok, _ in tokens[:top]] for layer, tokens in enumerate(adl["top_tokens"])
    ]
    fig, ax = plt.subplots(figsize=(1.2 + 1.5 * top, 0.6 + 0.22 * len(rows)))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["layer"] + [f"#{i + 1}" for i in range(top)], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)
