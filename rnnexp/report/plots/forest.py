"""A forest plot: each check's margin at every recorded seed, and their mean with its interval."""

import numpy as np

from rnnexp.report.plots.style import pyplot_agg


def margins_forest(rows, *, title, xlabel, symlog=False, width=9.0):
    """A forest plot: one row per check, a dot per seed and the mean with its interval.

    Args:
        rows: `(label, margins, interval)` per row, top to bottom; `margins` one per
            seed (None where the value was NaN: drawn as a red cross at the axis' left
            end), `interval` a `rnnexp.report.stats.Interval` of them (no bar below 2 seeds).
        symlog: a symmetric-log x axis, for rows whose units differ by decades.
    """
    plt = pyplot_agg()
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
        # a dot is one recorded ci run: one seed, or one sweep of several
        Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label="one ci run"),
        Line2D([], [], marker="D", color="black", label="mean and 95% interval over the runs"),
        Line2D([], [], color="tab:red", linestyle="--", label="threshold (margin 0)"),
    ]
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    return fig
