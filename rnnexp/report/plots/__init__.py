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

This package is the toolkit experiments draw with (`plots.save`, ...); its rooms:
`style` (the rules above, saving), `answer`, `curves`, `examples` (attention maps,
captioned images) and `forest` (the docs' margins of every check).
"""

from rnnexp.report.plots.answer import (
    ANSWER_FIGURE,
    CARD_FIGURE,
    CARD_WIDTH_PX,
    answer_panels,
    default_answer,
    interval_lines,
    no_results,
)
from rnnexp.report.plots.curves import (
    curves_by,
    lines_with_spread,
    margins_by_seed,
    mean_curves,
    mean_curves_figure,
    traces_by_group,
)
from rnnexp.report.plots.examples import attention_maps, captioned_images
from rnnexp.report.plots.forest import margins_forest
from rnnexp.report.plots.style import (
    LEVEL,
    close,
    finish,
    group_label,
    interval_text,
    noted,
    reference_line,
    save,
    seed_note,
    ticks_at,
)

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
    "margins_by_seed",
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
