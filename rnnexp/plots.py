"""Matplotlib figures for run summaries (headless: the Agg backend).

Matplotlib is imported when the first figure is drawn, not when an experiment
that draws figures is declared.
"""

import numpy as np

__all__ = [
    "attention_maps",
    "captioned_images",
    "close",
    "lines_with_spread",
    "margins_forest",
    "save",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lines_with_spread(
    series: dict, *, xlabel, ylabel, title, logx=False, logy=False, hline=None, hline_label=None
):
    """One line per key: `series[key] = (x, mean, spread_or_None)`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, (x, mean, spread) in series.items():
        x, mean = np.asarray(x), np.asarray(mean)
        ax.plot(x, mean, marker="o" if len(x) < 30 else None, label=label)
        if spread is not None:
            spread = np.asarray(spread)
            ax.fill_between(x, mean - spread, mean + spread, alpha=0.2)
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle="--", label=hline_label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def save(fig, path):
    plt = _pyplot()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def close(fig):
    plt = _pyplot()
    plt.close(fig)


def attention_maps(examples, *, title):
    """One heat map per example: `(weights (T, S), source_tokens, output_tokens)`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(examples), figsize=(4.2 * len(examples), 4.2), squeeze=False)
    for ax, (weights, source, output) in zip(axes[0], examples):
        weights = np.asarray(weights)[: len(output), : len(source)]
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(output)), output, fontsize=8)
        ax.set_xlabel("source")
    axes[0][0].set_ylabel("output")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def captioned_images(images, captions, *, title, columns=4):
    """A grid of grey or RGB images, each titled with its (multi-line) caption."""
    plt = _pyplot()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
        ax.set_title(caption, fontsize=7, loc="left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def margins_forest(rows, *, title, xlabel, symlog=False, width=9.0):
    """A forest plot: one row per check, a dot per seed and the mean with its interval.

    Args:
        rows: `(label, margins, interval)` per row, top to bottom; `margins` one per
            seed (None where the value was NaN: drawn as a red cross at the axis' left
            end), `interval` a `rnnexp.stats.Interval` of them (no bar below 2 seeds).
        symlog: a symmetric-log x axis, for rows whose units differ by decades.
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D

    height = 1.6 + 0.5 * len(rows)
    fig, ax = plt.subplots(figsize=(width, height))
    finite = [m for _, margins, _ in rows for m in margins if m is not None]
    for _, _, interval in rows:
        if interval is not None and interval.n >= 2 and np.isfinite(interval.half):
            finite += [interval.low, interval.high]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if symlog:
        left = -0.03 if low >= 0 else 3 * low
        right = max(3 * high, 0.1)
    else:
        pad = 0.08 * ((high - low) or 1.0)
        left, right = low - pad, high + pad
    for y, (_, margins, interval) in enumerate(rows):
        y = len(rows) - 1 - y
        shown = [m for m in margins if m is not None]
        lost = len(margins) - len(shown)
        ax.scatter(shown, [y + 0.15] * len(shown), s=14, color="tab:blue", alpha=0.6, zorder=3)
        if lost:
            ax.scatter([left] * lost, [y + 0.15] * lost, marker="x", color="tab:red", zorder=3)
        if interval is not None and interval.n >= 2 and np.isfinite(interval.half):
            ax.errorbar(
                interval.mean,
                y - 0.15,
                xerr=interval.half,
                fmt="D",
                color="black",
                markersize=4,
                capsize=3,
                zorder=4,
            )
        elif interval is not None and interval.n == 1:
            ax.plot(interval.mean, y - 0.15, "D", color="black", markersize=4)
    ax.axvline(0.0, color="tab:red", linestyle="--", linewidth=1)
    import textwrap

    labels = [textwrap.fill(label, 50) for label, _, _ in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    if symlog:
        ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(left, right)
    ax.set_xlabel(xlabel, loc="right")
    ax.grid(axis="x", alpha=0.3)
    handles = [
        Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label="one seed"),
        Line2D([], [], marker="D", color="black", label="mean and 95% interval (from 2 seeds)"),
        Line2D([], [], color="tab:red", linestyle="--", label="threshold (margin 0)"),
    ]
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    return fig
