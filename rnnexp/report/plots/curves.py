"""Supporting plots: a mean curve (or every trace) per group of trials.

The x axis is epochs, steps or positions; the curves come from the trials' extras.
"""

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnnexp.names import plain_label
from rnnexp.report.plots.style import (
    LINESTYLES,
    MARKERS,
    dodged,
    label_panel,
    pyplot_agg,
    seed_spread,
    wrapped,
    finish,
    reference_line,
    save,
    seed_note,
    ticks_at,
)


def curves_by(results, extra: str, by: Callable[[dict], str]) -> dict[str, list]:
    """`{by(trial): [curve of each finished trial]}`, curves from `r.extras[extra]`."""
    groups: dict[str, list] = {}
    for r in results:
        if r.status == "FINISHED" and extra in r.extras:
            groups.setdefault(by(r.trial), []).append(np.asarray(r.extras[extra], dtype="float64"))
    return groups


def mean_curves(
    ax, groups: dict[str, list], *, x=None, logy=False, start=1, dodge=True, bands=True
):
    """Each group's mean curve with its t interval as a band (from 2 seeds up).

    Curves of different lengths (early stopping) are averaged over the trials
    that reached each step. Returns the largest number of seeds behind a curve.
    """
    most = 0
    k = len(groups)
    for i, (label, curves) in enumerate(groups.items()):
        steps = max(len(c) for c in curves)
        stacked = np.full((len(curves), steps), np.nan)
        for j, c in enumerate(curves):
            stacked[j, : len(c)] = c
        stats = [seed_spread(stacked[:, t], logy) for t in range(steps)]
        centre = np.array([s[0] for s in stats])
        low = np.array([s[1] for s in stats])
        high = np.array([s[2] for s in stats])
        xs = np.arange(start, start + steps) if x is None else np.asarray(x)[:steps]
        xs = dodged(xs, i, k) if dodge and steps <= 30 else xs
        (line,) = ax.plot(
            xs,
            centre,
            marker=MARKERS[i % len(MARKERS)] if steps <= 30 else None,
            markersize=5,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            label=label,
        )
        if bands and len(curves) > 1:
            ax.fill_between(xs, low, high, alpha=0.15, color=line.get_color())
        most = max(most, len(curves))
    if logy:
        ax.set_yscale("log")
    if x is None:  # epochs, steps, positions: whole numbers only
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return most


def mean_curves_figure(
    results,
    extra: str,
    by: Callable[[dict], str],
    path: Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    x=None,
    logy: bool = False,
    hline=None,
    hline_label=None,
    references: tuple = (),
) -> list[Path]:
    """The summary plot most experiments draw: finished trials grouped by `by`,
    each group's mean curve of `extras[extra]` with its interval, saved at `path`.
    `references`: more `(y, label)` lines (a paper's numbers), dotted.

    Returns `[path]`, or `[]` when no finished trial recorded the curve.
    """
    groups = curves_by(results, extra, by)
    if not groups:
        return []
    plt = pyplot_agg()
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    seeds = mean_curves(ax, groups, x=x, logy=logy)
    reference_line(ax, hline, hline_label)
    for (y, label), style in zip(references, (":", "-.", (0, (1, 3)))):
        reference_line(ax, y, label, color="black", linestyle=style)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    fig.suptitle(wrapped(f"{title}\n{seed_note([seeds], geometric=logy)}", fig), fontsize=10.5)
    finish(fig, [ax])
    return [save(fig, path)]


def lines_with_spread(
    series: dict, *, xlabel, ylabel, title, logx=False, logy=False, hline=None, hline_label=None
):
    """One line per key: `series[key] = (x, mean, spread_or_None)` (spread already computed)."""
    plt = pyplot_agg()
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    xs_run = set()
    for i, (label, (x, mean, spread)) in enumerate(series.items()):
        x, mean = np.asarray(x), np.asarray(mean)
        ax.plot(
            x,
            mean,
            marker=MARKERS[i % len(MARKERS)] if len(x) < 30 else None,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            label=label,
        )
        if spread is not None:
            spread = np.asarray(spread)
            ax.fill_between(x, mean - spread, mean + spread, alpha=0.2)
        if len(x) < 30:
            xs_run.update(x.tolist())
    label_panel(fig, ax, title, xlabel, ylabel, logx, logy, hline, hline_label)
    if logx and xs_run and len(xs_run) < 12:
        ticks_at(ax, sorted(xs_run))
    finish(fig, [ax])
    return fig


def traces_by_group(
    groups: dict, *, xlabel, ylabel, title, logy=False, hline=None, hline_label=None
):
    """Many trials' curves, one colour per group: `groups[name] = [(x, y), ...]`.

    One legend entry per group (its name says how many curves), so a sweep of
    dozens of seeds stays readable; NaN in `y` leaves a gap.
    """
    plt = pyplot_agg()
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    for i, (name, curves) in enumerate(groups.items()):
        color = f"C{i}"
        for k, (x, y) in enumerate(curves):
            ax.plot(x, y, color=color, linewidth=0.8, alpha=0.5, label=name if k == 0 else None)
    label_panel(fig, ax, title, xlabel, ylabel, False, logy, hline, hline_label)
    finish(fig, [ax])
    return fig


def margins_by_seed(outcomes: list[dict], title: str):
    """Each check's margin at each recorded seed (a robustness record's outcomes), 0 = threshold."""
    labels = list(dict.fromkeys(c["label"] for o in outcomes for c in o["checks"]))
    series = {}
    for label in labels:
        points = [
            (o["seed"], c["margin"] if c["margin"] is not None else math.nan)
            for o in outcomes
            for c in o["checks"]
            if c["label"] == label
        ]
        logged = any(c["log"] for o in outcomes for c in o["checks"] if c["label"] == label)
        unit = " (decades)" if logged else ""
        series[f"{plain_label(label)}{unit}"] = (
            [s for s, _ in points],
            [m for _, m in points],
            None,
        )
    return lines_with_spread(
        series,
        xlabel="seed",
        ylabel="margin (check's units; > 0 holds)",
        title=title,
        hline=0.0,
        hline_label="threshold",
    )
