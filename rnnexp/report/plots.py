"""Matplotlib figures for run summaries (headless: the Agg backend).

Two kinds of figure:

- the study's answer (`00_answer.png`, `Experiment.answer_figure`): the panels its
  claim needs side by side, each line a seed mean with its Student-t interval
  (`interval_lines`), in a figure from `answer_panels`;
- the supporting plots of `summarize`, most of them a mean curve per group of
  trials (`mean_curves_figure`).

Every figure here follows the same rules, so a person can read it without the
code: plain names (`rnnexp.names.plain`), ticks at the values run, an interval
from 2 seeds up and the words "1 seed: no interval" otherwise, markers and a
small sideways offset so no line hides another, and a constrained layout that
keeps titles and legends inside the image.

Matplotlib is imported when the first figure is drawn, not when an experiment
that draws figures is declared.
"""

import contextlib
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from rnnexp.names import plain
from rnnexp.report.stats import mean_interval

__all__ = [
    "ANSWER_FIGURE",
    "CARD_FIGURE",
    "CARD_WIDTH_PX",
    "LEVEL",
    "answer_panels",
    "attention_maps",
    "captioned_images",
    "close",
    "curves_by",
    "default_answer",
    "finish",
    "group_label",
    "interval_lines",
    "interval_text",
    "lines_with_spread",
    "traces_by_group",
    "margins_forest",
    "noted",
    "mean_curves",
    "mean_curves_figure",
    "no_results",
    "reference_line",
    "save",
    "seed_note",
    "ticks_at",
]

ANSWER_FIGURE = "00_answer.png"  # sorts first among the parent run's artifacts
# The same figure narrow enough for the run's Description, which allows no width attribute
# and clips a wider image (MLflow 3.17 beside its Assistant panel: about 950 px at 1600).
CARD_FIGURE = "summary/00_answer_card.png"
CARD_WIDTH_PX = 760
LEVEL = 0.95  # the interval drawn around a seed mean
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
_NOTES: list[str] = []  # what every figure saved now must say under it (see `noted`)
DODGE = 0.012  # sideways offset between neighbouring lines, as a fraction of the x span


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- the numbers behind a line -------------------------------------------------
def _dodged(xs, i: int, k: int, *, logx=False, categorical=False):
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


def _spread(values, geometric: bool) -> tuple[float, float, float, int]:
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


# -- drawing ---------------------------------------------------------------------
def answer_panels(
    titles: list[str], *, title: str, note: str, sharey: bool = True, width=4.6, height=3.8
):
    """A figure of `len(titles)` panels side by side: `(fig, axes)`.

    `title` says what the study asks, `note` what the bars are (`seed_note`).
    """
    plt = _pyplot()
    width = max(width, 6.5) if len(titles) == 1 else width
    fig, axes = plt.subplots(
        1,
        len(titles),
        figsize=(width * len(titles) + 0.6, height + 1.2),
        sharey=sharey,
        squeeze=False,
        layout="constrained",
    )
    axes = list(axes[0])
    for ax, panel in zip(axes, titles):
        ax.set_title(panel, fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(_wrapped(f"{title}\n{note}", fig), fontsize=10.5)
    return fig, axes


def _wrapped(text: str, fig) -> str:
    """`text` broken into lines that fit the figure's width (a title must not be clipped)."""
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 12))
    return "\n".join(textwrap.fill(line, chars) for line in text.splitlines())


def interval_lines(
    ax,
    series: dict[str, dict],
    *,
    geometric: bool = False,
    logx: bool = False,
    logy: bool = False,
    positions: dict | None = None,
    dodge: bool = True,
) -> dict[str, tuple[list, list, list]]:
    """One line per label: `series[label] = {x: [value per seed]}`; the seed mean
    with its t interval as error bars, ticks at the x values run.

    Args:
        geometric: means and intervals of log10 values (for ratios spanning decades).
        positions: `{x: position}` for categorical x (cells, variants): ticks at
            the positions, labelled with `plain(x)`.
        dodge: offset the lines sideways by a few points, so equal values stay visible.

    Returns:
        `{label: (xs, centres, counts)}`, for annotations.
    """
    drawn = {}
    xs_run = set()
    k = len(series)
    span = sorted({x for points in series.values() for x in points if points[x]})
    if positions is None and len(span) == 1:  # one value run: a category, not an axis
        positions = {span[0]: 0}
    for i, (label, points) in enumerate(series.items()):
        xs = [x for x in points if points[x]]
        if positions is not None:
            xs = sorted(xs, key=lambda x: positions[x])
        else:
            xs = sorted(xs)
        stats = [_spread(points[x], geometric) for x in xs]
        centre = np.array([s[0] for s in stats])
        low = np.array([s[1] for s in stats])
        high = np.array([s[2] for s in stats])
        at = [positions[x] if positions is not None else x for x in xs]
        xs_run.update(xs)
        if dodge and positions is None and len(span) > 1 and at:
            # the offset of the whole axis span, not of this line's own points
            moved = _dodged(list(span), i, k, logx=logx)
            at = [float(moved[span.index(x)]) for x in xs]
        elif dodge:
            at = list(
                _dodged(at, i, k, logx=logx, categorical=positions is not None or len(span) < 2)
            )
        ax.errorbar(
            at,
            centre,
            yerr=[np.maximum(centre - low, 0), np.maximum(high - centre, 0)],
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            markersize=6,
            capsize=3,
            label=label,
        )
        drawn[label] = (xs, list(centre), [s[3] for s in stats])
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if positions is not None:
        order = sorted(xs_run, key=lambda x: positions[x])
        ticks_at(ax, [positions[x] for x in order], [plain(x) for x in order])
        lo, hi = min(positions[x] for x in order), max(positions[x] for x in order)
        ax.set_xlim(lo - 0.5, hi + 0.5)
    elif xs_run:
        ticks_at(ax, sorted(xs_run))
        if logx and len(xs_run) > 1:
            lo, hi = min(xs_run), max(xs_run)
            ax.set_xlim(lo / (hi / lo) ** 0.08, hi * (hi / lo) ** 0.08)
    return drawn


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


def no_results(title: str, why: str):
    """A figure that says why there is nothing to draw (every trial failed, ...)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 2.6), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, fontsize=11)
    fig.suptitle(_wrapped(title, fig), fontsize=10.5)
    return fig


# -- the default answer: the headline metric per group of trials --------------
def default_answer(exp, cfg, results):
    """`exp.metric` per group of trials (every parameter but the seed), mean and interval.

    The numeric parameter (a length, a depth) is the x axis with ticks at its
    values; the other parameters name the lines. An experiment whose claim needs
    other panels overrides `Experiment.answer_figure`.
    """
    title = f"{exp.name}: {exp.description}" if exp.description else exp.name
    finished = [r for r in results if r.status == "FINISHED" and exp.metric in r.metrics]
    if exp.metric is None or not finished:
        why = "no metric to draw" if exp.metric is None else "no trial finished"
        return no_results(title, f"{why} ({len(results)} trial(s))")
    keys = [k for k in finished[0].trial if k != "seed"]
    varying = [k for k in keys if len({str(r.trial[k]) for r in finished}) > 1]
    numeric = [
        k
        for k in varying
        if all(
            isinstance(r.trial[k], (int, float)) and not isinstance(r.trial[k], bool)
            for r in finished
        )
    ]
    x_key = numeric[-1] if numeric else (varying[-1] if varying else None)
    line_keys = [k for k in varying if k != x_key]
    series: dict[str, dict] = {}
    for r in finished:
        label = group_label(*(r.trial[k] for k in line_keys)) or plain(exp.metric)
        x = r.trial[x_key] if x_key else exp.name
        series.setdefault(label, {}).setdefault(x, []).append(r.metrics[exp.metric])
    counts = [len(v) for points in series.values() for v in points.values()]
    fig, axes = answer_panels(
        [f"{plain(exp.metric)} by {plain(x_key)}" if x_key else plain(exp.metric)],
        title=title,
        note=seed_note(counts),
        width=6.0,
    )
    ax = axes[0]
    positions = None
    if x_key not in numeric:
        xs = list(dict.fromkeys(x for points in series.values() for x in points))
        positions = {x: i for i, x in enumerate(xs)}
    interval_lines(ax, series, positions=positions)
    ax.set(xlabel=plain(x_key) if x_key else "", ylabel=plain(exp.metric))
    return finish(fig, axes)


# -- supporting plots: mean curves per group of trials -------------------------
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
        stats = [_spread(stacked[:, t], logy) for t in range(steps)]
        centre = np.array([s[0] for s in stats])
        low = np.array([s[1] for s in stats])
        high = np.array([s[2] for s in stats])
        xs = np.arange(start, start + steps) if x is None else np.asarray(x)[:steps]
        xs = _dodged(xs, i, k) if dodge and steps <= 30 else xs
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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    seeds = mean_curves(ax, groups, x=x, logy=logy)
    reference_line(ax, hline, hline_label)
    for (y, label), style in zip(references, (":", "-.", (0, (1, 3)))):
        reference_line(ax, y, label, color="black", linestyle=style)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    fig.suptitle(_wrapped(f"{title}\n{seed_note([seeds], geometric=logy)}", fig), fontsize=10.5)
    finish(fig, [ax])
    return [save(fig, path)]


def lines_with_spread(
    series: dict, *, xlabel, ylabel, title, logx=False, logy=False, hline=None, hline_label=None
):
    """One line per key: `series[key] = (x, mean, spread_or_None)` (spread already computed)."""
    plt = _pyplot()
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
    _label_panel(fig, ax, title, xlabel, ylabel, logx, logy, hline, hline_label)
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
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    for i, (name, curves) in enumerate(groups.items()):
        color = f"C{i}"
        for k, (x, y) in enumerate(curves):
            ax.plot(x, y, color=color, linewidth=0.8, alpha=0.5, label=name if k == 0 else None)
    _label_panel(fig, ax, title, xlabel, ylabel, False, logy, hline, hline_label)
    finish(fig, [ax])
    return fig


def _label_panel(fig, ax, title, xlabel, ylabel, logx, logy, hline, hline_label):
    """A one-panel figure's reference line, labels, title, scales and grid."""
    if hline is not None:
        reference_line(ax, hline, hline_label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    fig.suptitle(_wrapped(title, fig), fontsize=10.5)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)


def save(fig, path):
    """Write `fig` to `path` (nothing clipped) and free it."""
    plt = _pyplot()
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
    plt = _pyplot()
    plt.close(fig)


def attention_maps(examples, *, title):
    """One heat map per example: `(weights (T, S), source_tokens, output_tokens)`."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        1, len(examples), figsize=(4.2 * len(examples), 4.2), squeeze=False, layout="constrained"
    )
    for ax, (weights, source, output) in zip(axes[0], examples):
        weights = np.asarray(weights)[: len(output), : len(source)]
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(output)), output, fontsize=8)
        ax.set_xlabel("source")
    axes[0][0].set_ylabel("output")
    fig.suptitle(title)
    return fig


def captioned_images(images, captions, *, title, columns=4):
    """A grid of grey or RGB images, each titled with its (multi-line) caption."""
    plt = _pyplot()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns, 2.4 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
        ax.set_title(caption, fontsize=7, loc="left")
    fig.suptitle(title)
    return fig


def margins_forest(rows, *, title, xlabel, symlog=False, width=9.0):
    """A forest plot: one row per check, a dot per seed and the mean with its interval.

    Args:
        rows: `(label, margins, interval)` per row, top to bottom; `margins` one per
            seed (None where the value was NaN: drawn as a red cross at the axis' left
            end), `interval` a `rnnexp.report.stats.Interval` of them (no bar below 2 seeds).
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
        # a dot is one recorded ci run: one seed, or one sweep of several
        Line2D([], [], marker="o", linestyle="", color="tab:blue", alpha=0.6, label="one ci run"),
        Line2D([], [], marker="D", color="black", label="mean and 95% interval over the runs"),
        Line2D([], [], color="tab:red", linestyle="--", label="threshold (margin 0)"),
    ]
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1))
    return fig


def interval_text(values, *, digits=2, signed=True) -> str:
    """A seed mean and its t half-width as text ("+0.05 ± 0.08"; "+0.05, 1 seed")."""
    values = [float(v) for v in values]
    if not values:
        return "no value"
    interval = mean_interval(values, LEVEL)
    sign = "+" if signed else ""
    text = f"{interval.mean:{sign}.{digits}f}"
    return f"{text} ± {interval.half:.{digits}f}" if interval.n > 1 else f"{text}, 1 seed"
