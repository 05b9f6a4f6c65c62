"""tagging: many-to-many tagging where a token's tag depends on the next token.

Study notes 000/002/004: bidirectional RNNs read the sequence both ways, which is
what tagging tasks such as part-of-speech need -- a word's tag often depends on
the words after it. This task makes that dependence exact: the tag of token t
is the class of the token after it, `x_{t+1} mod classes` (class 0 after the
last token). A left-to-right RNN cannot know `x_{t+1}` when it must emit tag
t, so it is stuck near `1 / classes`; a bidirectional one can be exact.

Data: generated; uniform random tokens, a fresh draw per seed, held-out
test sequences. `pos_tagging` makes the same comparison on real sentences
(the Turkish Web Treebank, installed offline); this stand-in stays because
it shows what real text cannot: a tag that needs exactly the next token, so
the left-to-right tagger is held at chance by design, not by the corpus.

    python -m rnnexp run tagging
    python -m rnnexp run tagging --profile ci --check

Measured results, and what each profile costs: `docs/experiments/tagging.md` (generated).

Expected result (asserted by `--check`): for every cell, the bidirectional
tagger's per-token test accuracy beats the unidirectional one's by at least
`finding.min_gain`, and the unidirectional one stays below
`finding.uni_max_accuracy` (chance is 1/classes).
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp.report import plots
from rnnexp.report.paired import gains_by_seed
from rnnexp.catalog import Check, Finding, TrialResult, group_mean, group_metric, register
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import Positive, check
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.names import plain
from rnnexp.recipes.supervised import CELLS, Cell, Split, SupervisedExperiment, grid
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class TaggingData:
    vocab: Positive = 10  # token ids 1..vocab (0 = beyond the ends)
    classes: Positive = 5
    length: Positive = 20
    train_size: Positive = 5000
    test_size: Positive = 1000

    def __post_init__(self):
        check(self.classes >= 2, "data.classes", self.classes, "an integer >= 2")
        check(self.length >= 3, "data.length", self.length, "an integer >= 3")


@dataclasses.dataclass(frozen=True)
class Sweep:
    cells: tuple[Cell, ...] = CELLS
    directions: tuple[Literal["uni", "bi"], ...] = ("uni", "bi")
    seeds: Positive = 1


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    min_gain: float = 0.3  # bi - uni per-token accuracy, every cell
    uni_max_accuracy: float = 0.45  # chance is 1/classes = 0.2


@dataclasses.dataclass(frozen=True)
class TaggingConfig:
    seed: int = 0
    data: TaggingData = TaggingData()
    model: StackConfig = StackConfig(units=32)
    train: TrainConfig = TrainConfig(epochs=15, learning_rate=3e-3)
    sweep: Sweep = Sweep()
    finding: FindingThresholds = FindingThresholds()


def _direction_gains(results, cell) -> list[float]:
    """Per seed: the cell's bidirectional accuracy minus its left-to-right one."""
    gains = gains_by_seed(results, "test_accuracy", "direction", "uni", "bi", cell=cell)
    return list(gains.values())


def _per_position(results) -> dict:
    return plots.curves_by(
        results, "per_position", lambda t: plots.group_label(t["cell"], t["direction"])
    )


def _position_ticks(length: int) -> list[int]:
    step = max(1, length // 10)
    return sorted({1, *range(step, length + 1, step), length})


def make_tagging(n, cfg: TaggingData, rng):
    """Tokens `(n, T)` and tags `(n, T)`: tag_t = x_{t+1} mod classes (0 at the end)."""
    x = rng.integers(1, cfg.vocab + 1, size=(n, cfg.length))
    y = np.pad(x[:, 1:], ((0, 0), (0, 1))) % cfg.classes
    return x.astype("int32"), y.astype("int32")


@register
class Tagging(SupervisedExperiment):
    name = "tagging"
    metric = "test_accuracy"
    metrics = ("accuracy",)
    description = (
        "many-to-many tagging that needs exactly the next token: bidirectional beats "
        "left-to-right (real sentences: pos_tagging)"
    )
    shows = (
        "many-to-many tagging where a tag depends on the next token (study notes 000/002/004): "
        "bidirectional vs left-to-right. `pos_tagging` makes the same comparison on real "
        "sentences; this stand-in stays because it controls what real text cannot: each tag "
        "needs exactly the next token, so a left-to-right tagger is at chance on it by design"
    )
    config = TaggingConfig()
    profiles = {
        "ci": {"sweep.cells": ("rnn", "lstm"), "data.train_size": 3000, "train.epochs": 12},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, cell=cfg.sweep.cells, direction=cfg.sweep.directions)

    def split(self, cfg, trial, ctx):
        rng = np.random.default_rng(trial["seed"])
        x_tr, y_tr = make_tagging(cfg.data.train_size, cfg.data, rng)
        x_te, y_te = make_tagging(cfg.data.test_size, cfg.data, rng)
        one_hot = np.eye(cfg.data.vocab + 1, dtype="float32")  # token -> one-hot input
        return Split(one_hot[x_tr], y_tr, one_hot[x_te], y_te)  # validates on the test set

    def build(self, cfg, trial, split):
        import keras

        stack = dataclasses.replace(cfg.model, bidirectional=trial["direction"] == "bi")
        return build_sequence_model(
            stack,
            trial["cell"],
            (cfg.data.length, cfg.data.vocab + 1),
            keras.layers.Dense(cfg.data.classes, activation="softmax"),
            return_sequences=True,
        )

    def score(self, cfg, trial, fitted, split, ctx):
        model = fitted.model
        loss, acc = model.evaluate(split.x_val, split.y_val, verbose=0, batch_size=256)
        per_position = (np.argmax(model.predict(split.x_val, verbose=0), -1) == split.y_val).mean(0)
        return TrialResult(
            trial,
            metrics={
                "test_accuracy": float(acc),
                "test_loss": float(loss),
                "params": int(model.count_params()),
            },
            extras={"per_position": per_position},
        )

    def answer_figure(self, cfg, results):
        """Accuracy left-to-right vs bidirectional per cell (each cell's gain in its
        legend) | accuracy at each position, sharing y."""
        acc = group_metric(results, "test_accuracy", ("cell", "direction"))
        fig, axes = plots.answer_panels(
            ["test accuracy by direction", "accuracy at each position t"],
            title="tagging: a tag that depends on the next token needs a bidirectional RNN",
            note=plots.seed_note([len(v) for v in acc.values()])
            + "; gain = bidirectional minus left-to-right",
        )
        series = {}
        for cell in cfg.sweep.cells:
            points = {d: v for (c, d), v in acc.items() if c == cell}
            if points:
                gain = plots.interval_text(_direction_gains(results, cell))
                series[f"{plain(cell)}: gain {gain}"] = points
        order = {d: i for i, d in enumerate(cfg.sweep.directions)}
        plots.interval_lines(axes[0], series, positions=order)
        plots.reference_line(axes[0], 1 / cfg.data.classes, "chance")
        axes[0].set(xlabel="direction", ylabel="per-token test accuracy")
        plots.mean_curves(axes[1], _per_position(results))
        plots.reference_line(axes[1], 1 / cfg.data.classes, "chance")
        plots.ticks_at(axes[1], _position_ticks(cfg.data.length))
        axes[1].set(xlabel="position t (its tag is the class of token t+1)")
        plots.finish(fig, axes)
        return fig

    def summarize(self, cfg, results, out_dir):
        return plots.mean_curves_figure(
            results,
            "per_position",
            lambda t: plots.group_label(t["cell"], t["direction"]),
            out_dir / "accuracy_per_position.png",
            title="tagging: accuracy per position",
            xlabel="position t",
            ylabel="tag accuracy",
            hline=1 / cfg.data.classes,
            hline_label="chance",
        )

    def finding(self, cfg, results):
        f = cfg.finding
        acc = group_mean(results, "test_accuracy", "cell", "direction")
        needed = [(c, d) for c in cfg.sweep.cells for d in ("uni", "bi")]
        if missing := Finding.require(acc, needed):
            return missing
        cells = sorted({c for c, _ in acc})
        gains = {c: acc[(c, "bi")] - acc[(c, "uni")] for c in cells}
        worst_gain = min(gains.values())
        best_uni = max(acc[(c, "uni")] for c in cells)
        checks = [
            Check("smallest bi - uni accuracy gain", worst_gain, ">=", f.min_gain),
            Check("best unidirectional accuracy", best_uni, "<=", f.uni_max_accuracy),
        ]
        detail = ", ".join(f"{c}: uni {acc[(c, 'uni')]:.3f} bi {acc[(c, 'bi')]:.3f}" for c in cells)
        return Finding.from_checks(detail, checks, {f"gain_{c}": g for c, g in gains.items()})

    def finding_cases(self):
        def at_margin(cfg):
            uni = cfg.finding.uni_max_accuracy
            return synthetic_results(uni, uni + cfg.finding.min_gain)

        return FindingCases(
            passing=lambda cfg: synthetic_results(0.23, 1.0),
            failing=lambda cfg: synthetic_results(0.25, 0.5),
            at_margin=(at_margin,),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(uni, bi, cells=("rnn", "lstm")):
    """Every cell at accuracy `uni` left-to-right and `bi` bidirectional."""
    return [finished({"test_accuracy": uni}, cell=c, direction="uni") for c in cells] + [
        finished({"test_accuracy": bi}, cell=c, direction="bi") for c in cells
    ]
