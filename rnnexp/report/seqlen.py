"""What a sequence-length study shows: accuracy against the window kept, and gradient reach.

The trials of such a study (`imdb_seqlen`) carry `truncation` (`pre` keeps a review's end,
`post` its start), `model` and `length` (the window L), and `test_accuracy`; a recurrent
cell's trials also `grad_reach` metrics and their ‖∂L/∂x_t‖ curves (`grad_init`,
`grad_trained`). These helpers draw and tabulate them; none of them trains.
"""

import json

import numpy as np

from rnnexp.results import group_metric
from rnnexp.names import plain
from rnnexp.report import plots
from rnnexp.report.paired import gains_by_seed, weakest_by_seed
from rnnexp.report.stats import mean_interval

__all__ = [
    "accuracy_intervals_markdown",
    "accuracy_panels",
    "gains_detail",
    "gradient_reach",
    "log_gradient_curves",
    "number_names",
    "post_gains",
    "summary_files",
    "window_gains",
]

ARMS = ("truncation", "model", "length")
STEP_AXIS = "time step t (1 = farthest from the read-out)"


def window_gains(results, side, model, short, long_) -> dict[int, float]:
    """`{seed: test accuracy at long_ minus at short}` of one arm."""
    where = {"truncation": side, "model": model}
    return gains_by_seed(results, "test_accuracy", "length", short, long_, **where)


def post_gains(results, gated, short, long_) -> tuple[list[float], list[float]]:
    """With the start kept (`post`), over the seeds with both, in order: the weakest of the
    `gated` cells' gains from `short` to `long_` tokens, and the SimpleRNN's."""
    gated_gains = weakest_by_seed([window_gains(results, "post", m, short, long_) for m in gated])
    rnn_gains = window_gains(results, "post", "rnn", short, long_)
    seeds = sorted(s for s in gated_gains if s in rnn_gains)
    return [gated_gains[s] for s in seeds], [rnn_gains[s] for s in seeds]


def number_names(models) -> dict[str, str]:
    """The finding's numbers as its page says them; the records keep the keys."""
    names = {}
    for side, kept in (("pre", "end kept"), ("post", "start kept")):
        for model in models:
            arm = f"{plain(model)}, {kept}"
            names[f"gain_{side}_{model}"] = f"{arm}: accuracy gain, shortest to longest L"
            reach = f"{arm}: log10 ‖∂L/∂x_1‖ / ‖∂L/∂x_L‖ at the longest L"
            names[f"grad_reach_{side}_{model}"] = f"{reach}, after training"
            names[f"grad_reach_{side}_{model}_init"] = f"{reach}, at init"
    names["gain_gap_post"] = "start kept: weaker gated gain - SimpleRNN gain"
    return names


def gains_detail(results, sides, models, short, long_) -> tuple[dict, str]:
    """`(numbers, detail)`: each arm's mean gain from `short` to `long_` tokens and the seed
    means of its gradient reach at `long_` (`gain_*`, `grad_reach_*`), and their sentence."""
    numbers, reported = {}, []
    for side in sides:
        for model in models:
            gains = list(window_gains(results, side, model, short, long_).values())
            if gains:
                iv = mean_interval(gains)
                numbers[f"gain_{side}_{model}"] = iv.mean
                reported.append(f"{side} {plain(model)} {iv}")
    detail = f"gain L={short}->{long_} (mean ± 95% interval): " + "; ".join(reported)
    reach = gradient_reach(results, long_)
    numbers.update({f"grad_reach_{k}": v for k, v in reach.items()})
    if reach:
        detail += "; gradient reaching step 1 vs step L (log10, trained): " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(reach.items()) if not k.endswith("_init")
        )
    return numbers, detail


def accuracy_panels(name, results, sides, models, lengths):
    """Test accuracy against the window kept, one panel per truncation in `sides`
    (a shared y axis), each line a model's seed mean and t interval; its legend
    gives the model's gain from the shortest to the longest window."""
    acc = group_metric(results, "test_accuracy", ARMS)
    short, long_ = min(lengths), max(lengths)
    source = next((r.extras["data_source"] for r in results if "data_source" in r.extras), None)
    data = {None: "no data", "synthetic": plain("synthetic")}.get(source, "real IMDB")
    counts = [len(v) for v in acc.values()]
    fig, axes = plots.answer_panels(
        [plain(side) for side in sides],
        title=f"{name} ({data}): which models gain from a longer window?",
        note=plots.seed_note(counts) + f"; gain = accuracy at L={long_} minus at L={short}",
    )
    for ax, side in zip(axes, sides):
        series = {}
        for model in models:
            points = {n: v for (s, m, n), v in acc.items() if (s, m) == (side, model)}
            if points:
                gain = plots.interval_text(
                    list(window_gains(results, side, model, short, long_).values())
                )
                series[f"{plain(model)}: gain {gain}"] = points
        plots.interval_lines(ax, series, logx=True)
        plots.reference_line(ax, 0.5, "chance")
        ax.set(xlabel="tokens kept (the window L)")
    axes[0].set_ylabel("test accuracy")
    return plots.finish(fig, axes)


def accuracy_intervals_markdown(results, sides, models) -> str:
    """Markdown: mean ± 95% interval of test accuracy per truncation x model x length."""
    acc = group_metric(results, "test_accuracy", ARMS)
    if not acc:
        return ""
    lengths = sorted({n for _, _, n in acc})
    lines = [
        "| truncation | model | " + " | ".join(f"L={n}" for n in lengths) + " |",
        "|---|---|" + "---|" * len(lengths),
    ]
    for side in sides:
        for model in models:
            cells = [
                str(mean_interval(acc[(side, model, n)])) if (side, model, n) in acc else "–"
                for n in lengths
            ]
            lines.append(f"| {side} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_files(name, results, sides, models, lengths, out_dir) -> list:
    """The sweep's files: accuracy per truncation, ‖∂L/∂x_t‖ at the longest L, the table."""
    paths = []
    for side in sides:
        if any(r.status == "FINISHED" and r.trial["truncation"] == side for r in results):
            fig = accuracy_panels(name, results, (side,), models, lengths)
            paths.append(plots.save(fig, out_dir / f"accuracy_vs_length_{side}.png"))
    longest = max(lengths)
    for side in sides:
        for when in ("init", "trained"):
            paths += plots.mean_curves_figure(
                [
                    r
                    for r in results
                    if (r.trial["truncation"], r.trial["length"]) == (side, longest)
                ],
                f"grad_{when}",
                lambda t: plots.group_label(t["model"]),
                out_dir / f"grad_norm_vs_t_{side}_{when}.png",
                title=f"{name}: gradient reaching each step, L={longest}, "
                f"{plain(side)}, {'at initialisation' if when == 'init' else 'trained'}",
                xlabel=STEP_AXIS,
                ylabel="||dL/dx_t|| (validation reviews)",
                logy=True,
            )
    table = accuracy_intervals_markdown(results, sides, models)
    if table:
        (out_dir / "accuracy_intervals.md").write_text(table + "\n")
        paths.append(out_dir / "accuracy_intervals.md")
    return paths


def gradient_reach(results, length) -> dict[str, float]:
    """Seed means of `grad_reach` (and `_init`) per truncation and cell at `length`."""
    out = {}
    for key, suffix in (("grad_reach", ""), ("grad_reach_init", "_init")):
        probed = [r for r in results if key in r.metrics]  # the control has no probe
        for (side, model, n), v in group_metric(probed, key, ARMS).items():
            if n == length:
                out[f"{side}_{model}{suffix}"] = float(np.mean(v))
    return out


def log_gradient_curves(reporter, trial, grad_init, grad_trained):
    """One trial's ‖∂L/∂x_t‖ curves: `grad_norms.json` and `grad_norms.png`."""
    t = np.arange(1, len(grad_init) + 1)
    reporter.log_text(
        json.dumps({"t": t.tolist(), "init": grad_init.tolist(), "trained": grad_trained.tolist()}),
        "grad_norms.json",
    )
    fig = plots.lines_with_spread(
        {"at init": (t, grad_init, None), "trained": (t, grad_trained, None)},
        xlabel=STEP_AXIS,
        ylabel="||dL/dx_t||",
        title=f"{plain(trial['model'])}, L={trial['length']}, {plain(trial['truncation'])}: "
        "gradient reaching each step",
        logy=True,
    )
    reporter.log_figure(fig, "grad_norms.png")
    plots.close(fig)
