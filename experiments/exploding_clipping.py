"""exploding_clipping: exploding gradients and gradient clipping (study note 000; Pascanu 2013).

Study note 000: "when we initialize the weights of the network to a very large
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

Measured results, and what each profile costs: `docs/experiments/exploding_clipping.md` (generated).

Expected result (asserted by `--check`), pooled over the sweep's seeds,
because whether a draw explodes is a property of the seed: at least
`finding.min_diverged` of the unclipped trials fail with a non-finite loss;
every global-norm-clipped trial finishes, with the geometric mean over seeds
of its peak pre-clip gradient at least `finding.min_explosion` times the
threshold, and their median test MSE at most `finding.global_median_max` x
the 0.167 baseline (a sanity bound: surviving is the claim, not learning the
task in a few epochs of SGD). `FindingThresholds` says which measured spread
each threshold comes from.

At a gain of 2 the gradient norm overflows float32 on the first step; no
clipping can rescale an infinite norm, and every variant fails.
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp.report import plots
from rnnexp.catalog import Check, Experiment, Finding, TrialResult, register
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import Positive, check
from rnnexp.data.long_range import ADDING_BASELINE_MSE, adding_problem
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.names import plain
from rnnexp.recipes.supervised import grid
from rnnexp.training import set_seed

Clip = Literal["none", "per_tensor", "global"]


CLIP_NAMES = {
    "none": "no clipping",
    "per_tensor": "per-tensor clipping",
    "global": "global-norm clipping",
}


PEAK = "peak_grad_norm_pre_clip"  # what a robustness record keeps of the per-step norms


def _peak(extras: dict) -> float | None:
    """A trial's largest finite gradient norm before clipping (a diverged one's too), from
    its per-step norms or, in a robustness record, the peak kept of them; None if none."""
    if PEAK in extras:
        return extras[PEAK]
    norms = np.asarray(extras.get("grad_norm_pre_clip", []), dtype="float64")
    norms = norms[np.isfinite(norms)]
    return float(norms.max()) if len(norms) else None


def _peaks(results) -> list[float]:
    """Each trial's `_peak`, for trials that have one."""
    return [p for p in (_peak(r.extras) for r in results) if p is not None]


@dataclasses.dataclass(frozen=True)
class ExplodingData:
    length: Positive = 50
    train_size: Positive = 4000
    test_size: Positive = 500


@dataclasses.dataclass(frozen=True)
class ExplodingModel:
    units: Positive = 32
    activation: Literal["relu", "tanh"] = "relu"
    recurrent_gain: float = 1.5  # orthogonal recurrent init scaled by this

    def __post_init__(self):
        check(self.units > 0, "model.units", self.units, "a positive integer")
        check(self.recurrent_gain > 0, "model.recurrent_gain", self.recurrent_gain, "> 0")


@dataclasses.dataclass(frozen=True)
class ClipTrain:
    epochs: Positive = 5
    batch_size: Positive = 32
    learning_rate: float = 0.01  # SGD, momentum 0.9
    clip_value: float = 1.0

    def __post_init__(self):
        check(self.learning_rate > 0, "train.learning_rate", self.learning_rate, "> 0")
        check(self.clip_value > 0, "train.clip_value", self.clip_value, "> 0")


@dataclasses.dataclass(frozen=True)
class Sweep:
    clips: tuple[Clip, ...] = ("none", "per_tensor", "global")
    # Whether a draw explodes depends on the seed: the finding pools the seeds, not one draw.
    seeds: Positive = 12


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    # a 36-seed sweep falls below it with probability 0.07% (beta-binomial fitted per sweep)
    min_diverged: float = 0.3  # fraction of unclipped trials that end in NaN/inf
    # a 36-seed sweep's mean log10 peak falls below 2 with probability 0.001% (t, 132 trials)
    min_explosion: float = 100.0  # geometric mean of peak pre-clip norm / clip value, global
    # a sanity bound: 99.9% of 12-seed resampled medians stay below 1.10; margin 0.4
    global_median_max: float = 1.5  # median test MSE / the variance baseline, global clipping


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
    description = (
        "large recurrent init explodes gradients: most unclipped runs diverge; with global-norm "
        "clipping every run finishes"
    )
    shows = (
        "ReLU SimpleRNN, recurrent init scaled up, SGD: no clipping vs per-tensor `clipnorm` vs "
        "global-norm clipping (Pascanu et al. 2013); pre/post-clip norm logged every step"
    )
    config = ExplodingConfig()
    # ci: the two arms its checks compare, one epoch (every unclipped divergence recorded came
    # by step 19 of 125), 36 seeds so each pooled check fails a fresh sweep < 0.1% of the time
    profiles = {
        "ci": {"train.epochs": 1, "sweep.seeds": 36, "sweep.clips": ["none", "global"]},
        "full": {"sweep.seeds": 20, "train.epochs": 10},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, clip=cfg.sweep.clips)

    def run_trial(self, cfg, trial, ctx):
        import keras

        from rnnexp.gradients import train_with_clipping

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

    def record_extras(self, extras):
        """The answer figure reads only each trial's peak of its 3 x steps per-step series."""
        peak = _peak(extras)
        return {} if peak is None else {PEAK: peak}

    def answer_figure(self, cfg, results):
        """Per clipping setting: the share of trials that trained to the end | the peak
        gradient norm relative to the clip value (log)."""
        by_clip = {c: [r for r in results if r.trial["clip"] == c] for c in cfg.sweep.clips}
        by_clip = {c: rs for c, rs in by_clip.items() if rs}
        # a share of seeds is a count, not a seed mean: drawn without an interval
        finished = {c: sum(r.status == "FINISHED" for r in rs) for c, rs in by_clip.items()}
        peaks = {
            c: {c: [p / cfg.train.clip_value for p in _peaks(rs)]} for c, rs in by_clip.items()
        }
        fig, axes = plots.answer_panels(
            ["trials that trained to the end", "peak gradient norm / clip value"],
            title=f"exploding_clipping: ReLU SimpleRNN, recurrent gain "
            f"{cfg.model.recurrent_gain}: does clipping stop the explosion?",
            note="peaks: " + plots.seed_note([len(rs) for rs in by_clip.values()], geometric=True),
            sharey=False,
        )
        order = {c: i for i, c in enumerate(by_clip)}
        names = [CLIP_NAMES.get(c, plain(c)) for c in by_clip]
        series = {
            f"{CLIP_NAMES.get(c, plain(c))}: {k} of {len(by_clip[c])} seeds": {
                c: [k / len(by_clip[c])]
            }
            for c, k in finished.items()
        }
        plots.interval_lines(axes[0], series, positions=order, dodge=False)
        plots.ticks_at(axes[0], list(order.values()), names)
        axes[0].set(xlabel="gradient clipping", ylabel="fraction of seeds", ylim=(-0.05, 1.05))
        series = {CLIP_NAMES.get(c, plain(c)): v for c, v in peaks.items() if v[c]}
        plots.interval_lines(
            axes[1], series, positions=order, geometric=True, logy=True, dodge=False
        )
        plots.ticks_at(axes[1], list(order.values()), names)
        plots.reference_line(axes[1], 1.0, "the clip value")
        axes[1].set(xlabel="gradient clipping", ylabel="peak norm before clipping / clip value")
        return plots.finish(fig, axes)

    def summarize(self, cfg, results, out_dir):
        paths = []
        for key, label in (
            ("grad_norm_pre_clip", "global gradient norm before clipping"),
            ("loss", "training loss (per step)"),
        ):
            groups = {}
            for clip in cfg.sweep.clips:
                trials = [r for r in results if r.trial["clip"] == clip and r.extras.get(key)]
                failed = sum(r.status == "FAILED" for r in trials)
                name = f"{CLIP_NAMES.get(clip, plain(clip))}: {len(trials)} seeds"
                name += f", {failed} diverged" if failed else ""
                curves = []
                for r in trials:
                    values = np.asarray(r.extras[key], dtype="float64")
                    values[~np.isfinite(values)] = np.nan  # a gap where it overflowed
                    curves.append((np.arange(1, len(values) + 1), values))
                if curves:
                    groups[name] = curves
            fig = plots.traces_by_group(
                groups,
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
        if missing := Finding.require(by_clip, ("none", "global"), "trials at clip"):
            return missing
        unclipped, clipped = by_clip["none"], by_clip["global"]
        diverged = [
            r for r in unclipped if r.status == "FAILED" and r.error.startswith("NonFiniteLoss")
        ]
        survived = [r for r in clipped if r.status == "FINISHED"]
        diverged_fraction = len(diverged) / len(unclipped)
        finished_fraction = len(survived) / len(clipped)
        checks = [
            Check("fraction of unclipped trials diverged", diverged_fraction, ">=", f.min_diverged),
            # every one: clipping is the difference between diverging and finishing
            Check("fraction of global-clipped trials finished", finished_fraction, ">=", 1.0),
        ]
        numbers = {"diverged_none": len(diverged), "finished_global": len(survived)}
        if survived:
            peaks = [r.metrics["max_grad_norm_pre_clip"] / cfg.train.clip_value for r in survived]
            # one draw can explode 10x, the next 1e14x: pool the seeds on a log scale
            explosion = float(10 ** np.mean(np.log10(np.maximum(peaks, 1e-30))))
            ratios = [r.metrics["test_loss_ratio"] for r in survived]
            median, worst = float(np.median(ratios)), max(ratios)
            checks += [
                Check(
                    "geometric mean over seeds of peak gradient / clip value, global clipping",
                    explosion,
                    ">=",
                    f.min_explosion,
                    log=True,
                ),
                Check("median global-clipped MSE/baseline", median, "<=", f.global_median_max),
            ]
            numbers |= {
                "global_explosion_geomean": explosion,
                "global_explosion_min": min(peaks),
                "global_median_ratio": median,
                "global_worst_ratio": worst,
            }
        steps = ", ".join(f"seed {r.trial['seed']}: {len(r.extras['loss'])}" for r in diverged)
        per_tensor = [
            r.metrics["test_loss_ratio"] for r in by_clip.get("per_tensor", []) if r.metrics
        ]
        detail = (
            f"{len(diverged)}/{len(unclipped)} unclipped diverged at step ({steps}); "
            f"{len(survived)}/{len(clipped)} global-clipped finished"
        )
        if survived:
            detail += (
                f", peak gradient {min(peaks):.3g}x to {max(peaks):.3g}x the clip value, "
                f"MSE/baseline up to {worst:.3g}"
            )
        if per_tensor:
            detail += f"; per-tensor MSE/baseline {', '.join(f'{v:.3f}' for v in per_tensor)}"
        return Finding.from_checks(detail, checks, numbers)

    def finding_cases(self):
        return FindingCases(
            passing=lambda cfg: synthetic_results(3, 2, [1e2, 1e4, 1e6]),
            failing=lambda cfg: synthetic_results(10, 2, [1e2, 1e4, 1e6]),  # 2 of 10 diverged
            # 3 of 10 diverged; peaks 10x and 1000x: geometric mean 100x
            at_margin=(
                lambda cfg: synthetic_results(10, 3, [10.0, 1000.0], cfg.finding.global_median_max),
            ),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(n_none, n_diverged, peaks, ratio=0.9, global_failures=0):
    """`n_none` unclipped trials, the first `n_diverged` diverged at step 2; a finished
    global-clipped trial per peak pre-clip gradient, at MSE `ratio` x the baseline."""
    diverged = [
        TrialResult(
            {"clip": "none", "seed": k},
            status="FAILED",
            error="NonFiniteLoss: loss nan at step 2",
            extras={"loss": [1.0, float("nan")]},
        )
        for k in range(n_diverged)
    ]
    tame = [
        finished({"test_loss_ratio": 1.0, "max_grad_norm_pre_clip": 5.0}, clip="none", seed=k)
        for k in range(n_diverged, n_none)
    ]
    clipped = [
        finished({"test_loss_ratio": ratio, "max_grad_norm_pre_clip": peak}, clip="global", seed=k)
        for k, peak in enumerate(peaks)
    ]
    failed = [
        TrialResult({"clip": "global", "seed": 99}, status="FAILED", error="NonFiniteLoss: x")
        for _ in range(global_failures)
    ]
    return diverged + tame + clipped + failed
