"""timeseries: many-to-one forecasting of a real series against a naive baseline.

Study note 004's one-to-one/many-to-one use in "stock market predictions": read
the last `window` values, predict the next one. The series is the yearly
mean sunspot number 1700-2008 that statsmodels ships
(`statsmodels.api.datasets.sunspots`; real observations, 309 values, the
~11-year solar cycle with irregular amplitude). The split is chronological:
the first 70% of the years are for training, the last 30% (1916-2008) test.
The latest 15% of the training years (1884-1915) are held out for
validation: training stops when their loss has not improved for
`train_patience` epochs and keeps the best epoch's weights, so `epochs` is a
ceiling, not a setting to tune on the test years, which the model never
sees until the final forecast. Values are scaled by the mean and standard
deviation of the years it fits. Each test forecast sees only the `window`
true values before it (one step ahead).

Baselines on the same test years: naive persistence (next year = this year),
the classic bar a forecaster must beat, and the seasonal naive forecast
(the value 11 years earlier).

    python -m rnnexp run timeseries
    python -m rnnexp run timeseries --profile ci --check

Measured results, and what each profile costs: `docs/experiments/timeseries.md` (generated).
Early stopping ends the trials well before either profile's epoch ceiling.

Expected result (asserted by `--check`): the best recurrent model's test
MAE is at most `finding.max_mae_vs_naive` x the naive MAE, and every
model's is below the naive MAE.
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp.report import plots
from rnnexp.catalog import Check, Finding, TrialResult, group_mean, group_metric, register
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import ConfigError, Positive, check
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.names import plain
from rnnexp.recipes.supervised import CellSweep, Split, SupervisedExperiment, grid
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class SeriesData:
    series: Literal["sunspots"] = "sunspots"
    window: Positive = 20  # years of history per forecast
    test_fraction: float = 0.3
    val_fraction: float = 0.15  # of the training years, the latest ones
    season: Positive = 11  # the seasonal-naive lag (the solar cycle)

    def __post_init__(self):
        check(0 < self.test_fraction < 0.6, "data.test_fraction", self.test_fraction, "(0, 0.6)")
        check(0 < self.val_fraction < 0.5, "data.val_fraction", self.val_fraction, "(0, 0.5)")


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    max_mae_vs_naive: float = 0.85  # best model's MAE / naive MAE


@dataclasses.dataclass(frozen=True)
class TimeseriesConfig:
    seed: int = 0
    data: SeriesData = SeriesData()
    model: StackConfig = StackConfig(units=32)
    train: TrainConfig = TrainConfig(epochs=150, batch_size=16, learning_rate=1e-3)
    train_patience: Positive = 20  # epochs without a better validation loss before stopping
    sweep: CellSweep = CellSweep(seeds=2)
    finding: FindingThresholds = FindingThresholds()


@dataclasses.dataclass
class Series:
    years: np.ndarray
    values: np.ndarray
    split: int  # index of the first test year
    val_start: int  # index of the first validation year
    label: str


def load_series(cfg: SeriesData) -> Series:
    try:
        from statsmodels.api import datasets
    except ImportError as err:
        raise ConfigError(
            f"timeseries needs statsmodels ({err}); pip install statsmodels"
        ) from None
    frame = datasets.sunspots.load_pandas().data
    values = frame["SUNACTIVITY"].to_numpy(dtype="float64")
    years = frame["YEAR"].to_numpy(dtype="int64")
    split = int(round(len(values) * (1 - cfg.test_fraction)))
    val_start = split - int(round(split * cfg.val_fraction))
    if val_start <= cfg.window + cfg.season:
        raise ConfigError(f"data.window {cfg.window} leaves no training windows")
    return Series(years, values, split, val_start, "statsmodels sunspots (yearly, 1700-2008)")


def make_windows(values, window, targets):
    """Inputs `(n, window, 1)` of the values before each target index."""
    x = np.stack([values[t - window : t] for t in targets])[..., None]
    return x.astype("float32"), values[targets].astype("float32")


def mae(a, b) -> float:
    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))


@register
class Timeseries(SupervisedExperiment):
    name = "timeseries"
    loss = "mse"
    metric = "mae_vs_naive"
    higher_is_better = False
    description = "sunspots (statsmodels) one-step forecasts: RNNs vs the naive last value"
    shows = (
        "many-to-one one-step forecasts of the yearly sunspot numbers statsmodels ships "
        "(1700–2008, test 1916–2008) vs naive persistence; early stopping on the years 1884–1915, "
        "never on the test years"
    )
    config = TimeseriesConfig()
    profiles = {"ci": {"train.epochs": 100}, "full": {"sweep.seeds": 5, "train.epochs": 300}}

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, cell=cfg.sweep.cells)

    def data_source(self, cfg, data=None):
        return cfg.data.series

    def prepare(self, cfg):
        return load_series(cfg.data)

    def split(self, cfg, trial, ctx):
        s = ctx.data
        mean, std = s.values[: s.val_start].mean(), s.values[: s.val_start].std()
        scaled = (s.values - mean) / std
        train_t = np.arange(cfg.data.window, s.val_start)
        val_t = np.arange(s.val_start, s.split)
        test_t = np.arange(s.split, len(s.values))
        x_tr, y_tr = make_windows(scaled, cfg.data.window, train_t)
        x_va, y_va = make_windows(scaled, cfg.data.window, val_t)
        x_te, _ = make_windows(scaled, cfg.data.window, test_t)
        ctx.reporter.set_tags({"data.description": s.label})
        extras = {"mean": mean, "std": std, "test_t": test_t}
        return Split(x_tr, y_tr[:, None], x_va, y_va[:, None], x_te, extras=extras)

    def build(self, cfg, trial, split):
        import keras

        return build_sequence_model(
            cfg.model, trial["cell"], (cfg.data.window, 1), keras.layers.Dense(1)
        )

    def fit_callbacks(self, cfg):
        import keras

        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=cfg.train_patience, restore_best_weights=True
        )
        return [stop]

    def score(self, cfg, trial, fitted, split, ctx):
        import keras

        s, (stop,) = ctx.data, fitted.callbacks
        mean, std, test_t = split.extras["mean"], split.extras["std"], split.extras["test_t"]
        # One direct call: 93 windows fit one batch, and `predict` would trace a
        # new function per trial (TF warns about retracing after five).
        raw = fitted.model(split.x_test, training=False)
        forecast = keras.ops.convert_to_numpy(raw)[:, 0] * std + mean
        truth = s.values[test_t]
        naive = mae(truth, s.values[test_t - 1])
        seasonal = mae(truth, s.values[test_t - cfg.data.season])
        model_mae = mae(truth, forecast)
        return TrialResult(
            trial,
            metrics={
                "test_mae": model_mae,
                "naive_mae": naive,
                "seasonal_naive_mae": seasonal,
                "mae_vs_naive": model_mae / naive,
                "test_rmse": float(np.sqrt(np.mean((truth - forecast) ** 2))),
                "best_epoch": stop.best_epoch + 1,
                "best_val_loss": float(stop.best),
            },
            extras={"years": s.years[test_t].tolist(), "forecast": forecast.tolist()},
        )

    def answer_figure(self, cfg, results):
        """MAE relative to the naive forecast by cell | the test years' forecasts."""
        ratio = group_metric(results, "mae_vs_naive", ("cell",))
        fig, axes = plots.answer_panels(
            [
                "test MAE / naive forecast's MAE",
                "one-step-ahead forecasts, test years (seed means)",
            ],
            title="timeseries: do recurrent cells beat last year's sunspot number?",
            note=plots.seed_note([len(v) for v in ratio.values()]),
            sharey=False,
        )
        series = {
            f"{plain(c)}: {plots.interval_text(v, signed=False)}": {c: v}
            for (c,), v in ratio.items()
        }
        order = {c: i for i, c in enumerate(cfg.sweep.cells)}
        plots.interval_lines(axes[0], series, positions=order, dodge=False)
        plots.reference_line(axes[0], 1.0, "naive forecast (last year)")
        plots.reference_line(
            axes[0],
            cfg.finding.max_mae_vs_naive,
            f"asserted: best cell below {cfg.finding.max_mae_vs_naive:g}",
            color="tab:green",
            linestyle=":",
        )
        axes[0].set(xlabel="cell", ylabel="MAE / naive MAE (lower is better)")
        finished = [r for r in results if r.status == "FINISHED"]
        if finished:
            s = load_series(cfg.data)
            test_t = np.arange(s.split, len(s.values))
            years = s.years[test_t]
            ax = axes[1]
            ax.plot(years, s.values[test_t], color="black", linewidth=1.6, label="observed")
            ax.plot(years, s.values[test_t - 1], color="grey", linestyle="--", label="naive")
            groups = {
                f"{plain(c)} (mean of seeds)": [
                    r.extras["forecast"] for r in finished if r.trial["cell"] == c
                ]
                for c in cfg.sweep.cells
                if any(r.trial["cell"] == c for r in finished)
            }
            plots.mean_curves(ax, groups, x=years, dodge=False, bands=False)
            ax.set(xlabel="year", ylabel="sunspot number")
        return plots.finish(fig, axes)

    def summarize(self, cfg, results, out_dir):
        if not any(r.status == "FINISHED" for r in results):
            return []
        return [plots.save(self.answer_figure(cfg, results), out_dir / "forecasts.png")]

    def finding(self, cfg, results):
        f = cfg.finding
        ratio = group_mean(results, "mae_vs_naive", "cell")
        if missing := Finding.require(ratio):
            return missing
        done = next(r for r in results if r.status == "FINISHED")
        naive, seasonal = done.metrics["naive_mae"], done.metrics["seasonal_naive_mae"]
        best, worst = min(ratio, key=ratio.get), max(ratio, key=ratio.get)
        checks = [
            Check("best cell MAE/naive", ratio[best], "<=", f.max_mae_vs_naive),
            # every cell beats persistence (a tie at exactly 1.0 counts as beaten)
            Check("worst cell MAE/naive", ratio[worst], "<=", 1.0),
        ]
        detail = (
            f"best {best}, worst {worst}; test MAE: naive {naive:.1f}, "
            f"seasonal naive {seasonal:.1f}, "
            + ", ".join(f"{c} {r * naive:.1f}" for c, r in sorted(ratio.items()))
        )
        return Finding.from_checks(detail, checks, {f"ratio_{c}": r for c, r in ratio.items()})

    def finding_cases(self):
        return FindingCases(
            passing=lambda cfg: synthetic_results([0.63, 0.53, 0.63]),
            failing=lambda cfg: synthetic_results([1.05, 0.5, 0.6]),  # the SimpleRNN > naive
            at_margin=(lambda cfg: synthetic_results([1.0, cfg.finding.max_mae_vs_naive, 1.0]),),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(ratios):
    """Two seeds each of the SimpleRNN, GRU and LSTM at MAE `ratios` x the naive forecast's."""
    metrics = {"naive_mae": 23.4, "seasonal_naive_mae": 24.8}
    return [
        finished({**metrics, "mae_vs_naive": r}, cell=c, seed=k)
        for c, r in zip(("rnn", "gru", "lstm"), ratios)
        for k in range(2)
    ]
