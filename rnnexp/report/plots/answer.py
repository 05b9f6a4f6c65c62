"""The study's answer figure (`00_answer.png`): panels of seed means with their intervals.

`default_answer` draws the headline metric per group of trials, for an experiment
that does not draw its own.
"""

import numpy as np

from rnnexp.names import plain
from rnnexp.report.plots.style import (
    LINESTYLES,
    MARKERS,
    dodged,
    pyplot_agg,
    seed_spread,
    wrapped,
    finish,
    group_label,
    seed_note,
    ticks_at,
)

ANSWER_FIGURE = "00_answer.png"  # sorts first among the parent run's artifacts
# The same figure narrow enough for the run's Description, which allows no width attribute
# and clips a wider image (MLflow 3.17 beside its Assistant panel: about 950 px at 1600).
CARD_FIGURE = "summary/00_answer_card.png"
CARD_WIDTH_PX = 760


def answer_panels(
    titles: list[str], *, title: str, note: str, sharey: bool = True, width=4.6, height=3.8
):
    """A figure of `len(titles)` panels side by side: `(fig, axes)`.

    `title` says what the study asks, `note` what the bars are (`seed_note`).
    """
    plt = pyplot_agg()
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
    fig.suptitle(wrapped(f"{title}\n{note}", fig), fontsize=10.5)
    return fig, axes


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
        stats = [seed_spread(points[x], geometric) for x in xs]
        centre = np.array([s[0] for s in stats])
        low = np.array([s[1] for s in stats])
        high = np.array([s[2] for s in stats])
        at = [positions[x] if positions is not None else x for x in xs]
        xs_run.update(xs)
        if dodge and positions is None and len(span) > 1 and at:
            # the offset of the whole axis span, not of this line's own points
            moved = dodged(list(span), i, k, logx=logx)
            at = [float(moved[span.index(x)]) for x in xs]
        elif dodge:
            at = list(
                dodged(at, i, k, logx=logx, categorical=positions is not None or len(span) < 2)
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


def no_results(title: str, why: str):
    """A figure that says why there is nothing to draw (every trial failed, ...)."""
    plt = pyplot_agg()
    fig, ax = plt.subplots(figsize=(6.5, 2.6), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True, fontsize=11)
    fig.suptitle(wrapped(title, fig), fontsize=10.5)
    return fig


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
