"""Figures used across the lessons."""
from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
import numpy as np


def set_style() -> None:
    """One plot style for the whole course."""
    plt.rcParams.update({"figure.figsize": (7, 4), "figure.dpi": 90, "axes.grid": True,
                         "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, "image.cmap": "gray"})


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel, not a plain script)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is installed with Jupyter
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def show(alt: str, fig=None) -> None:
    """Show a figure (default: the current one) with ``alt`` as its alternative text.

    In a notebook the figure becomes an ``<img alt="...">`` (screen readers read the alt text;
    the inline backend's plain PNG has none) and is closed; elsewhere this is ``plt.show()``."""
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("show(alt) needs the figure's alternative text as a non-empty string: "
                         "what is plotted and what to look for in it")
    if not _in_kernel():
        plt.show()
        return
    from IPython.display import display

    fig = plt.gcf() if fig is None else fig
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    tag = f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt, quote=True)}">'
    display({"text/html": tag, "text/plain": alt}, raw=True)
    plt.close(fig)


def image_grid(images, titles=None, cols: int = 8, size: float = 1.4, cmap="gray", **imshow_kwargs):
    """Show images in a grid, each with an optional title; returns the figure.

    Extra keyword arguments go to ``imshow`` (e.g. ``vmin=-1, vmax=1`` for signed kernels)."""
    images = list(images)
    rows = max(1, int(np.ceil(len(images) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size * 1.15), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            img = np.asarray(images[k])
            ax.imshow(img.squeeze(), cmap=cmap if img.squeeze().ndim == 2 else None,
                      **imshow_kwargs)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    fig.tight_layout()
    return fig


def learning_curves(histories: dict, metrics=("loss", "accuracy")):
    """Plot train (solid) and validation (dashed) curves of several Keras histories side by side.

    ``histories`` maps a label to a ``History`` object or its ``.history`` dict.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for (label, hist), color in zip(histories.items(), plt.cm.tab10.colors):
        hist = getattr(hist, "history", hist)
        for ax, metric in zip(axes[0], metrics):
            if metric in hist:
                ax.plot(np.arange(1, len(hist[metric]) + 1), hist[metric], color=color,
                        marker="o", ms=3, label=f"{label} train")
            if f"val_{metric}" in hist:
                ax.plot(np.arange(1, len(hist[f"val_{metric}"]) + 1), hist[f"val_{metric}"],
                        color=color, ls="--", marker="o", ms=3, label=f"{label} val")
            ax.set_xlabel("epoch")
            ax.set_title(metric)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrix_plot(y_true, y_pred, class_names, normalize: bool = True):
    """Confusion matrix as a heat map (rows: true class, columns: predicted class)."""
    n = len(class_names)
    cm = np.zeros((n, n), dtype=float)
    np.add.at(cm, (np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)), 1)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]:.2f}" if normalize else int(cm[i, j]), ha="center",
                    va="center", fontsize=7, color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
