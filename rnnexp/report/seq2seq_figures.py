"""The figures of the sequence-to-sequence experiments, captioning and translation.

Per trial, what its model wrote on a few test inputs (`caption_figures`,
`attention_figures`); per study, its answer (`bleu_by_cell_figure`,
`bleu_by_length_figure`), drawn with `rnnexp.report.plots`' rules.
"""

import numpy as np

from rnnexp.results import group_metric
from rnnexp.names import plain
from rnnexp.report import plots

__all__ = [
    "ATTENTION_NAMES",
    "bleu_by_cell_figure",
    "bleu_by_length_figure",
    "attention_figures",
    "caption_figures",
]

ATTENTION_NAMES = {"none": "no attention"}


def caption_figures(data, decoded, label, count=12) -> dict:
    """`captions.png`: the first `count` test images, titled with greedy caption and reference.

    Args:
        data, decoded: a `Seq2SeqData` and the trial's `Decoded`
            (`rnnexp.recipes.seq2seq`).
    """
    shown = slice(0, count)
    pairs = zip(decoded.greedy[shown], data.test_refs[shown])
    captions = [f"pred: {greedy}\nref: {refs[0]}" for greedy, refs in pairs]
    title = f"{label}: greedy captions"
    return {"captions.png": plots.captioned_images(data.test_inputs[shown], captions, title=title)}


def attention_figures(data, decoded, label, count=3) -> dict:
    """`attention.png`: the greedy pass's attention on the `count` longest test sources; none
    where the model does not attend."""
    if decoded.attention is None:
        return {}
    sources = data.test_sources
    longest = np.argsort([-len(s.split()) for s in sources], kind="stable")[:count]
    examples = [
        (decoded.attention[i], sources[i].split(), decoded.greedy[i].split() + ["[end]"])
        for i in longest
    ]
    return {"attention.png": plots.attention_maps(examples, title=f"{label}: attention weights")}


def bleu_by_cell_figure(results, cells):
    """Captioning: BLEU-4 by decoder cell against the two captioners that read no sequence."""
    bleu = group_metric(results, "bleu4", ("cell",))
    done = next((r for r in results if r.status == "FINISHED"), None)
    fig, axes = plots.answer_panels(
        ["test BLEU-4 by decoder cell"],
        title="captioning: does a recurrent decoder beat copying the nearest "
        "training image's caption?",
        note=plots.seed_note([len(v) for v in bleu.values()]),
        width=6.5,
    )
    series = {"greedy decoding": {c: v for (c,), v in bleu.items()}}
    order = {c: i for i, c in enumerate(cells)}
    plots.interval_lines(axes[0], series, positions=order)
    if done is not None:
        nearest = done.metrics["baseline_nearest_bleu4"]
        frequent = done.metrics["baseline_frequent_bleu4"]
        plots.reference_line(axes[0], nearest, f"nearest training image's caption ({nearest:.1f})")
        plots.reference_line(
            axes[0], frequent, f"most frequent caption ({frequent:.1f})", linestyle=":"
        )
    axes[0].set(xlabel="decoder cell", ylabel="test BLEU-4")
    return plots.finish(fig, axes)


def bleu_by_length_figure(results, sweep, edges):
    """Translation: BLEU-4 by source length, one panel per attention setting (sharing y), one
    line per cell with its overall BLEU-4 in the legend.

    Args:
        sweep: its `cells` and `attention` settings, in the order to draw them.
        edges: the length buckets' lower ends in words, as the trials scored them
            (`rnnexp.text_metrics.bleu_by_length`, kept in each trial's `by_length` extra).
    """
    cells, attentions = sweep.cells, sweep.attention
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]}+"]
    bleu = group_metric(results, "bleu4", ("cell", "attention"))
    fig, axes = plots.answer_panels(
        [ATTENTION_NAMES.get(a, plain(a)) for a in attentions],
        title="translation: do gated cells and attention keep long inputs right?",
        note=plots.seed_note([len(v) for v in bleu.values()])
        + "; legend: BLEU-4 over all test sentences",
    )
    for ax, attention in zip(axes, attentions):
        series = {}
        for cell in cells:
            points = {}
            for r in results:
                t = r.trial
                if r.status == "FINISHED" and (t["cell"], t["attention"]) == (cell, attention):
                    for bucket, value in r.extras["by_length"].items():
                        points.setdefault(int(bucket.split("_")[0]), []).append(value)
            if points:
                overall = plots.interval_text(bleu[(cell, attention)], digits=1, signed=False)
                series[f"{plain(cell)}: {overall}"] = points
        plots.interval_lines(ax, series)
        plots.ticks_at(ax, list(edges), labels)
        ax.set(xlabel="source length (words)")
    axes[0].set_ylabel("test BLEU-4 (greedy)")
    return plots.finish(fig, axes)
