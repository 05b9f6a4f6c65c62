"""gradient_flow: ||dL/dh_t|| vs t -- the vanishing-gradient picture (study notes 000/001/003/004).

Backpropagation through time multiplies the gradient by one Jacobian
dh_{t+1}/dh_t per step. For a tanh SimpleRNN those Jacobians shrink it, so the
loss at step T barely reaches the early hidden states: ||dL/dh_t|| decays
geometrically as t moves away from T (Bengio et al. 1994; Pascanu et al.
2013). The LSTM's additive cell state and the GRU's update gate keep a path
along which it does not. ReLU with an orthogonal recurrent matrix sits in
between.

Each trial builds one model for the adding problem (T steps, many-to-one),
unrolls its cell step by step under a gradient tape and records
`||dL/dh_t||` (mean over held-out sequences) for every t, once at
initialization and once after training. The ratio
`||dL/dh_1|| / ||dL/dh_T||` summarizes each curve: 1 means the first step is
heard as well as the last, 1e-6 means it is not heard at all.

Data: generated (the adding problem, `rnnexp.data.long_range`).

    python -m rnnexp run gradient_flow
    python -m rnnexp run gradient_flow --profile ci --check

Measured results, and what each profile costs: `docs/experiments/gradient_flow.md` (generated).

Expected result (asserted by `--check`): at initialization the gradient
vanishes for the gated cells too (ratio below `finding.gated_init_max`: a
GRU update gate near 0.5 and an LSTM forget gate near sigmoid(1) = 0.73
shrink it at every step; the tanh SimpleRNN's orthogonal matrix keeps
more of it). Training opens a path only where the task gets learned: the best
gated cell ends above `finding.gated_trained_min`, the tanh SimpleRNN --
which stays on the baseline and saturates -- below
`finding.rnn_trained_max`.
"""

import dataclasses

import numpy as np

from rnnexp.report import plots
from rnnexp.catalog import Check, Experiment, Finding, TrialResult, register
from rnnexp.recipes.long_range import Arch, TaskConfig, fit_and_score, prepare_run
from rnnexp.models import StackConfig
from rnnexp.names import plain
from rnnexp.recipes.supervised import grid
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class Sweep:
    archs: tuple[Arch, ...] = ("rnn", "rnn_relu", "gru", "lstm")
    seeds: int = 1


@dataclasses.dataclass(frozen=True)
class Probe:
    length: int = 100  # T of the adding problem
    examples: int = 256  # held-out sequences the norms are averaged over


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    # ||dL/dh_1|| / ||dL/dh_T|| (geometric mean over seeds)
    gated_init_max: float = 1e-3  # GRU and LSTM at initialization
    rnn_trained_max: float = 1e-3  # the tanh SimpleRNN after training
    gated_trained_min: float = 0.1  # the best gated cell after training


@dataclasses.dataclass(frozen=True)
class GradientFlowConfig:
    seed: int = 0
    data: TaskConfig = TaskConfig(name="adding", train_size=5000, test_size=500)
    model: StackConfig = StackConfig(units=32)
    train: TrainConfig = TrainConfig(epochs=15, learning_rate=3e-3)
    probe: Probe = Probe()
    sweep: Sweep = Sweep()
    finding: FindingThresholds = FindingThresholds()


def _norm_curves(results, phase) -> dict[str, list]:
    """`{arch: [||dL/dh_t|| / ||dL/dh_T|| of each finished trial]}` at `phase`."""
    curves = {}
    for r in results:
        if r.status == "FINISHED" and phase in r.extras:
            norms = np.asarray(r.extras[phase], dtype="float64")
            curves.setdefault(r.trial["arch"], []).append(norms / norms[-1])
    return curves


def first_to_last(norms) -> float:
    return float(norms[0] / max(norms[-1], 1e-30))


@register
class GradientFlow(Experiment):
    name = "gradient_flow"
    metric = "ratio_trained"
    description = "‖∂L/∂h_t‖ vs t, at init and trained: BPTT opens a path only where it learns"
    headline = "best gated ratio after training"
    shows = (
        "‖∂L/∂h_t‖ vs t, read by unrolling our cells under a tape, at initialization and after "
        "training on the adding problem (T=100; study notes 000/001/003/004)"
    )
    config = GradientFlowConfig()
    profiles = {"ci": {"train.epochs": 12}, "full": {"sweep.seeds": 3, "probe.length": 200}}

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, arch=cfg.sweep.archs)

    def run_trial(self, cfg, trial, ctx):
        import keras

        from rnnexp.gradients import hidden_state_gradient_norms

        length = cfg.probe.length
        run = prepare_run(cfg.data, cfg.model, cfg.train, trial["arch"], length, trial["seed"])
        x_probe, y_probe = (a[: cfg.probe.examples] for a in run.test)
        loss_fn = keras.losses.MeanSquaredError()
        at_init = hidden_state_gradient_norms(run.model, x_probe, y_probe, loss_fn)
        metrics, _ = fit_and_score(cfg.data, run, cfg.train, length, ctx)
        trained = hidden_state_gradient_norms(run.model, x_probe, y_probe, loss_fn)
        metrics |= {
            "ratio_init": first_to_last(at_init),
            "ratio_trained": first_to_last(trained),
        }
        return TrialResult(
            trial, metrics=metrics, extras={"init": at_init.tolist(), "trained": trained.tolist()}
        )

    def answer_figure(self, cfg, results):
        """At initialisation | after training, sharing y: ||dL/dh_t|| / ||dL/dh_T|| along
        the chain per architecture, each line's first-to-last ratio in its legend."""
        phases = {"init": "at initialisation", "trained": "after training"}
        curves = {phase: _norm_curves(results, phase) for phase in phases}
        seeds = [len(v) for groups in curves.values() for v in groups.values()]
        fig, axes = plots.answer_panels(
            list(phases.values()),
            title=f"gradient_flow: how much gradient reaches step 1 of {cfg.probe.length} "
            "(adding problem)?",
            note=plots.seed_note(seeds, geometric=True) + "; legend: ||dL/dh_1|| / ||dL/dh_T||",
        )
        for ax, phase in zip(axes, phases):
            groups = {}
            for arch, norms in curves[phase].items():
                first = [n[0] for n in norms]
                ratio = 10 ** np.mean(np.log10(np.maximum(first, 1e-45)))
                groups[f"{plain(arch)}: {ratio:.2g}"] = norms
            plots.mean_curves(ax, groups, logy=True)
            ax.set(xlabel="step t (T = the read-out)")
        axes[0].set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
        return plots.finish(fig, axes)

    def summarize(self, cfg, results, out_dir):
        fig = self.answer_figure(cfg, results)
        return [plots.save(fig, out_dir / "grad_norms.png")]

    def finding(self, cfg, results):
        f = cfg.finding

        def geo_mean(arch, key):
            values = [
                np.log10(max(r.metrics[key], 1e-45))
                for r in results
                if r.status == "FINISHED" and r.trial["arch"] == arch
            ]
            return 10 ** float(np.mean(values)) if values else None

        ratios = {
            f"{a}_{k}": geo_mean(a, f"ratio_{k}")
            for a in cfg.sweep.archs
            for k in ("init", "trained")
            if geo_mean(a, f"ratio_{k}") is not None
        }
        gated = {a: ratios[f"{a}_trained"] for a in ("gru", "lstm") if f"{a}_trained" in ratios}
        if "rnn_trained" not in ratios or not gated:
            return Finding(False, "need the tanh rnn and a gated cell among finished trials", {})
        best = max(gated, key=gated.get)
        gated_init = max(ratios[f"{a}_init"] for a in gated)
        # the ratios span 1e-21 to 1: margins in decades
        checks = [
            Check("largest gated ratio at init", gated_init, "<=", f.gated_init_max, log=True),
            Check(
                "tanh rnn ratio after training",
                ratios["rnn_trained"],
                "<=",
                f.rnn_trained_max,
                log=True,
            ),
            Check(
                "best gated ratio after training",
                gated[best],
                ">=",
                f.gated_trained_min,
                log=True,
            ),
        ]
        solved = [
            f"{r.trial['arch']}: loss/baseline {r.metrics['loss_ratio']:.2f}"
            for r in results
            if r.status == "FINISHED"
        ]
        detail = (
            "||dL/dh_1||/||dL/dh_T||: "
            + ", ".join(f"{k} {v:.2g}" for k, v in ratios.items())
            + f" (best gated: {best}; {'; '.join(solved)})"
        )
        return Finding.from_checks(detail, checks, ratios)
