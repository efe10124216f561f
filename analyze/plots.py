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
