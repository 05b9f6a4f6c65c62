"""Matplotlib figures for run summaries (headless: the Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["close", "lines_with_spread", "save"]


def lines_with_spread(
    series: dict, *, xlabel, ylabel, title, logx=False, logy=False, hline=None, hline_label=None
):
    """One line per key: `series[key] = (x, mean, spread_or_None)`."""
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def close(fig):
    plt.close(fig)
