"""Recipes: grid order, group means, and the supervised trial's order of steps."""

import dataclasses

from rnnexp import training
from rnnexp.catalog import TrialResult, group_mean
from rnnexp.recipes.supervised import CellSweep, Split, SupervisedExperiment, grid
from rnnexp.training import TrainConfig


def test_grid_varies_the_last_axis_fastest_and_seeds_outermost():
    assert grid(5, 2, cell=("rnn", "gru"), direction=("uni", "bi")) == [
        {"cell": "rnn", "direction": "uni", "seed": 5},
        {"cell": "rnn", "direction": "bi", "seed": 5},
        {"cell": "gru", "direction": "uni", "seed": 5},
        {"cell": "gru", "direction": "bi", "seed": 5},
        {"cell": "rnn", "direction": "uni", "seed": 6},
        {"cell": "rnn", "direction": "bi", "seed": 6},
        {"cell": "gru", "direction": "uni", "seed": 6},
        {"cell": "gru", "direction": "bi", "seed": 6},
    ]


def test_grid_keeps_only_what_where_allows():
    trials = grid(0, 1, where=lambda t: t["depth"] > 1 or not t["res"], depth=(1, 2), res=(0, 1))
    assert [(t["depth"], t["res"]) for t in trials] == [(1, 0), (2, 0), (2, 1)]
    assert grid(0, 0, cell=("rnn",)) == []


def test_group_mean_keys_by_value_for_one_field_and_by_tuple_for_more():
    results = [
        TrialResult({"cell": "gru", "seed": 0, "d": 1}, metrics={"acc": 0.5}),
        TrialResult({"cell": "gru", "seed": 1, "d": 1}, metrics={"acc": 0.7}),
        TrialResult({"cell": "rnn", "seed": 0, "d": 1}, status="FAILED"),
    ]
    assert group_mean(results, "acc", "cell") == {"gru": 0.6}
    assert group_mean(results, "acc", "cell", "d") == {("gru", 1): 0.6}


@dataclasses.dataclass(frozen=True)
class _Cfg:
    seed: int = 0
    train: TrainConfig = TrainConfig(epochs=3, batch_size=8)
    sweep: CellSweep = CellSweep()


class _FakeModel:
    def __init__(self, log):
        self.log = log

    def compile(self, **kwargs):
        self.log.append(("compile", kwargs["loss"], kwargs["metrics"]))


def test_a_supervised_trial_splits_seeds_builds_compiles_fits_and_scores(monkeypatch):
    log = []
    monkeypatch.setattr(training, "set_seed", lambda seed: log.append(("seed", seed)))

    def fake_fit(model, x, y, *, epochs, batch_size, reporter, label, validation_data, callbacks):
        log.append(("fit", x, y, epochs, batch_size, validation_data, label, callbacks))
        return "history"

    monkeypatch.setattr(training, "fit", fake_fit)

    class Toy(SupervisedExperiment):
        loss = "mse"

        def split(self, cfg, trial, ctx):
            log.append(("split", trial["seed"]))
            return Split("xt", "yt", "xv", "yv")

        def build(self, cfg, trial, split):
            log.append(("build", trial["cell"]))
            return _FakeModel(log)

        def score(self, cfg, trial, fitted, split, ctx):
            log.append(("score", fitted.history, split.x_val))
            return TrialResult(trial, metrics={"m": 1.0})

    class Ctx:
        reporter, label, data = None, "toy", None

    result = Toy().run_trial(_Cfg(), {"cell": "gru", "seed": 7}, Ctx())
    assert result.metrics == {"m": 1.0}
    assert log == [
        ("split", 7),
        ("seed", 7),  # after the data, before the model: the model's weights follow the seed
        ("build", "gru"),
        ("compile", "mse", None),
        ("fit", "xt", "yt", 3, 8, ("xv", "yv"), "toy", []),
        ("score", "history", "xv"),
    ]


def test_a_probe_reads_the_model_before_fit_and_after_it_for_score(monkeypatch):
    log = []
    monkeypatch.setattr(training, "set_seed", lambda seed: None)
    monkeypatch.setattr(training, "fit", lambda *a, **k: log.append("fit") or "history")

    class Probed(SupervisedExperiment):
        loss = "mse"

        def __init__(self, reads):
            self.reads = iter(reads)

        def split(self, cfg, trial, ctx):
            return Split("xt", "yt", "xv", "yv")

        def build(self, cfg, trial, split):
            return _FakeModel([])

        def probe(self, cfg, trial, model, split):
            log.append("probe")
            return next(self.reads)

        def score(self, cfg, trial, fitted, split, ctx):
            return TrialResult(trial, extras={"probed": (fitted.probe_init, fitted.probe_trained)})

    class Ctx:
        reporter, label, data = None, "toy", None

    trial = {"cell": "gru", "seed": 0}
    result = Probed(["init", "trained"]).run_trial(_Cfg(), trial, Ctx())
    assert log == ["probe", "fit", "probe"]
    assert result.extras["probed"] == ("init", "trained")
    log.clear()  # a probe with nothing to read at init is not read again
    assert Probed([None]).run_trial(_Cfg(), trial, Ctx()).extras["probed"] == (None, None)
    assert log == ["probe", "fit"]
