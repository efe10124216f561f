"""PNG plots of analysis results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from analyze.localization.scores import peak_layers


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


def plot_layer_heatmap(scores: dict[str, list[float]], path: Path, title: str) -> Path:
    """Methods x layers, each row scaled to its own max |score| (units differ between methods);
    each row's peak boxed; the raw scores written in the cells when there is room."""
    methods = list(scores)
    n_layers = len(scores[methods[0]])
    grid = []
    for method in methods:
        peak = max(abs(v) for v in scores[method]) or 1.0
        grid.append([v / peak for v in scores[method]])
    fig, ax = plt.subplots(figsize=(min(10.0, max(6.5, 2.2 + 0.45 * n_layers)), 1.4 + 0.42 * len(methods)))
    image = ax.imshow(grid, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_yticks(range(len(methods)), methods)
    ax.set_xticks(range(n_layers), range(n_layers), fontsize=7 if n_layers > 16 else 9)
    ax.set_xlabel("layer")
    for row, method in enumerate(methods):
        for layer in peak_layers(scores[method]):
            ax.add_patch(plt.Rectangle((layer - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=1.5))
        if n_layers <= 16:
            for layer, value in enumerate(scores[method]):
                color = "white" if abs(grid[row][layer]) > 0.6 else "black"
                ax.text(layer, row, f"{value:.2g}", ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(image, ax=ax, label="score / max |score| of the row")
    ax.set_title(f"{title}\nboxed: each method's peak", fontsize=10)
    return _save(fig, path)


def plot_layer_lines(
    scores: dict[str, list[float]], nulls: dict[str, dict[str, list[float]]], path: Path, title: str
) -> Path:
    """One panel per method, its raw per-layer score; dashed: the same score of a baseline
    (`nulls[method][label]`) where the run has one."""
    methods = list(scores)
    cols = min(3, len(methods))
    rows = -(-len(methods) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.6 * rows), squeeze=False)
    for ax, method in zip(axes.flat, methods, strict=False):
        values = scores[method]
        ax.plot(range(len(values)), values, marker="o", markersize=3, color="C0", label="organism")
        for index, (label, null) in enumerate(nulls.get(method, {}).items()):
            ax.plot(range(len(null)), null, linestyle="--", color=f"C{index + 1}", label=label)
        for layer in peak_layers(values):
            ax.plot(layer, values[layer], marker="o", markersize=8, fillstyle="none", color="black")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("layer", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if method in nulls:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(methods) :]:
        ax.axis("off")
    fig.suptitle(f"{title} (circled: peak)", fontsize=10)
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
