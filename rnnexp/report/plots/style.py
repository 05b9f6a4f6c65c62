"""The rules every figure follows, and saving one.

Seed means with a t interval, markers and a small sideways dodge, ticks at the
values run, legends outside the data, titles that wrap, and the note a partial
sweep's figures must carry.

Matplotlib is imported when the first figure is drawn (`pyplot_agg`).
"""

import contextlib
import math
from collections.abc import Iterable

import numpy as np

from rnnexp.names import plain
from rnnexp.report.stats import mean_interval

LEVEL = 0.95  # the interval drawn around a seed mean
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
_NOTES: list[str] = []  # what every figure saved now must say under it (see `noted`)
DODGE = 0.012  # sideways offset between neighbouring lines, as a fraction of the x span


def pyplot_agg():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def dodged(xs, i: int, k: int, *, logx=False, categorical=False):
    """Line `i` of `k` moved a little sideways, so lines with equal values stay visible."""
    xs = np.asarray(xs, dtype="float64")
    if k < 2 or not len(xs):
        return xs
    d = i - (k - 1) / 2
    if categorical:
        return xs + d * 0.08
    lo, hi = float(np.min(xs)), float(np.max(xs))
    if logx and lo > 0:
        return xs * ((hi / lo) ** (d * DODGE) if hi > lo else 1 + 0.03 * d)
    return xs + d * DODGE * ((hi - lo) or 1.0)


def seed_spread(values, geometric: bool) -> tuple[float, float, float, int]:
    """`(centre, low, high, n)`: the seed mean and its t interval (no interval for 1 seed).

    `geometric`: the interval of log10 values, for quantities spanning decades.
    """
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if geometric:
        values = [math.log10(v) for v in values if v > 0]  # a log axis cannot show 0
    if not values:
        return math.nan, math.nan, math.nan, 0
    interval = mean_interval(values, LEVEL)
    centre = interval.mean
    low, high = (interval.low, interval.high) if interval.n > 1 else (centre, centre)
    if geometric:
        centre, low, high = (10 ** min(max(v, -300.0), 300.0) for v in (centre, low, high))
    return centre, low, high, interval.n


def seed_note(counts: Iterable[int], *, geometric: bool = False) -> str:
    """What the bars mean, for a title: `counts` are the seeds behind each point."""
    counts = [c for c in counts if c > 0]
    if not counts or max(counts) < 2:
        return "1 seed: no interval"
    low, high = min(counts), max(counts)
    seeds = f"{high} seeds" if low == high else f"{low}-{high} seeds"
    if low < 2:
        seeds += " (1 seed: no interval)"
    what = "geometric mean" if geometric else "mean"
    return f"{what} and {LEVEL:.0%} t interval over {seeds}"


def group_label(*values, sep=", ") -> str:
    """The plain name of a group of trial values: `("rnn", "bi")` -> "SimpleRNN, bidirectional"."""
    return sep.join(plain(v) for v in values)


def _tick_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def ticks_at(ax, values, labels=None, *, axis="x"):
    """Ticks at exactly `values` (the lengths, depths, ... that ran), labelled as run.

    On a log axis this replaces 10^1/10^2 by the values themselves.
    """
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    values = sorted(set(values)) if labels is None else list(values)
    labels = [_tick_text(v) for v in values] if labels is None else [str(x) for x in labels]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(values))
    target.set_major_formatter(FixedFormatter(labels))
    target.set_minor_locator(NullLocator())


def wrapped(text: str, fig) -> str:
    """`text` broken into lines that fit the figure's width (a title must not be clipped)."""
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 12))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def reference_line(ax, y, label, *, color="grey", linestyle="--"):
    """A horizontal reference (chance, a baseline, a threshold) with its name."""
    if y is None or not math.isfinite(float(y)):
        return
    ax.axhline(y, color=color, linestyle=linestyle, linewidth=1.2, label=label)
    # the line inside the panel, not on its edge: its y joins the data limits, with
    # headroom either side (a tenth of the data's span), so an edge never hides it
    x = ax.dataLim.x0 if math.isfinite(ax.dataLim.x0) else 0.0
    y = float(y)
    ax.update_datalim([(x, y)], updatex=False)
    low, high = ax.dataLim.y0, ax.dataLim.y1
    if ax.get_yscale() == "log" and y > 0 and low > 0:
        pad = 10 ** (0.1 * math.log10(high / low))
        room = [y * pad, y / pad]
    else:
        pad = 0.1 * (high - low)
        room = [y + pad, y - pad]
    if pad and all(math.isfinite(v) for v in room):
        ax.update_datalim([(x, v) for v in room], updatex=False)
    ax.autoscale_view()


def finish(fig, axes, *, shared_legend: bool = False, columns: int = 3):
    """Legends outside the data: one under the whole figure (`shared_legend`, for
    panels showing the same lines), else one under each panel."""
    if shared_legend:
        handles, labels = {}, []
        for ax in axes:
            for h, label in zip(*ax.get_legend_handles_labels()):
                if label not in handles:
                    handles[label] = h
                    labels.append(label)
        if labels:
            fig.legend(
                [handles[label] for label in labels],
                labels,
                loc="outside lower center",
                ncols=min(columns, len(labels)),
                fontsize=9,
                frameon=False,
            )
        return fig
    for ax in axes:
        if ax.get_legend_handles_labels()[1]:
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.16),
                fontsize=8.5,
                frameon=False,
                ncols=1,
            )
    return fig


def label_panel(fig, ax, title, xlabel, ylabel, logx, logy, hline, hline_label):
    """A one-panel figure's reference line, labels, title, scales and grid."""
    if hline is not None:
        reference_line(ax, hline, hline_label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    fig.suptitle(wrapped(title, fig), fontsize=10.5)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)


def save(fig, path):
    """Write `fig` to `path` (nothing clipped) and free it."""
    plt = pyplot_agg()
    if _NOTES:  # below the figure, in a strip the tight bounding box adds: nothing is covered
        fig.text(0.5, 0, _NOTES[-1], ha="center", va="top", color="firebrick", fontsize=11)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


@contextlib.contextmanager
def noted(text: str):
    """Every figure saved inside says `text` under it (e.g. "partial: 20 of 72 trials")."""
    _NOTES.append(text)
    try:
        yield
    finally:
        _NOTES.pop()


def close(fig):
    plt = pyplot_agg()
    plt.close(fig)


def interval_text(values, *, digits=2, signed=True) -> str:
    """A seed mean and its t half-width as text ("+0.05 ± 0.08"; "+0.05, 1 seed")."""
    values = [float(v) for v in values]
    if not values:
        return "no value"
    interval = mean_interval(values, LEVEL)
    sign = "+" if signed else ""
    text = f"{interval.mean:{sign}.{digits}f}"
    return f"{text} ± {interval.half:.{digits}f}" if interval.n > 1 else f"{text}, 1 seed"
