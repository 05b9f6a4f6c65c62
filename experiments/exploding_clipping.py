"""exploding_clipping: exploding gradients and gradient clipping (seed 000; Pascanu et al. 2013).

Seed 000: "when we initialize the weights of the network to a very large
number, the gradients will become very large at every step [...] We can use
gradient clipping." Here a ReLU SimpleRNN starts with an orthogonal
recurrent matrix scaled by `model.recurrent_gain` > 1, so every step of
backpropagation through time can multiply the gradient by up to that gain:
over T = 50 steps the first gradients are astronomically large. It trains on
the adding problem with SGD + momentum three ways:

- `none`: the raw gradient. The first updates throw the weights so far that
  the loss overflows; the step's loss/gradient turns NaN/inf and the trial
  stops there, FAILED with `NonFiniteLoss` and the step number (the sweep
  goes on).
- `per_tensor`: every gradient tensor rescaled to norm <= `train.clip_value`
  (what Keras's `clipnorm` does). The direction of the whole update changes.
- `global`: all gradients rescaled together when their global norm exceeds
  `train.clip_value` (`clip_by_global_norm`, Pascanu et al.): same direction,
  bounded step.

Every step's global gradient norm before and after clipping is logged
(`grad_norm_pre_clip`, `grad_norm_post_clip`), with the loss.

Data: generated (the adding problem, `rnnexp.data.long_range`).

    python -m rnnexp run exploding_clipping
    python -m rnnexp run exploding_clipping --profile ci --check

Runtime on a 2-core CPU: `ci` and `default` ~0.5 min each (measured).

Expected result (asserted by `--check`): at least `finding.min_diverged` of
the unclipped trials fail with a non-finite loss (whether the first steps
explode depends on the draw: 6 of 8 seeds at gain 1.5 did); every
global-norm-clipped trial finishes, having clipped gradients at least
`finding.min_explosion` times the threshold, with a finite test MSE at most
`finding.global_max_ratio` x the 0.167 baseline (a sanity bound: surviving
is the claim, not learning the task in 4 epochs of SGD; observed 0.6-2.1).

At a gain of 2 the gradient norm overflows float32 on the first step; no
clipping can rescale an infinite norm, and every variant fails.
"""

import dataclasses
from typing import Literal

import keras
import numpy as np

from rnnexp import plots
from rnnexp.catalog import Experiment, Finding, TrialResult, register
from rnnexp.config import check
from rnnexp.data.long_range import ADDING_BASELINE_MSE, adding_problem
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.training import set_seed, train_with_clipping

Clip = Literal["none", "per_tensor", "global"]


@dataclasses.dataclass(frozen=True)
class ExplodingData:
    length: int = 50
    train_size: int = 4000
    test_size: int = 500


@dataclasses.dataclass(frozen=True)
class ExplodingModel:
    units: int = 32
    activation: Literal["relu", "tanh"] = "relu"
    recurrent_gain: float = 1.5  # orthogonal recurrent init scaled by this

    def __post_init__(self):
        check(self.units > 0, "model.units", self.units, "a positive integer")
        check(self.recurrent_gain > 0, "model.recurrent_gain", self.recurrent_gain, "> 0")


@dataclasses.dataclass(frozen=True)
class ClipTrain:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.01  # SGD, momentum 0.9
    clip_value: float = 1.0

    def __post_init__(self):
        check(self.epochs >= 1, "train.epochs", self.epochs, "an integer >= 1")
        check(self.learning_rate > 0, "train.learning_rate", self.learning_rate, "> 0")
        check(self.clip_value > 0, "train.clip_value", self.clip_value, "> 0")


@dataclasses.dataclass(frozen=True)
class Sweep:
    clips: tuple[Clip, ...] = ("none", "per_tensor", "global")
    seeds: int = 3


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    min_diverged: float = 0.5  # fraction of unclipped trials that end in NaN/inf
    min_explosion: float = 100.0  # largest pre-clip norm / clip_value under global clipping
    # A sanity bound, not a claim that 4 epochs of SGD learn the task: a
    # clipped model stays in the range of the baseline (observed 0.6-2.1).
    global_max_ratio: float = 3.0  # test MSE / 0.167 with global clipping


@dataclasses.dataclass(frozen=True)
class ExplodingConfig:
    seed: int = 0
    data: ExplodingData = ExplodingData()
    model: ExplodingModel = ExplodingModel()
    train: ClipTrain = ClipTrain()
    sweep: Sweep = Sweep()
    finding: FindingThresholds = FindingThresholds()


@register
class ExplodingClipping(Experiment):
    name = "exploding_clipping"
    metric = "test_loss_ratio"
    higher_is_better = False
    expects_failed_trials = True  # the unclipped trials are meant to diverge
    description = "large recurrent init explodes gradients: none vs per-tensor vs global clipping"
    config = ExplodingConfig()
    profiles = {"ci": {"train.epochs": 4}, "full": {"sweep.seeds": 5, "train.epochs": 10}}

    def trials(self, cfg):
        return [
            {"clip": c, "seed": cfg.seed + k}
            for k in range(cfg.sweep.seeds)
            for c in cfg.sweep.clips
        ]

    def run_trial(self, cfg, trial, ctx):
        seed = trial["seed"]
        rng = np.random.default_rng(seed)
        x, y = adding_problem(cfg.data.train_size, cfg.data.length, rng)
        x_te, y_te = adding_problem(cfg.data.test_size, cfg.data.length, rng)
        set_seed(seed)
        model = build_sequence_model(
            StackConfig(units=cfg.model.units),
            "rnn",
            (cfg.data.length, 2),
            keras.layers.Dense(1, name="head"),
            layer_kwargs={
                "activation": cfg.model.activation,
                "recurrent_initializer": keras.initializers.Orthogonal(
                    gain=cfg.model.recurrent_gain, seed=seed
                ),
            },
        )
        loss_fn = keras.losses.MeanSquaredError()
        history = train_with_clipping(
            model,
            loss_fn,
            keras.optimizers.SGD(cfg.train.learning_rate, momentum=0.9),
            x,
            y,
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            clip=trial["clip"],
            clip_value=cfg.train.clip_value,
            reporter=ctx.reporter,
            label=ctx.label,
            seed=seed,
        )
        test_loss = float(loss_fn(y_te, model.predict(x_te, verbose=0, batch_size=500)))
        pre = np.asarray(history["grad_norm_pre_clip"])
        metrics = {
            "test_loss": test_loss,
            "test_loss_ratio": test_loss / ADDING_BASELINE_MSE,
            "max_grad_norm_pre_clip": float(pre.max()),
            "clipped_fraction": float((pre > cfg.train.clip_value).mean()),
            "steps": len(pre),
        }
        if not np.isfinite(test_loss):  # trained through, yet the model is broken
            raise ValueError(f"test loss is {test_loss} after training")
        return TrialResult(trial, metrics=metrics, extras=history)

    def summarize(self, cfg, results, out_dir):
        paths = []
        for key, label in (
            ("grad_norm_pre_clip", "global gradient norm before clipping"),
            ("loss", "training loss (per step)"),
        ):
            series = {}
            for r in results:
                values = np.asarray(r.extras.get(key, []), dtype="float64")
                if len(values):
                    name = f"{r.trial['clip']} seed {r.trial['seed']}"
                    name += " (FAILED)" if r.status == "FAILED" else ""
                    values[~np.isfinite(values)] = np.nan  # a gap where it overflowed
                    series[name] = (np.arange(1, len(values) + 1), values, None)
            fig = plots.lines_with_spread(
                series,
                xlabel="step",
                ylabel=label,
                title=f"exploding_clipping: {label} (gain {cfg.model.recurrent_gain})",
                logy=True,
                hline=cfg.train.clip_value if key == "grad_norm_pre_clip" else ADDING_BASELINE_MSE,
                hline_label="clip value" if key == "grad_norm_pre_clip" else "baseline 0.167",
            )
            paths.append(plots.save(fig, out_dir / f"{key}.png"))
        return paths

    def finding(self, cfg, results):
        f = cfg.finding
        by_clip = {}
        for r in results:
            by_clip.setdefault(r.trial["clip"], []).append(r)
        unclipped, clipped = by_clip.get("none", []), by_clip.get("global", [])
        if not unclipped or not clipped:
            return Finding(False, "need trials with clip=none and clip=global", {})
        diverged = [
            r for r in unclipped if r.status == "FAILED" and r.error.startswith("NonFiniteLoss")
        ]
        survived = [r for r in clipped if r.status == "FINISHED"]
        checks = {
            f"unclipped trials diverged: {len(diverged)}/{len(unclipped)} "
            f">= {f.min_diverged:.0%}": len(diverged) >= f.min_diverged * len(unclipped),
            f"global-clipped trials finished: {len(survived)}/{len(clipped)}": len(survived)
            == len(clipped),
        }
        numbers = {"diverged_none": len(diverged), "finished_global": len(survived)}
        if survived:
            explosion = min(r.metrics["max_grad_norm_pre_clip"] for r in survived)
            explosion /= cfg.train.clip_value
            worst = max(r.metrics["test_loss_ratio"] for r in survived)
            checks[f"smallest clipped explosion {explosion:.3g}x >= {f.min_explosion:g}x"] = (
                explosion >= f.min_explosion
            )
            checks[f"worst global MSE/baseline {worst:.3f} <= {f.global_max_ratio}"] = (
                worst <= f.global_max_ratio
            )
            numbers |= {"global_explosion": explosion, "global_worst_ratio": worst}
        steps = ", ".join(f"seed {r.trial['seed']}: {len(r.extras['loss'])}" for r in diverged)
        per_tensor = [
            r.metrics["test_loss_ratio"] for r in by_clip.get("per_tensor", []) if r.metrics
        ]
        detail = f"unclipped diverged at step ({steps})"
        if per_tensor:
            detail += f"; per-tensor MSE/baseline {', '.join(f'{v:.3f}' for v in per_tensor)}"
        return Finding.from_checks(detail, checks, numbers)
