"""Figures in the style of the paper (Jaderberg et al. 2021/22): accuracy curves
with mean ± std bands (Figs. 5, 7, 8, 10), loss and Hilbert–Schmidt panels (Fig. 4)
and confusion matrices (Fig. 6)."""

from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _wrap(title: str, fig: plt.Figure, fontsize: float = 12) -> str:
    """A title broken into lines that fit the figure's width: matplotlib does not wrap,
    and a spec's heading is longer than a figure is wide (it was cut at both ends)."""
    width = max(20, int(fig.get_figwidth() * 72 / (0.6 * fontsize)))  # ~0.6 em a character
    return "\n".join(textwrap.fill(line, width) for line in title.split("\n"))


def _finish_axes(fig: plt.Figure, ax: plt.Axes, path: str, xlabel: str, ylabel: str,
                 title: str) -> None:
    """Labels, legend and grid of a single-axes figure; save it as PNG and close it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(_wrap(title, fig))
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accuracy_curves(
    curves: Mapping[str, Mapping[int, dict]],
    path: str,
    title: str,
    key: str = "final",
    paper: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """Probe accuracy against pretraining step: mean and its 95 % CI band per variant
    (the ± std band where a CI is missing, e.g. for a single seed).

    Args:
        curves: ``{variant: {step: {"final": {"mean", "std", "n"}, "best": ...}}}``.
        path: PNG path.
        title: figure title.
        key: ``"final"`` or ``"best"`` (epoch selected on the test set).
        paper: the paper's end-of-training ``(mean, std)`` in %, drawn as error bars.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (variant, by_step) in enumerate(curves.items()):
        steps = sorted(by_step)
        mean = np.array([100 * by_step[s][key]["mean"] for s in steps])
        std = np.array([100 * by_step[s][key]["std"] for s in steps])
        low = np.array([100 * by_step[s][key].get("ci_low") if by_step[s][key].get("ci_low")
                        is not None else m - d for s, m, d in zip(steps, mean, std)])
        high = np.array([100 * by_step[s][key].get("ci_high") if by_step[s][key].get("ci_high")
                         is not None else m + d for s, m, d in zip(steps, mean, std)])
        color = f"C{i}"
        n = by_step[steps[-1]][key]["n"] if steps else 0
        ax.plot(steps, mean, color=color, label=f"{variant} (n={n}, 95 % CI)")
        ax.fill_between(steps, low, high, color=color, alpha=0.2)
        if paper and variant in paper and steps:
            m, s = paper[variant]
            ax.errorbar([steps[-1]], [m], yerr=[s], fmt="x", color=color, capsize=3)
    _finish_axes(fig, ax, path, "pretraining batches",
                 f"linear-probe test accuracy (%), {key} epoch",
                 title + ("\n(x: paper, end of training)" if paper else ""))


def plot_width_ablation(
    rows: Mapping[str, Mapping[int, dict]], path: str, title: str, key: str = "final"
) -> None:
    """Final-checkpoint accuracy against width W for each model family (Figs. 7, 8)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for family, by_width in rows.items():
        widths = sorted(by_width)
        mean = [100 * by_width[w][key]["mean"] for w in widths]
        std = [100 * by_width[w][key]["std"] for w in widths]
        ax.errorbar(widths, mean, yerr=std, marker="o", capsize=3, label=family)
    ax.set_xscale("log", base=2)
    # Every measured width labelled as itself (a log axis labels powers of 2 only: W = 6,
    # 12 and 20 would have no tick).
    every = sorted({w for by_width in rows.values() for w in by_width})
    ax.set_xticks(every, [str(w) for w in every])
    ax.minorticks_off()
    _finish_axes(fig, ax, path, "width W", f"linear-probe test accuracy (%), {key} epoch\n"
                 "(mean ± sd over seeds)", title)


def plot_controls(heads: Mapping[str, Mapping[str, dict]], path: str, title: str) -> None:
    """Per arm, every seed's accuracy (dots) and the mean with its 95 % CI (bar), one
    panel per probe head (the controls experiment).

    Args:
        heads: ``{head: {arm: {"values": {seed: accuracy}, "accuracy": {"mean",
            "ci_low", "ci_high"}}}}`` as :func:`train.controls.controls_lines` returns.
        path: PNG path.
        title: figure title.
    """
    heads = {h: arms for h, arms in heads.items() if arms}
    if not heads:
        return
    fig, axes = plt.subplots(1, len(heads), figsize=(4.6 * len(heads), 4.4), sharey=True,
                             squeeze=False)
    for ax, (head, arms) in zip(axes[0], heads.items()):
        names = list(arms)
        for i, name in enumerate(names):
            values = 100 * np.array(list(arms[name]["values"].values()))
            jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter), values, s=12, color=f"C{i}", alpha=0.7)
            acc = arms[name]["accuracy"]
            if acc.get("ci_low") is not None:
                mean = 100 * acc["mean"]
                ax.errorbar([i + 0.3], [mean], yerr=[[mean - 100 * acc["ci_low"]],
                                                     [100 * acc["ci_high"] - mean]],
                            fmt="o", color="k", capsize=3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{head} head")
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("linear-probe test accuracy (%), final epoch")
    fig.suptitle(_wrap(title + "\n(dots: seeds; black: mean and 95 % CI)", fig, 9), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training_panels(
    panels: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    path: str,
    title: str,
) -> None:
    """One panel per quantity: ``{name: (steps, mean, band)}``, the band drawn as mean ±
    band (Fig. 4: the half-width of the mean's 95 % CI)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (name, (steps, mean, band)) in zip(axes[0], panels.items()):
        mean, band = np.asarray(mean), np.asarray(band)
        ax.plot(steps, mean)
        ax.fill_between(steps, mean - band, mean + band, alpha=0.25)
        ax.set_title(name)
        ax.set_xlabel("batches")
        ax.grid(alpha=0.3)
    fig.suptitle(_wrap(title, fig))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str], path: str, title: str
) -> None:
    """Row-normalised confusion matrix with counts (Fig. 6 style)."""
    matrix = np.asarray(matrix)
    fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, f"{count}\n{100 * fractions[i, j]:.0f}%", ha="center", va="center",
                fontsize=7, color="white" if fractions[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(_wrap(title, fig))
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_device_accuracy(models: Mapping[str, dict], class_names: Sequence[str],
                         paper: Mapping[str, float], path: str, title: str) -> None:
    """Fig. 6 beside the paper's: each model's accuracy with its 95 % interval (the
    paper's figure as a cross), and its accuracy per true class.

    Args:
        models: ``{name: {"accuracy", "low", "high", "per_class": [...]}}``, fractions.
        class_names: the classes, in the order of ``per_class``.
        paper: ``{name: accuracy}`` (fractions) for the models the paper reports.
        path: PNG path.
        title: figure title.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2),
                                      gridspec_kw={"width_ratios": [1, 2]})
    names = list(models)
    for i, name in enumerate(names):
        m = models[name]
        error = [[100 * (m["accuracy"] - m["low"])], [100 * (m["high"] - m["accuracy"])]]
        left.errorbar([i], [100 * m["accuracy"]], yerr=error, fmt="o", color=f"C{i}", capsize=4)
    crosses = [i for i, name in enumerate(names) if name in paper]
    left.scatter(crosses, [100 * paper[names[i]] for i in crosses], marker="x", color="k",
                 zorder=3, label="the paper")
    left.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=8)
    left.set_ylabel("test accuracy (%) [95 % Wilson]")
    left.grid(alpha=0.3, axis="y")
    if paper:
        left.legend(fontsize=8)
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        right.bar(np.arange(len(class_names)) + (i - (len(names) - 1) / 2) * width,
                  100 * np.asarray(models[name]["per_class"]), width, label=name, color=f"C{i}")
    right.set_xticks(range(len(class_names)), class_names)
    right.set_ylabel("accuracy per true class (%)")
    right.grid(alpha=0.3, axis="y")
    right.legend(fontsize=8)
    fig.suptitle(_wrap(title, fig, 10), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
