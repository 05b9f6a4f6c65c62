"""The long-range tasks' figures: test loss over the memoryless baseline against T.

What `LongRangeExperiment` (`rnnexp.recipes.long_range`: adding, copy_memory,
tanh_vs_relu) draws for its answer and its summary; `exp` brings the arms the
finding compares (`winners`, `loser`) and how the baseline is named.
"""

import dataclasses

import numpy as np

from rnnexp.names import plain
from rnnexp.report import plots
from rnnexp.results import group_metric

__all__ = ["ratio_figure", "ratio_plots"]


def ratio_figure(exp, cfg, results):
    """Test loss / baseline against T, one line per architecture (geometric mean over
    seeds, log scale), with the finding's thresholds; for copy also the recall accuracy."""
    ratios = group_metric(results, "loss_ratio", ("arch", "length"))
    recalled = [r for r in results if "copy_accuracy" in r.metrics]
    recall = group_metric(recalled, "copy_accuracy", ("arch", "length"))
    longest = max((t for _, t in ratios), default=None)
    counts = [len(v) for v in ratios.values()]
    panels = ["test loss / memoryless baseline (lower: remembers)"]
    if recall:
        panels.append("accuracy on the recalled symbols")
    fig, axes = plots.answer_panels(
        panels,
        title=f"{exp.name}: does the best of {' / '.join(plain(a) for a in exp.winners)} "
        f"remember across T steps while {plain(exp.loser)} stays near the baseline?",
        note=plots.seed_note(counts, geometric=True),
        sharey=False,
    )
    series = {}
    for arch in cfg.sweep.archs:
        points = {t: v for (a, t), v in ratios.items() if a == arch}
        if points:
            at_longest = 10 ** np.mean(np.log10(np.maximum(points.get(longest, [np.nan]), 1e-30)))
            series[f"{plain(arch)}: {at_longest:.2g} at T={longest}"] = points
    plots.interval_lines(axes[0], series, geometric=True, logy=True)
    plots.reference_line(axes[0], 1.0, exp.baseline_label)
    f = cfg.finding
    plots.reference_line(
        axes[0],
        f.solved_ratio,
        f"solved below {f.solved_ratio:g}",
        color="tab:green",
        linestyle=":",
    )
    if f.stuck_ratio is not None:
        plots.reference_line(
            axes[0], f.stuck_ratio, f"stuck above {f.stuck_ratio:g}", color="tab:red", linestyle=":"
        )
    axes[0].set(xlabel="sequence length T", ylabel="test loss / baseline")
    if recall:
        series = {
            plain(a): {t: v for (b, t), v in recall.items() if b == a}
            for a in cfg.sweep.archs
            if any(b == a for b, _ in recall)
        }
        plots.interval_lines(axes[1], series)
        plots.reference_line(axes[1], 1 / cfg.data.symbols, "chance")
        axes[1].set(xlabel="sequence length T", ylabel="recall accuracy")
    return plots.finish(fig, axes)


def ratio_plots(exp, cfg, results, out_dir):
    """Test loss / baseline against T, and the mean learning curves at the longest T."""
    paths = [plots.save(ratio_figure(exp, cfg, results), out_dir / "loss_ratio_by_length.png")]
    finished = [r for r in results if r.status == "FINISHED"]
    if finished:
        longest = max(r.trial["length"] for r in finished)
        at_longest = [
            dataclasses.replace(
                r, extras={"test_loss": np.asarray(r.extras["test_loss"]) / r.metrics["baseline"]}
            )
            for r in finished
            if r.trial["length"] == longest and "test_loss" in r.extras
        ]
        paths += plots.mean_curves_figure(
            at_longest,
            "test_loss",
            lambda t: plain(t["arch"]),
            out_dir / "learning_curves.png",
            title=f"{exp.name}: learning curves at T={longest}",
            xlabel="epoch",
            ylabel="test loss / baseline",
            logy=True,
            hline=1.0,
            hline_label=exp.baseline_label,
        )
    return paths
