"""Recipes: the machinery experiments share, so an experiment file holds only what is its own.

- `Cell`, `CELLS`: the three recurrent cells, one spelling for every config.
- `CellSweep`: the sweep most experiments run, every cell at `seeds` seeds.
- `grid`: the trial dicts of a sweep: every combination of its axes, per seed.
- `SupervisedExperiment`: seed, build, compile, fit and score one Keras model
  per trial; a subclass gives its data split, its model and its scores.

Like the experiments, importing this module imports no framework: Keras and
the training loop load inside `run_trial`.
"""

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any, Literal

from rnnexp.catalog import Experiment
from rnnexp.config import Positive
from rnnexp.results import TrialResult

__all__ = ["CELLS", "Cell", "CellSweep", "Fitted", "Split", "SupervisedExperiment", "grid"]

Cell = Literal["rnn", "gru", "lstm"]
CELLS: tuple[Cell, ...] = ("rnn", "gru", "lstm")


@dataclasses.dataclass(frozen=True)
class CellSweep:
    """Trials: every cell, at seeds `seed`, `seed + 1`, ... (`seeds` of them)."""

    cells: tuple[Cell, ...] = CELLS
    seeds: Positive = 1


def grid(seed: int, seeds: int, where: Callable[[dict], bool] | None = None, **axes) -> list[dict]:
    """Every combination of `axes`, once per seed: `[{axis: value, ..., "seed": s}, ...]`.

    Seeds are the outer loop (`seed`, `seed + 1`, ...); within a seed the axes
    vary in the order given, the last fastest, so `grid(0, 1, cell=("rnn",
    "gru"), direction=("uni", "bi"))` plans rnn-uni, rnn-bi, gru-uni, gru-bi.

    Args:
        where: keep only the combinations for which it is true (e.g.
            residual connections only at depth >= 2).
    """
    names = list(axes)
    combos = [dict(zip(names, values)) for values in itertools.product(*axes.values())]
    kept = [c for c in combos if where is None or where(c)]
    return [{**combo, "seed": seed + k} for k in range(seeds) for combo in kept]


@dataclasses.dataclass
class Split:
    """One trial's arrays: what trains, what `fit` validates on, what is scored."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any = None
    y_test: Any = None
    extras: dict = dataclasses.field(default_factory=dict)  # what else `score` needs


@dataclasses.dataclass
class Fitted:
    """A trained model with `fit`'s history, the callbacks it ran and what `probe` read."""

    model: Any
    history: Any
    callbacks: list
    probe_init: Any = None  # `probe` on the untrained model (None: nothing probed)
    probe_trained: Any = None  # `probe` on the trained model, where it read the untrained one


class SupervisedExperiment(Experiment):
    """A trial trains one Keras model on arrays: seed, build, compile, fit, score.

    `run_trial` makes the trial's `split` (data comes from the trial's own
    generator, so it does not depend on the model's seeding), then seeds Python,
    NumPy and the backend with `trial["seed"]`, builds and compiles the model
    (`cfg.train.adam()`, `loss`, `metrics`) and fits it for `cfg.train.epochs`
    epochs of `cfg.train.batch_size`, validating on `split.x_val`, reporting
    every epoch. A subclass gives:

    - `split(cfg, trial, ctx) -> Split`
    - `build(cfg, trial, split) -> keras.Model` (not compiled)
    - `score(cfg, trial, fitted, split, ctx) -> TrialResult`

    and may set `loss` and `metrics`, or override `compile(cfg, model)`,
    `fit_callbacks(cfg)`, `before_fit(cfg, trial, model, split, ctx)` (e.g. what
    to log about the untrained model) and `probe(cfg, trial, model, split)` (a
    measurement taken before and after `fit`, e.g. input gradients per step).
    """

    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ()

    def split(self, cfg, trial: dict, ctx) -> Split:
        raise NotImplementedError

    def build(self, cfg, trial: dict, split: Split):
        raise NotImplementedError

    def score(self, cfg, trial: dict, fitted: Fitted, split: Split, ctx) -> TrialResult:
        raise NotImplementedError

    def compile(self, cfg, model):
        """Adam from `cfg.train` with `loss` and `metrics`; a no-op where `build` compiles."""
        model.compile(
            optimizer=cfg.train.adam(), loss=self.loss, metrics=list(self.metrics) or None
        )

    def fit_callbacks(self, cfg) -> list:
        """Extra Keras callbacks for `fit` (e.g. early stopping); none by default."""
        return []

    def before_fit(self, cfg, trial: dict, model, split: Split, ctx):
        """Called with the compiled, untrained model; nothing by default."""

    def probe(self, cfg, trial: dict, model, split: Split):
        """A measurement of the model, read at init and again after `fit`; None: no probe.

        `score` finds both in `fitted.probe_init` and `fitted.probe_trained`; a
        probe that returns None at init is not read again.
        """
        return None

    def run_trial(self, cfg, trial, ctx):
        from rnnexp.training import fit, set_seed

        split = self.split(cfg, trial, ctx)
        set_seed(trial["seed"])
        model = self.build(cfg, trial, split)
        self.compile(cfg, model)
        callbacks = self.fit_callbacks(cfg)
        self.before_fit(cfg, trial, model, split, ctx)
        probe_init = self.probe(cfg, trial, model, split)
        history = fit(
            model,
            split.x_train,
            split.y_train,
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            reporter=ctx.reporter,
            label=ctx.label,
            validation_data=(split.x_val, split.y_val),
            callbacks=callbacks,
        )
        probe_trained = None if probe_init is None else self.probe(cfg, trial, model, split)
        fitted = Fitted(model, history, callbacks, probe_init, probe_trained)
        return self.score(cfg, trial, fitted, split, ctx)
