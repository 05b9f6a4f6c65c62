"""jsb_chorales: polyphonic music, tanh RNN vs GRU vs LSTM at matched parameters (Chung 2014).

Data: Bach's four-part chorales from music21's bundled corpus (nothing is
downloaded), as quarter-note piano rolls over the 88 piano keys
(`rnnexp.data.chorales`), split at random (fixed) into train / validation /
test chorales. Task: at every beat, predict the next beat's set of keys,
each key an independent sigmoid; scored as the negative log-likelihood per
frame (nats, summed over the 88 keys), the measure of Boulanger-Lewandowski
et al. 2012 and Chung et al. 2014.

Models: one recurrent layer -> Dense(88, sigmoid), the cell's units chosen so
that each model has about `model.params` parameters (Chung et al. matched
about 20k: `units_for_budget`). Training: Adam, per-tensor clipping,
the weights of the best validation epoch kept (early stopping).

    python -m rnnexp run jsb_chorales
    python -m rnnexp run jsb_chorales --profile ci --check

Paper: GRU test NLL 8.54 on the JSB Chorales pickle (Chung et al. 2014,
Table 2). Our split and corpus differ (music21's chorales, our split), so the
absolute numbers are compared, not asserted.

Expected result (asserted by `--check`): the tanh SimpleRNN's test NLL per
frame is below the LSTM's, as a 90% paired interval over seeds of (LSTM -
SimpleRNN) whose lower end is above 0. The GRU is reported, not asserted:
it too trails the SimpleRNN on average at this budget, but one seed in ten
ties, so a 3-seed sweep failed that check about 4 times in 10.
This is the ordering our data shows at the `ci` budget, not the paper's (there
the GRU led, the tanh RNN last): with ~20k parameters the tanh cell has about
twice the units of the GRU and learns faster per step; whether the gated cells
overtake it with training to convergence is what `full` measures.
"""

import dataclasses

import numpy as np

from rnnexp import console
from rnnexp.report import plots
from rnnexp.report.paired import by_arm
from rnnexp.catalog import Check, Finding, PaperResult, TrialResult, register
from rnnexp.finding_cases import FindingCases, finished, seeds_with_low_end
from rnnexp.config import check
from rnnexp.data.chorales import KEYS
from rnnexp.names import plain
from rnnexp.recipes.supervised import CellSweep, Split, SupervisedExperiment, grid
from rnnexp.report.stats import mean_interval, paired_interval
from rnnexp.training import TrainConfig

PAD = -1.0  # input value of frames past a chorale's end (masked)


@dataclasses.dataclass(frozen=True)
class ChoraleData:
    limit: int = 0  # parse only the first `limit` four-part chorales (0 = all)
    valid_fraction: float = 0.15
    test_fraction: float = 0.2
    split_seed: int = 0  # the split is fixed across trials

    def __post_init__(self):
        check(self.limit == 0 or self.limit >= 10, "data.limit", self.limit, "0 (all) or >= 10")
        check(0 < self.valid_fraction < 0.5, "data.valid_fraction", self.valid_fraction, "(0, 0.5)")
        check(0 < self.test_fraction < 0.5, "data.test_fraction", self.test_fraction, "(0, 0.5)")


@dataclasses.dataclass(frozen=True)
class ChoraleModel:
    params: int = 20000  # every cell gets the units that bring it closest to this

    def __post_init__(self):
        check(self.params >= 1000, "model.params", self.params, "an integer >= 1000")


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    level: float = 0.90  # two-sided paired interval of (LSTM NLL - tanh NLL); lower end > 0


@dataclasses.dataclass(frozen=True)
class ChoralesConfig:
    seed: int = 0
    data: ChoraleData = ChoraleData()
    model: ChoraleModel = ChoraleModel()
    train: TrainConfig = TrainConfig(epochs=200, batch_size=8, learning_rate=1e-2, clipnorm=1.0)
    patience: int = 20  # epochs without a better validation NLL before stopping
    sweep: CellSweep = CellSweep(seeds=3)
    finding: FindingThresholds = FindingThresholds()


def param_count(cell: str, units: int, keys: int = KEYS) -> int:
    """Parameters of `keys` inputs -> one `cell` layer of `units` -> Dense(`keys`)."""
    n, d = units, keys
    recurrent = {
        "rnn": n * d + n * n + n,
        "gru": 3 * (n * d + n * n) + 2 * 3 * n,  # reset_after: two bias rows
        "lstm": 4 * (n * d + n * n + n),
    }[cell]
    return recurrent + n * keys + keys


def units_for_budget(cell: str, params: int, keys: int = KEYS) -> int:
    """The units whose `param_count` is closest to `params`."""
    best = min(range(1, 2000), key=lambda n: abs(param_count(cell, n, keys) - params))
    return best


def pad_rolls(rolls):
    """Inputs, next-frame targets and frame weights, padded to the longest chorale."""
    length = max(len(r) for r in rolls) - 1
    x = np.full((len(rolls), length, KEYS), PAD, dtype="float32")
    y = np.zeros((len(rolls), length, KEYS), dtype="float32")
    w = np.zeros((len(rolls), length), dtype="float32")
    for i, r in enumerate(rolls):
        t = len(r) - 1
        x[i, :t], y[i, :t], w[i, :t] = r[:-1], r[1:], 1.0
    return x, y, w


def nll_per_frame(probs, y, w) -> float:
    """Negative log-likelihood per real frame (nats, summed over keys)."""
    p = np.clip(np.asarray(probs, dtype="float64"), 1e-7, 1 - 1e-7)
    frame = -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum(-1)
    return float((frame * w).sum() / w.sum())


def build_music_model(cell: str, units: int):
    import keras

    from rnnexp.layers import DeepRNN

    frames = keras.Input((None, KEYS))
    h = keras.layers.Masking(mask_value=PAD)(frames)
    h = DeepRNN(cell, units, return_sequences=True, name="recurrent")(h)
    probs = keras.layers.Dense(KEYS, activation="sigmoid", name="next_frame")(h)
    return keras.Model(frames, probs, name=f"{cell}_music")


@register
class JSBChorales(SupervisedExperiment):
    name = "jsb_chorales"
    metric = "test_nll"
    higher_is_better = False
    description = (
        "Bach chorales at matched ~20k parameters, a short budget: the tanh SimpleRNN beats the "
        "LSTM (Chung 2014: gated ahead)"
    )
    shows = (
        "polyphonic music modelling on real Bach chorales: negative log-likelihood per frame of "
        "SimpleRNN (tanh), GRU and LSTM at matched parameter counts, as in Chung et al. 2014"
    )
    loss = "binary_crossentropy"
    config = ChoralesConfig()
    # Chung 2014, Table 2 (JSB Chorales, test): only the GRU's 8.54 could be checked here
    # (its Papers with Code entry); the paper ranks the gated cells ahead of tanh.
    paper_results = tuple(
        PaperResult(
            f"{plain(cell)}, NLL per frame",
            "Chung 2014 Table 2, JSB pickle",
            value,
            "test_nll",
            (("cell", cell),),
            curve="val_nll",
            curve_label="validation NLL",
            note="music21 chorales, our split, 25 epochs",
        )
        for cell, value in (("rnn", None), ("lstm", None))
    ) + (
        PaperResult(
            "GRU, NLL per frame",
            "Chung 2014 Table 2, JSB pickle",
            8.54,
            "test_nll",
            (("cell", "gru"),),
            curve="val_nll",
            curve_label="validation NLL",
            record="jsb_chorales-ci-gru",
            note="music21 chorales, our split, 25 epochs",
        ),
    )
    profiles = {
        # The first 120 chorales parse in ~20 s on a clean machine; 25 epochs of batch 16. Only
        # the arms the claim needs, at 6 seeds: at 3, a GRU check failed 1 sweep in 3 (3100-3109).
        "ci": {
            "data.limit": 120,
            "train.epochs": 25,
            "train.batch_size": 16,
            "patience": 25,
            "sweep.cells": ("rnn", "lstm"),
            "sweep.seeds": 6,
        },
        "full": {"sweep.seeds": 5, "train.epochs": 500, "patience": 30},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, cell=cfg.sweep.cells)

    def data_source(self, cfg, data=None):
        return "music21-chorales"

    def prepare(self, cfg):
        import time

        from rnnexp.data import chorales

        start = time.perf_counter()
        rolls, status = chorales.load_rolls(cfg.data.limit)
        tr, va, te = chorales.split_indices(
            len(rolls), cfg.data.valid_fraction, cfg.data.test_fraction, cfg.data.split_seed
        )
        console.say(
            f"data: Bach chorales (music21), {len(rolls)} four-part chorales "
            f"({len(tr)} train, {len(va)} validation, {len(te)} test), "
            f"{sum(len(r) for r in rolls):,} beats; cache {status} "
            f"({time.perf_counter() - start:.1f}s)"
        )
        return {
            name: [rolls[i] for i in idx]
            for name, idx in (("train", tr), ("valid", va), ("test", te))
        }

    def split(self, cfg, trial, ctx):
        x_tr, y_tr, w_tr = pad_rolls(ctx.data["train"])
        x_va, y_va, w_va = pad_rolls(ctx.data["valid"])
        x_te, y_te, w_te = pad_rolls(ctx.data["test"])
        ctx.reporter.set_tags({"data.description": "Bach chorales (music21 corpus)"})
        units = units_for_budget(trial["cell"], cfg.model.params)
        # Memoryless baseline: each key on with its training frequency.
        rate = (y_tr * w_tr[..., None]).sum((0, 1)) / w_tr.sum()
        baseline = nll_per_frame(np.broadcast_to(rate, y_te.shape), y_te, w_te)
        return Split(
            (x_tr, w_tr),
            y_tr,
            x_va,
            y_va,
            x_te,
            y_te,
            extras={"units": units, "w_val": w_va, "w_test": w_te, "baseline": baseline},
        )

    def build(self, cfg, trial, split):
        return build_music_model(trial["cell"], split.extras["units"])

    def fit_callbacks(self, cfg):
        return []  # set in run_trial: they need the trial's validation arrays

    def run_trial(self, cfg, trial, ctx):
        import keras

        from rnnexp.callbacks import EvaluateEachEpoch
        from rnnexp.training import set_seed

        split = self.split(cfg, trial, ctx)
        set_seed(trial["seed"])
        model = self.build(cfg, trial, split)
        model.compile(optimizer=cfg.train.adam(), loss=self.loss, weighted_metrics=[])
        x_tr, w_tr = split.x_train
        w_va = split.extras["w_val"]

        def validation():
            probs = model.predict(split.x_val, batch_size=64, verbose=0)
            return {"val_nll": nll_per_frame(probs, split.y_val, w_va)}

        callbacks = [
            EvaluateEachEpoch(validation),
            keras.callbacks.EarlyStopping(
                monitor="val_nll", mode="min", patience=cfg.patience, restore_best_weights=True
            ),
        ]
        history = _fit_weighted(model, x_tr, split.y_train, w_tr, cfg, ctx, callbacks)
        probs = model.predict(split.x_test, batch_size=64, verbose=0)
        curve = [float(v) for v in history.history["val_nll"]]
        return TrialResult(
            trial,
            metrics={
                "test_nll": nll_per_frame(probs, split.y_test, split.extras["w_test"]),
                "valid_nll": min(curve),
                "best_epoch": int(np.argmin(curve)) + 1,
                "baseline_test_nll": split.extras["baseline"],
                "units": split.extras["units"],
                "params": int(model.count_params()),
            },
            extras={"val_curve": curve},
        )

    def summarize(self, cfg, results, out_dir):
        finished = [r for r in results if r.status == "FINISHED"]
        return plots.mean_curves_figure(
            results,
            "val_curve",
            lambda t: plain(t["cell"]),
            out_dir / "nll_by_epoch.png",
            title="jsb_chorales: validation NLL per frame",
            xlabel="epoch",
            ylabel="validation NLL per frame (nats)",
            hline=finished[0].metrics["baseline_test_nll"] if finished else None,
            hline_label="key frequencies (no memory), test",
        )

    def finding(self, cfg, results):
        by_seed = by_arm(results, "test_nll", "cell")
        if missing := Finding.require(by_seed, ("rnn", "lstm")):
            return missing
        seeds = sorted(set(by_seed["rnn"]) & set(by_seed["lstm"]))
        if len(seeds) < 2:
            return Finding(False, f"{len(seeds)} seeds with SimpleRNN and LSTM; need >= 2", {})

        def gap(a, b):  # per-seed (a - b), over the seeds both cells finished
            both = [s for s in seeds if s in by_seed[a] and s in by_seed[b]]
            return paired_interval(
                [by_seed[a][s] for s in both], [by_seed[b][s] for s in both], cfg.finding.level
            )

        lstm_gap = gap("lstm", "rnn")
        checks = [Check("LSTM - SimpleRNN test NLL per frame, interval low", lstm_gap.low, ">=", 0)]
        means = {c: mean_interval(list(v.values())) for c, v in by_seed.items()}
        detail = f"test NLL per frame over {len(seeds)} seeds: " + ", ".join(
            f"{plain(c)} {means[c]}" for c in ("rnn", "gru", "lstm") if c in means
        )
        if "gru" in by_seed:  # reported, not asserted: at 3-6 seeds its gap is not stable
            detail += f"; GRU - SimpleRNN {gap('gru', 'rnn')}"
        numbers = {f"nll_{c}": m.mean for c, m in means.items()}
        numbers["gap_lstm"] = lstm_gap.mean
        return Finding.from_checks(detail, checks, numbers)

    def finding_cases(self):
        def at_margin(cfg):
            # LSTM - SimpleRNN NLL per seed; the interval's low end just on the passing side
            gaps = seeds_with_low_end(cfg.finding.level, 1e-12, spread=0.1)
            return synthetic_results([0.0] * 3, [0.5] * 3, gaps)

        return FindingCases(
            passing=lambda cfg: synthetic_results(
                [8.5, 8.6, 8.7], [9.0, 9.1, 9.2], [9.1, 9.2, 9.4]
            ),
            failing=lambda cfg: synthetic_results(
                [9.0, 9.1, 9.2], [9.6, 9.7, 9.8], [9.1, 9.0, 9.3]
            ),
            at_margin=(at_margin,),
        )


def _fit_weighted(model, x, y, w, cfg, ctx, callbacks):
    """`rnnexp.training.fit` with per-frame weights (padding frames weigh 0)."""
    from rnnexp.callbacks import EpochReporter

    tty = console.is_tty()
    return model.fit(
        x,
        y,
        sample_weight=w,
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        callbacks=list(callbacks)
        + [EpochReporter(ctx.reporter, cfg.train.epochs, ctx.label, print_lines=not tty)],
        verbose=1 if tty else 0,
        shuffle=True,
    )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(rnn, gru, lstm):
    """Test NLL per frame of each cell, one value per seed."""
    return [
        finished({"test_nll": v}, cell=cell, seed=k)
        for cell, values in (("rnn", rnn), ("gru", gru), ("lstm", lstm))
        for k, v in enumerate(values)
    ]
