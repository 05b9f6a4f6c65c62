"""Train our recurrent layers on the long-range benchmarks (adding, copy).

Shared by the `adding`, `copy_memory`, `tanh_vs_relu` and `gradient_flow`
experiments: one place that knows how a task's inputs look, which head and
loss it needs, and what the memoryless baseline scores. `TaskExperiment`
gives `SupervisedExperiment.run_trial` its hooks for one arch on one task;
`LongRangeExperiment` adds the arch x T sweep and its finding.

Architectures (`arch`, presets of `rnnexp.presets`): the three cells with
their usual activations, plus two SimpleRNN variants from Le et al. (2015):
`rnn_relu` (ReLU with the default orthogonal recurrent init) and `irnn` (ReLU
with an identity recurrent matrix and zero bias).
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp import presets
from rnnexp.finding import Check, Finding
from rnnexp.results import TrialResult, group_metric
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import Positive, check
from rnnexp.data.long_range import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_baseline_xent,
    copy_memory,
)
from rnnexp.models import build_sequence_model
from rnnexp.presets import ARCHS, Arch
from rnnexp.recipes.supervised import Split, SupervisedExperiment
from rnnexp.report.loss_ratio import ratio_figure, ratio_plots

__all__ = [
    "ARCHS",
    "Arch",
    "LengthSweep",
    "LongRangeExperiment",
    "FindingThresholds",
    "TaskConfig",
    "TaskExperiment",
    "arch_layer",
    "long_range_trials",
    "ratio_at_longest",
]


def arch_layer(arch: str) -> tuple[str, dict]:
    """`(cell, layer_kwargs)` of an architecture preset, e.g. `irnn` (see `rnnexp.presets`)."""
    preset = presets.get(arch)
    return preset.cell, preset.kwargs()


@dataclasses.dataclass(frozen=True)
class LengthSweep:
    """Trials: every arch at every length T, `seeds` times."""

    archs: tuple[Arch, ...] = ("rnn", "gru", "lstm")
    lengths: tuple[int, ...] = (50, 100, 200)
    seeds: Positive = 1

    def __post_init__(self):
        check(min(self.lengths) >= 2, "sweep.lengths", self.lengths, "integers >= 2")


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    """Test loss / baseline at the longest T: the best winner below `solved_ratio`,
    the loser above `stuck_ratio` (None: reported, not asserted), and the
    loser's loss at least `min_loser_factor` times the best winner's (None:
    not asserted)."""

    solved_ratio: float = 0.1
    stuck_ratio: float | None = 0.5
    min_loser_factor: float | None = None


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """A long-range task. `copy` counts its length as the delay (T + 2 * to_copy steps)."""

    name: Literal["adding", "copy"] = "adding"
    train_size: Positive = 10000
    test_size: Positive = 1000
    symbols: Positive = 8  # copy only
    to_copy: Positive = 10  # copy only

    def __post_init__(self):
        check(self.train_size >= 64, "data.train_size", self.train_size, "an integer >= 64")
        check(self.test_size >= 10, "data.test_size", self.test_size, "an integer >= 10")
        check(self.symbols >= 2, "data.symbols", self.symbols, "an integer >= 2")

    def make(self, n: int, length: int, rng):
        """Float inputs `(n, steps, features)` and targets for the model."""
        if self.name == "adding":
            return adding_problem(n, length, rng)
        x, y = copy_memory(n, length, rng, symbols=self.symbols, to_copy=self.to_copy)
        return np.eye(self.symbols + 2, dtype="float32")[x], y

    def draw(self, length: int, seed: int) -> tuple[tuple, tuple]:
        """`(train, test)`: `(x, y)` pairs of `train_size` and `test_size` sequences,
        both from one generator seeded with `seed`, train first."""
        rng = np.random.default_rng(seed)
        train = self.make(self.train_size, length, rng)
        return train, self.make(self.test_size, length, rng)

    def baseline(self, length: int) -> float:
        """The paper baseline: what a model without memory scores (lower is better)."""
        if self.name == "adding":
            return ADDING_BASELINE_MSE
        return copy_baseline_xent(length, self.symbols, self.to_copy)

    @property
    def loss(self) -> str:
        return "mse" if self.name == "adding" else "sparse_categorical_crossentropy"

    def head(self):
        import keras

        if self.name == "adding":
            return keras.layers.Dense(1, name="head")
        return keras.layers.Dense(self.symbols + 1, activation="softmax", name="head")


def long_range_trials(sweep, seed: int = 0):
    """Trials arch x length x seed (`sweep.archs`, `.lengths`, `.seeds`): the
    absolute seeds `seed`, `seed + 1`, ..."""
    return [
        {"arch": a, "length": t, "seed": seed + k}
        for k in range(sweep.seeds)
        for t in sweep.lengths
        for a in sweep.archs
    ]


def ratio_at_longest(results):
    """`(longest T, {arch: geometric mean over seeds of loss_ratio at that T})`.

    Geometric: a solved seed reads 5e-4 and a diverged one 1e33, so an arithmetic mean is
    the worst seed's value.
    """
    ratios = group_metric(results, "loss_ratio", ("arch", "length"))
    if not ratios:
        return None, {}
    longest = max(t for _, t in ratios)
    return longest, {
        a: float(10 ** np.mean(np.log10(np.maximum(v, 1e-30))))
        for (a, t), v in ratios.items()
        if t == longest
    }


class TaskExperiment(SupervisedExperiment):
    """A trial trains `trial["arch"]` on the long-range task `cfg.data` (a `TaskConfig`).

    The hooks of `SupervisedExperiment.run_trial`: `split` draws the task's
    train and test sets from the trial's seed (`fit` validates on the test
    set, so the per-epoch `val_loss` is the test loss); `build` makes
    `Input -> DeepRNN(cfg.model) -> the task's head`; `compile` uses
    `cfg.train.adam(steps)` (a schedule gets the training's steps) and the
    task's loss; `score` gives `test_metrics` and the test loss per epoch.
    A subclass whose trials carry no `length` overrides `length`.
    """

    def length(self, cfg, trial: dict) -> int:
        """The task's T for `trial`."""
        return trial["length"]

    def split(self, cfg, trial, ctx):
        (x_train, y_train), (x_test, y_test) = cfg.data.draw(self.length(cfg, trial), trial["seed"])
        return Split(x_train, y_train, x_test, y_test, x_test, y_test)

    def build(self, cfg, trial, split):
        arch, task = trial["arch"], cfg.data
        cell, kwargs = arch_layer(arch)
        return build_sequence_model(
            cfg.model,
            cell,
            (None, split.x_train.shape[-1]),
            task.head(),
            return_sequences=task.name == "copy",
            layer_kwargs=kwargs,
            name=f"{arch}_{task.name}",
        )

    def compile(self, cfg, model):
        steps = -(-cfg.data.train_size // cfg.train.batch_size) * cfg.train.epochs
        model.compile(optimizer=cfg.train.adam(steps), loss=cfg.data.loss)

    def test_metrics(self, cfg, trial, model, split) -> dict:
        """The trained `model` on the test set, against the task's baseline.

        Returns:
            `test_loss`, `baseline`, `loss_ratio` (test loss / baseline: well
            below 1 means the model remembers), `params` and, for copy,
            `copy_accuracy` over the recalled symbols (chance: 1 / symbols).
        """
        task, x_te, y_te = cfg.data, split.x_test, split.y_test
        test_loss = float(model.evaluate(x_te, y_te, verbose=0, batch_size=500))
        baseline = task.baseline(self.length(cfg, trial))
        metrics = {
            "test_loss": test_loss,
            "baseline": baseline,
            "loss_ratio": test_loss / baseline,
            "params": int(model.count_params()),
        }
        if task.name == "copy":
            predicted = np.argmax(model.predict(x_te, verbose=0, batch_size=500), -1)
            recalled = slice(-task.to_copy, None)
            metrics["copy_accuracy"] = float((predicted[:, recalled] == y_te[:, recalled]).mean())
        return metrics

    def score(self, cfg, trial, fitted, split, ctx):
        metrics = self.test_metrics(cfg, trial, fitted.model, split)
        curve = [float(v) for v in fitted.history.history["val_loss"]]
        return TrialResult(trial, metrics=metrics, extras={"test_loss": curve})


class LongRangeExperiment(TaskExperiment):
    """An arch x T sweep on one long-range task, scored against its baseline.

    Subclasses set `config` (with `data: TaskConfig`, `model`, `train`,
    `sweep` (`archs`, `lengths`, `seeds`) and `finding` (`solved_ratio`,
    `stuck_ratio`)), `profiles`, and:

    Attributes:
        winners: archs of which the best must get below `solved_ratio`.
        loser: the arch that must stay above `stuck_ratio`, and/or
            `min_loser_factor` times the best winner's loss.
        baseline_label: how plots name the baseline.
    """

    metric = "loss_ratio"
    higher_is_better = False
    winners: tuple[str, ...] = ("gru", "lstm")
    loser: str = "rnn"
    baseline_label: str = "baseline"

    def trials(self, cfg):
        return long_range_trials(cfg.sweep, cfg.seed)

    def answer_figure(self, cfg, results):
        return ratio_figure(self, cfg, results)

    def summarize(self, cfg, results, out_dir):
        return ratio_plots(self, cfg, results, out_dir)

    def finding(self, cfg, results):
        f = cfg.finding
        longest, ratio = ratio_at_longest(results)
        winners = {a: r for a, r in ratio.items() if a in self.winners}
        if not winners or self.loser not in ratio:
            return Finding(
                False, f"need {self.loser} and one of {self.winners} at T={longest}: {ratio}", {}
            )
        best = min(winners, key=winners.get)
        # log: a solved run reads 5e-4, a diverged one 1e33 -- margins in decades
        checks = [
            Check(
                f"best of {'/'.join(self.winners)} loss/baseline",
                winners[best],
                "<=",
                f.solved_ratio,
                log=True,
            ),
        ]
        if f.stuck_ratio is not None:
            checks.append(
                Check(
                    f"{self.loser} loss/baseline", ratio[self.loser], ">=", f.stuck_ratio, log=True
                )
            )
        if f.min_loser_factor is not None:
            checks.append(
                Check(
                    f"{self.loser} loss / best of {'/'.join(self.winners)} loss",
                    ratio[self.loser] / winners[best],
                    ">=",
                    f.min_loser_factor,
                    log=True,
                )
            )
        # .3g, not .3f: a solved run reads 0.00045 (not 0.000), a diverged one 1.21e+33
        detail = f"T={longest}, best {best}, loss/baseline: " + ", ".join(
            f"{a} {r:.3g}" for a, r in sorted(ratio.items())
        )
        if cfg.data.name == "copy":
            recall = group_metric(results, "copy_accuracy", ("arch", "length"))
            detail += "; recall accuracy: " + ", ".join(
                f"{a} {np.mean(v):.2f}" for (a, t), v in sorted(recall.items()) if t == longest
            )
        return Finding.from_checks(detail, checks, {f"ratio_{a}": r for a, r in ratio.items()})

    def finding_cases(self):
        def build(winner_divisor, loser):
            def results(cfg):
                f = cfg.finding
                won = f.solved_ratio / winner_divisor
                lost = {"stuck": 1.0, "on its threshold": loser_at_margin(f, won)}
                lost["learned it"] = lost["on its threshold"] * 0.99
                return synthetic_results(self, won, lost[loser])

            return results

        return FindingCases(
            passing=build(10, "stuck"),
            failing=build(10, "learned it"),
            at_margin=(build(1, "on its threshold"),),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(exp, winner_ratio, loser_ratio, length=100):
    """The loser at `loser_ratio`; the winners from `winner_ratio` up, the first the best."""
    results = [finished({"loss_ratio": loser_ratio}, arch=exp.loser, length=length)]
    for k, arch in enumerate(exp.winners):
        results.append(finished({"loss_ratio": winner_ratio * (1 + k)}, arch=arch, length=length))
    if exp.name == "copy_memory":
        for r in results:
            r.metrics["copy_accuracy"] = 0.5
    return results


def loser_at_margin(f, winner):
    """The loser's loss/baseline that sits exactly on its threshold, given the winner's."""
    return f.stuck_ratio if f.stuck_ratio is not None else winner * f.min_loser_factor
