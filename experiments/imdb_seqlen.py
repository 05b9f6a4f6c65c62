"""imdb_seqlen: which recurrent cells can use a longer IMDB review, and when?

Study note 001: truncate IMDB reviews to `max_seq_len` in {10, ..., 1000} tokens, using only
reviews at least as long as the longest length for every length (one pool, no padding, no
masking), and compare SimpleRNN, GRU and LSTM. The profiles stop at 200 and 500 tokens: few
reviews are longer (the pools: see the notes).

    python -m rnnexp run imdb_seqlen                      # real IMDB if reachable
    python -m rnnexp run imdb_seqlen --profile ci --check # CI: asserts the finding
    python -m rnnexp run imdb_seqlen --profile full       # study note 001's lengths to 500

Real IMDB: `--set data.source=path --set data.path=.../aclImdb_labelled.tar.gz` (or
`$RNNEXP_IMDB_PATH`); offline without a copy, the synthetic stand-in runs and every console
line, tag and run name says "synthetic".

Protocol per trial (truncation x model x length x seed): the training reviews with >=
max(lengths) tokens, less 15% kept for validation (and less any review whose text is also a
test review); cut to L tokens keeping the end (`pre`, the read-out right after the review's
last words) or the start (`post`, the read-out 200 steps after the review's first words,
whatever the review says later); Embedding -> one of our recurrent layers -> Dense(sigmoid),
Adam with clipnorm; early stopping on validation accuracy (best epoch restored); the test
reviews touched once, at the end. Next to the cells runs the order-free control `bow` (mean of
the embeddings): how much evidence a window holds for a model that cannot forget. The
gradient probe reads ||dL/dx_t|| against t on validation reviews at initialisation and after
training.

Expected result: see `FindingThresholds` and `finding`; measured results, and what each
profile costs: `docs/experiments/imdb_seqlen.md` (generated).
"""

import dataclasses
from typing import Literal

from rnnexp.catalog import Check, Finding, TrialResult, register
from rnnexp.config import NonNegative, Positive, check
from rnnexp.data import imdb
from rnnexp.data.sequences import length_windows
from rnnexp.finding_cases import FindingCases, grid_results, seeds_with_low_end, with_thresholds
from rnnexp.models import ClassifierConfig, build_window_classifier
from rnnexp.names import plain
from rnnexp.recipes.supervised import CELLS, Cell, Split, SupervisedExperiment, grid
from rnnexp.report import seqlen
from rnnexp.report.stats import mean_interval, paired_interval
from rnnexp.training import TrainConfig, best_epoch_stopping, scores_at_best_epoch

Truncation = Literal["pre", "post"]
CONTROL = "bow"  # the order-free bag-of-embeddings model


@dataclasses.dataclass(frozen=True)
class Sweep:
    cells: tuple[Cell, ...] = CELLS
    control: bool = True  # also train the order-free `bow` model at every point
    lengths: tuple[int, ...] = (10, 50, 200)
    truncations: tuple[Truncation, ...] = ("pre", "post")
    seeds: Positive = 3  # trials per point: seeds seed, seed+1, ...
    pool: Literal["seed", "per_length"] = "seed"
    max_train: NonNegative = 0  # training-pool reviews per trial (before validation), 0 = all
    max_test: NonNegative = 0  # 0 = every test review in the pool
    val_fraction: float = 0.15  # of the training pool, for early stopping
    min_pool: NonNegative = 1000  # warn when a training pool is smaller

    def __post_init__(self):
        # Distinct values, seeds >= 1 and max_* >= 0 are `check_common`'s.
        check(all(v > 0 for v in self.lengths), "sweep.lengths", self.lengths, "positive integers")
        check(
            0 < self.val_fraction < 0.5,
            "sweep.val_fraction",
            self.val_fraction,
            "between 0 and 0.5",
        )


@dataclasses.dataclass(frozen=True)
class Training(TrainConfig):
    patience: Positive = 2  # epochs without a better validation accuracy before stopping

    def __post_init__(self):
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    examples: Positive = 128  # validation reviews the gradient probe averages over


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    """What `finding` asserts with the start kept (`post`), over seeds paired by seed."""

    gated_gain_level: float = 0.50  # interval level of the weaker gated gain (0.1% false alarms)
    gap_level: float = 0.20  # interval level of gated gain - SimpleRNN gain (0.1% false alarms)
    min_seeds: int = 3  # fewer seeds carry no interval worth asserting
    synthetic_min_gain_gap: float = 0.03  # stand-in: mean gated - SimpleRNN gain; seed 0: 0.20

    def __post_init__(self):
        check(self.min_seeds >= 2, "finding.min_seeds", self.min_seeds, ">= 2")
        for name in ("gated_gain_level", "gap_level"):
            level = getattr(self, name)
            check(0 <= level < 1, f"finding.{name}", level, "in [0, 1)")


@dataclasses.dataclass(frozen=True)
class ImdbSeqlenConfig:
    seed: int = 0
    data: imdb.ImdbDataConfig = imdb.ImdbDataConfig()
    model: ClassifierConfig = ClassifierConfig()
    train: Training = Training(epochs=12, learning_rate=2e-3)
    sweep: Sweep = Sweep()
    probe: ProbeConfig = ProbeConfig()
    finding: FindingThresholds = FindingThresholds()


def _model_names(sweep: Sweep) -> tuple[str, ...]:
    return tuple(sweep.cells) + ((CONTROL,) if sweep.control else ())


@register
class ImdbSeqlen(SupervisedExperiment):
    name = "imdb_seqlen"
    metric = "test_accuracy"
    headline = "post: rnn gain - weaker gated gain"
    shows = (
        "IMDB cut to L = 10…200 tokens (study note 001: one pool of reviews ≥ the longest L, no "
        "masking), keeping each review's end (`pre`) or its start (`post`); SimpleRNN, GRU, LSTM "
        "and an order-free bag-of-embeddings control (`bow`); 15% of the training pool validates "
        "(early stopping), the test reviews are read once; ‖∂L/∂x_t‖ vs t at init and after "
        "training"
    )
    config = ImdbSeqlenConfig()
    number_names = seqlen.number_names((*CELLS, CONTROL))
    profiles = {
        "ci": {
            # Only the arms the claim needs, 3 seeds paired by seed; `pre`, bow, GRU in default.
            "sweep.cells": ("rnn", "lstm"),
            "sweep.control": False,
            "sweep.truncations": ("post",),
            "sweep.lengths": (10, 200),
            "sweep.seeds": 3,
            "sweep.max_test": 2000,
            "data.synthetic.test_size": 500,
            "data.synthetic.min_length": 400,
            "data.synthetic.max_length": 450,
            "data.synthetic.evidence_distance": (0, 400),
            "data.synthetic.evidence_count": 8,
        },
        "full": {
            "sweep.lengths": (10, 20, 50, 100, 200, 500),
            "sweep.seeds": 5,
            "data.synthetic.min_length": 500,
            "data.synthetic.max_length": 600,
        },
    }
    # The claim says how sure it is: the interval levels and seed count `ci` asserts.
    description = (
        "IMDB, first 10 vs 200 tokens: the LSTM gains from the longer window, the SimpleRNN "
        f"less ({config.finding.gated_gain_level:.0%}/{config.finding.gap_level:.0%} intervals, "
        f"{profiles['ci']['sweep.seeds']} seeds)"
    )

    # -- plan and data ---------------------------------------------------
    def trials(self, cfg):
        # Seed-major, so each finished seed answers the question once; the length varies
        # fastest, so the sweep's ETA sees a short and a long trial from the start.
        s = cfg.sweep
        return grid(
            cfg.seed, s.seeds, truncation=s.truncations, model=_model_names(s), length=s.lengths
        )

    def data_source(self, cfg, data=None):
        return data.source if data is not None else cfg.data.source

    def dataset(self, cfg, trial, data=None):
        pool = data.pools[trial["length"]]
        sizes = {"train": pool["pool.fit"], "val": pool["pool.val"], "test": pool["pool.test"]}
        return imdb.data_card(data, sizes)

    def prepare(self, cfg):
        data, s = imdb.load(cfg.data), cfg.sweep
        imdb.announce(data)
        if data.synthetic:
            check(
                max(s.lengths) <= cfg.data.synthetic.min_length,
                "sweep.lengths",
                s.lengths,
                f"<= data.synthetic.min_length ({cfg.data.synthetic.min_length})",
            )
        cut, data.pools = length_windows(
            data,
            s.lengths,
            s.truncations,
            s.pool == "seed",
            s.val_fraction,
            s.max_train,
            s.max_test,
            s.min_pool,
        )
        data.windows = {key: Split(*arrays) for key, arrays in cut.items()}  # (truncation, L)
        return data

    # -- one trial (SupervisedExperiment: split, seed, build, probe, fit, score) --
    def split(self, cfg, trial, ctx):
        data = ctx.data
        ctx.reporter.set_tags(
            {"data.description": data.description, "data.cache": data.cache or "none"}
        )
        windows = data.windows[(trial["truncation"], trial["length"])]
        return dataclasses.replace(windows, extras={"vocab": data.vocab_size})

    def build(self, cfg, trial, split):
        vocab, length = split.extras["vocab"], trial["length"]
        model, embed, body = build_window_classifier(
            cfg.model, trial["model"], vocab, length, cfg.train
        )
        split.extras.update(embed=embed, body=body)  # the gradient probe's way in (None: bow)
        return model

    def compile(self, cfg, model):
        pass  # the builders compile (Adam, binary cross-entropy, accuracy)

    def fit_callbacks(self, cfg):
        return [best_epoch_stopping(cfg.train.patience)]  # model choice on validation only

    def before_fit(self, cfg, trial, model, split, ctx):
        pool, params = ctx.data.pools[trial["length"]], model.count_params()
        ctx.reporter.log_metrics(
            {**pool, "params": params, "data.load_seconds": ctx.data.load_seconds}
        )

    def probe(self, cfg, trial, model, split):
        """‖∂L/∂x_t‖ per step on the first validation reviews; None for the control."""
        import keras

        from rnnexp.gradients import input_gradient_norms

        if split.extras["body"] is None:
            return None
        n, loss = cfg.probe.examples, keras.losses.BinaryCrossentropy()
        x, y = split.x_val[:n], split.y_val[:n]
        return input_gradient_norms(split.extras["body"], x, y, loss, embed=split.extras["embed"])

    def score(self, cfg, trial, fitted, split, ctx):
        model, history = fitted.model, fitted.history.history
        metrics = scores_at_best_epoch(model, history, split.x_test, split.y_test)
        metrics["params"] = int(model.count_params())
        extras = {"data_source": ctx.data.source}
        grad_init, grad_trained = fitted.probe_init, fitted.probe_trained
        if grad_init is not None:
            from rnnexp.gradients import reach_metrics

            metrics.update(reach_metrics(grad_init, grad_trained))
            extras.update({"grad_init": grad_init, "grad_trained": grad_trained})
            seqlen.log_gradient_curves(ctx.reporter, trial, grad_init, grad_trained)
        return TrialResult(trial, metrics=metrics, extras=extras)

    # -- summary ---------------------------------------------------------
    def answer_figure(self, cfg, results):
        """keep-the-end | keep-the-start: accuracy against the window, each line's gain."""
        s = cfg.sweep
        return seqlen.accuracy_panels(self.name, results, s.truncations, _model_names(s), s.lengths)

    def summarize(self, cfg, results, out_dir):
        s = cfg.sweep
        return seqlen.summary_files(
            self.name, results, s.truncations, _model_names(s), s.lengths, out_dir
        )

    def finding(self, cfg, results):
        """With the start kept (`post`), per seed, each cell's gain from the shortest L to the
        longest: the weaker gated cell gains and out-gains the SimpleRNN (the low ends of their
        intervals; on the stand-in, the mean lead). `pre` and bow are reported, not asserted."""
        f, sweep = cfg.finding, cfg.sweep
        short, long_ = min(sweep.lengths), max(sweep.lengths)
        gated = [c for c in sweep.cells if c != "rnn"]
        needed = []
        if short == long_:
            needed.append("two lengths")
        if "rnn" not in sweep.cells or not gated:
            needed.append("the rnn and a gated cell")
        if "post" not in sweep.truncations:
            needed.append("the post truncation")
        if needed:
            return Finding(False, "the finding needs " + ", ".join(needed), {})

        numbers, detail = seqlen.gains_detail(
            results, sweep.truncations, _model_names(sweep), short, long_
        )
        gated_gains, rnn_gains = seqlen.post_gains(results, gated, short, long_)
        if not gated_gains:
            missing = f"missing results: post cells at L={short} and L={long_}"
            return Finding(False, f"{detail}; {missing}", numbers)
        names = "/".join(map(plain, gated))
        gated_name = names if len(gated) == 1 else f"weaker of {names}"
        gap = paired_interval(gated_gains, rnn_gains, f.gap_level)
        numbers["gain_gap_post"] = gap.mean
        n, post = len(gated_gains), f"post: {gated_name} gain"
        if any(r.extras.get("data_source") == "synthetic" for r in results):
            label = f"{post} - SimpleRNN gain (mean of {n} seeds)"
            checks = [Check(label, gap.mean, ">=", f.synthetic_min_gain_gap)]
        elif n < f.min_seeds:
            why = f"the finding is asserted over >= {f.min_seeds} seeds, got {n} (set sweep.seeds)"
            return Finding(False, f"{detail}; {why}", numbers)
        else:
            gain = mean_interval(gated_gains, f.gated_gain_level)
            over = f"interval over {n} seeds"
            gain_label = (
                f"{post} L={short}->{long_}, low end of its {f.gated_gain_level:.0%} {over}"
            )
            gap_label = f"{post} - SimpleRNN gain, low end of its {f.gap_level:.0%} paired {over}"
            checks = [Check(gain_label, gain.low, ">=", 0.0), Check(gap_label, gap.low, ">=", 0.0)]
        return Finding.from_checks(detail, checks, numbers)

    def finding_cases(self):
        return FindingCases(
            adapt=with_thresholds(synthetic_min_gain_gap=0.0625),  # binary-exact: a gap lands on it
            passing=lambda cfg: _post_results(0.0, 0.15),
            failing=lambda cfg: _post_results(0.16, 0.15),  # the SimpleRNN keeps up
            at_margin=(
                # identical seeds: each interval is its mean; gains and gap exactly 0
                lambda cfg: _post_results(0.0, 0.0),
                lambda cfg: _post_results(0.125, 0.1875, "synthetic", seeds=1),
                _spread_at_margin,
            ),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def _post_results(rnn_gain, lstm_gain, source="path", seeds=3):
    """Accuracy 0 at L=10, so each gain is its L=200 accuracy; every seed alike."""
    return _accuracies([_post(rnn_gain, lstm_gain)] * seeds, source)


def _spread_at_margin(cfg):
    """Seeds that differ: the gain's and the gap's interval ends sit exactly on 0."""
    lstm = seeds_with_low_end(cfg.finding.gated_gain_level, 0.0)
    gap = seeds_with_low_end(cfg.finding.gap_level, 0.0, spread=0.02)
    return _accuracies([_post(g - d, g) for g, d in zip(lstm, gap)])


def _post(rnn_gain, lstm_gain):
    acc = {("post", m, 10): 0.0 for m in ("rnn", "lstm")}
    return acc | {("post", "rnn", 200): rnn_gain, ("post", "lstm", 200): lstm_gain}


def _accuracies(per_seed, source="path"):
    return grid_results(per_seed, seqlen.ARMS, "test_accuracy", data_source=source)
