"""What a cell-by-variant study shows: test accuracy per stack shape, one line per cell.

The trials of such a study (`sentiment`) carry `cell`, `variant` (a stack shape of
`presets.STACKS`: direction and depth, `uni1` ... `bi2`) and `test_accuracy`, and
`extras["synthetic"]` when they ran on the generated stand-in. These helpers draw and
tabulate them; none of them trains.
"""

from rnnexp.results import group_metric
from rnnexp.names import plain, plain_label
from rnnexp.presets import STACKS
from rnnexp.report import plots
from rnnexp.report.paired import gains_by_seed
from rnnexp.report.stats import mean_interval

__all__ = [
    "ARMS",
    "accuracy_detail",
    "accuracy_figure",
    "accuracy_intervals",
    "data_name",
    "lead",
    "number_names",
    "on_stand_in",
    "summary_files",
]

ARMS = ("cell", "variant")


def on_stand_in(results) -> bool:
    """Whether the finished trials ran on the generated stand-in, not real reviews."""
    return any(r.extras.get("synthetic") for r in results if r.status == "FINISHED")


def data_name(results) -> str:
    return "synthetic stand-in" if on_stand_in(results) else "real IMDB"


def accuracy_intervals(results) -> dict:
    """`{(cell, variant): Interval}` of test accuracy over the finished seeds."""
    grouped = group_metric(results, "test_accuracy", ARMS)
    return {k: mean_interval(v) for k, v in grouped.items()}


def accuracy_detail(results, table) -> tuple[dict, str]:
    """`(numbers, detail)`: each arm's mean test accuracy (`{cell}_{variant}`) and, from 2
    seeds on, its interval's half-width (`_half`), and their sentence, data first; `table`
    as `accuracy_intervals` returns it."""
    numbers = {f"{c}_{v}": i.mean for (c, v), i in table.items()}
    numbers.update({f"{c}_{v}_half": i.half for (c, v), i in table.items() if i.n > 1})
    arms = ", ".join(f"{c}-{v} {i}" for (c, v), i in sorted(table.items()))
    return numbers, f"{data_name(results)}: {arms}"


def lead(results, cell, variant) -> list[float]:
    """Per seed: `cell`'s test accuracy minus the SimpleRNN's, in `variant`."""
    gains = gains_by_seed(results, "test_accuracy", "cell", "rnn", cell, variant=variant)
    return list(gains.values())


def number_names(cells, variants) -> dict[str, str]:
    """The finding's numbers as its page says them; the records keep the keys."""
    names = {}
    for c in cells:
        for v in variants:
            arm = plain_label(f"{c}-{v}")
            names[f"{c}_{v}"] = f"{arm} test accuracy, mean of a sweep's seeds"
            names[f"{c}_{v}_half"] = f"{arm} test accuracy, half-width of its 95% interval"
            names[f"{c}_minus_rnn_{v}"] = f"{plain(c)} - SimpleRNN test accuracy, {plain_label(v)}"
        names[f"{c}_bi1_minus_uni1"] = (
            f"{plain(c)}: bidirectional - unidirectional 1-layer test accuracy, "
            "mean of a sweep's seeds"
        )
    return names


def _question(cells) -> str:
    """What the figure asks, of the cells the sweep ran (often the LSTM alone)."""
    if "rnn" not in cells:  # no SimpleRNN to compare the gated cells with
        return f"does reading both ways help the {' and the '.join(map(plain, cells))}?"
    return "do gated cells beat the SimpleRNN, and does reading both ways help?"


def accuracy_figure(name, results, cells, reference: tuple[float, str]):
    """Test accuracy by variant, one line per cell of `cells`; each gated cell's lead over
    the SimpleRNN (per seed, in the same variant) in its legend; `reference` a
    `(accuracy, label)` line."""
    acc = group_metric(results, "test_accuracy", ARMS)
    fig, axes = plots.answer_panels(
        ["test accuracy by variant"],
        title=f"{name} ({data_name(results)}): {_question(cells)}",
        note=plots.seed_note([len(v) for v in acc.values()])
        + ("; lead = gated minus SimpleRNN, same variant and seed" if "rnn" in cells else ""),
        width=6.5,
    )
    series = {}
    for cell in cells:
        points = {v: values for (c, v), values in acc.items() if c == cell}
        if not points:
            continue
        label = plain(cell)
        if cell != "rnn" and any(c == "rnn" for c, _ in acc):
            leads = ", ".join(
                f"{plain(v)} {plots.interval_text(lead(results, cell, v))}"
                for v in STACKS
                if v in points and ("rnn", v) in acc
            )
            label += f": lead {leads}"
        series[label] = points
    plots.interval_lines(axes[0], series, positions={v: i for i, v in enumerate(STACKS)})
    plots.reference_line(axes[0], *reference)
    axes[0].set(xlabel="layers and direction", ylabel="test accuracy")
    return plots.finish(fig, axes)


def summary_files(name, results, cells, reference, out_dir) -> list:
    """The sweep's files: the intervals table (always), the accuracy figure (when a trial
    finished) and the mean validation accuracy per epoch."""
    table = accuracy_intervals(results)
    lines = [
        "| cell | variant | test accuracy (mean ± 95% interval) | seeds |",
        "|---|---|---|---|",
    ]
    lines += [f"| {c} | {v} | {i} | {i.n} |" for (c, v), i in sorted(table.items())]
    summary = out_dir / "accuracy_intervals.md"
    summary.write_text("\n".join(lines) + "\n")
    paths = [summary]
    if table:
        figure = accuracy_figure(name, results, cells, reference)
        paths.append(plots.save(figure, out_dir / "accuracy_by_variant.png"))
    return paths + plots.mean_curves_figure(
        results,
        "val_accuracy",
        lambda t: plots.group_label(t["cell"], t["variant"]),
        out_dir / "val_accuracy_by_epoch.png",
        title=f"{name}: validation accuracy per epoch (carved from train)",
        xlabel="epoch",
        ylabel="validation accuracy",
    )
