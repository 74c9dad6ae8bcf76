"""PNG plots for a run: training curves and a confusion matrix (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on a training box or in CI
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict, path: Path) -> None:
    """Loss and accuracy per epoch, training vs validation speakers."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=("validation " if prefix else "training ") + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion: dict, path: Path, *, title: str = "") -> None:
    """Row-normalised confusion matrix with counts; rows are true labels."""
    import numpy as np

    plt = _pyplot()
    labels, matrix = confusion["labels"], np.asarray(confusion["matrix"], dtype=float)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if rates[i, j] > 0.6 else "black"
            ax.text(j, i, f"{int(matrix[i, j])}", ha="center", va="center", color=colour, fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="recall")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
