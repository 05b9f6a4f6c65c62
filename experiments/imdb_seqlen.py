"""imdb_seqlen: does a longer review help? Vanishing gradients say: not a SimpleRNN.

Seed 001: train SimpleRNN, GRU and LSTM sentiment classifiers on IMDB reviews
truncated to `max_seq_len` in {10, 20, 50, 100, 200, 500, 1000}, using only
reviews at least as long as the truncation (no padding, no masking), and watch
the SimpleRNN fail to use the extra length while GRU/LSTM improve.

    python -m rnnexp run imdb_seqlen                      # default profile
    python -m rnnexp run imdb_seqlen --profile ci --check # CI: asserts the finding
    python -m rnnexp run imdb_seqlen --profile full       # seed 001's exact protocol

Runtime on a 2-core CPU (measured on the synthetic stand-in; see README):
`ci` ~3.5 min, `default` ~17 min, `full` several hours.

Data: real IMDB (`data.source` = tfds | path | keras), or -- when none is
reachable -- the stand-in of `rnnexp.data.synthetic_reviews`, whose label
evidence sits 20+ steps before the read-out step; every console line, tag and
run name then says "synthetic".

Protocol per trial (cell x length x seed): pool the reviews with >= max(lengths)
tokens (`sweep.pool=seed`, the same reviews for every length) or >= L tokens
(`per_length`); truncate to L keeping the end (`pre`) or the start (`post`);
Embedding -> our recurrent layer -> Dense(sigmoid), Adam with clipnorm; test
accuracy; and the gradient probe ||dL/dx_t|| against t, at initialisation and
after training.

Expected result (asserted by `--check`, thresholds in `finding.*`): at the
longest length GRU and LSTM are well above chance and the SimpleRNN is near
chance; and training opens the LSTM's gradient path -- ||dL/dx_t|| at the
middle of the window rises by many orders of magnitude, while the SimpleRNN's
does not rise. (At initialisation the gated cells' gradient is the one that
vanishes -- a forget gate near sigmoid(1) = 0.73, a GRU update gate near 0.5,
shrink it every step -- while the SimpleRNN's orthogonal recurrent matrix
carries it well; learning drives the gates to keep, and the SimpleRNN's tanh
into saturation.)
"""

import dataclasses
import json
from typing import Literal

import numpy as np

from rnnexp import console, plots
from rnnexp.catalog import Experiment, Finding, TrialResult, group_metric, register
from rnnexp.config import check
from rnnexp.data import imdb
from rnnexp.data.sequences import pool_indices, truncate
from rnnexp.models import ClassifierConfig, build_classifier
from rnnexp.training import TrainConfig, fit, input_gradient_norms, set_seed

Cell = Literal["rnn", "gru", "lstm"]
_TINY = 1e-38  # smallest normal float32 magnitude


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    cells: tuple[Cell, ...] = ("rnn", "gru", "lstm")
    lengths: tuple[int, ...] = (10, 20, 50, 100, 200, 500)
    seeds: int = 2  # trials per (cell, length): seeds seed, seed+1, ...
    pool: Literal["seed", "per_length"] = "seed"
    truncation: Literal["pre", "post"] = "pre"
    max_train: int = 4000  # reviews per trial, 0 = the whole pool
    max_test: int = 1000
    min_pool: int = 1000  # warn when a training pool is smaller

    def __post_init__(self):
        check(all(v > 0 for v in self.lengths), "sweep.lengths", self.lengths, "positive integers")
        check(len(set(self.cells)) == len(self.cells), "sweep.cells", self.cells, "distinct cells")
        check(self.seeds >= 1, "sweep.seeds", self.seeds, "an integer >= 1")
        check(
            self.max_train >= 0 and self.max_test >= 0,
            "sweep.max_train",
            (self.max_train, self.max_test),
            ">= 0 (0 = all)",
        )


@dataclasses.dataclass(frozen=True)
class ProbeConfig:
    examples: int = 128  # test reviews the gradient probe averages over


@dataclasses.dataclass(frozen=True)
class FindingConfig:
    """Thresholds of the asserted finding, at the longest length (seed means)."""

    gated_min_accuracy: float = 0.65  # GRU and LSTM at least this
    rnn_max_accuracy: float = 0.60  # SimpleRNN at most this (chance is 0.5)
    min_gap: float = 0.15  # min(GRU, LSTM) - SimpleRNN
    # Training must open the LSTM's gradient path: the gradient reaching the
    # middle of the window grows by this many more orders of magnitude than
    # the SimpleRNN's.
    min_opening_orders: float = 3.0


@dataclasses.dataclass(frozen=True)
class ImdbSeqlenConfig:
    seed: int = 0
    data: imdb.ImdbDataConfig = imdb.ImdbDataConfig()
    model: ClassifierConfig = ClassifierConfig()
    train: TrainConfig = TrainConfig(epochs=12, learning_rate=2e-3)
    sweep: SweepConfig = SweepConfig()
    probe: ProbeConfig = ProbeConfig()
    finding: FindingConfig = FindingConfig()


@register
class ImdbSeqlen(Experiment):
    name = "imdb_seqlen"
    metric = "test_accuracy"
    description = (
        "IMDB truncated to 10..1000 tokens: SimpleRNN cannot use long reviews "
        "(vanishing gradients), GRU/LSTM can"
    )
    config = ImdbSeqlenConfig()
    profiles = {
        "ci": {
            "data.source": "synthetic",
            "data.synthetic.test_size": 500,
            "data.synthetic.min_length": 400,
            "data.synthetic.max_length": 450,
            "data.synthetic.evidence_distance": (0, 400),
            "data.synthetic.evidence_count": 8,
            "sweep.lengths": (20, 400),
            "sweep.seeds": 1,
        },
        "full": {
            "data.synthetic.min_length": 1000,
            "data.synthetic.max_length": 1200,
            "data.synthetic.evidence_distance": (0, 1000),
            "data.synthetic.evidence_count": 20,
            "sweep.lengths": (10, 20, 50, 100, 200, 500, 1000),
            "sweep.seeds": 3,
            "sweep.max_train": 0,
            "sweep.max_test": 0,
            "train.epochs": 10,
            "model.units": 64,
            "model.embed_dim": 32,
        },
    }

    # -- plan ------------------------------------------------------------
    def trials(self, cfg):
        return [
            {"cell": cell, "length": length, "seed": cfg.seed + k}
            for length in cfg.sweep.lengths
            for k in range(cfg.sweep.seeds)
            for cell in cfg.sweep.cells
        ]

    def data_source(self, cfg, data=None):
        if data is not None:
            return data.source
        return cfg.data.source

    def prepare(self, cfg):
        data = imdb.load(cfg.data)
        longest = max(cfg.sweep.lengths)
        imdb.announce(data)
        if data.synthetic:
            check(
                longest <= cfg.data.synthetic.min_length,
                "sweep.lengths",
                cfg.sweep.lengths,
                f"<= data.synthetic.min_length ({cfg.data.synthetic.min_length})",
            )
        data.windows = {}  # length -> arrays, shared by the cells and seeds
        for length in cfg.sweep.lengths:
            min_len = longest if cfg.sweep.pool == "seed" else length
            tr = pool_indices(data.x_train, min_len)
            te = pool_indices(data.x_test, min_len)
            rng = np.random.default_rng(0)  # same subsample for every cell and seed
            if cfg.sweep.max_train:
                tr = np.sort(rng.permutation(tr)[: cfg.sweep.max_train])
            if cfg.sweep.max_test:
                te = np.sort(rng.permutation(te)[: cfg.sweep.max_test])
            if len(tr) < 2 or len(te) < 1:
                raise imdb.DataError(
                    f"pool for length {length} is empty (reviews >= {min_len} tokens: "
                    f"{len(tr)} train, {len(te)} test); lower sweep.lengths or use "
                    "sweep.pool=per_length"
                )
            if len(tr) < cfg.sweep.min_pool:
                console.say(
                    f"warning: only {len(tr)} training reviews have >= {min_len} tokens; "
                    "too few to learn much from (sweep.min_pool)"
                )
            data.windows[length] = (
                truncate([data.x_train[i] for i in tr], length, cfg.sweep.truncation),
                data.y_train[tr],
                truncate([data.x_test[i] for i in te], length, cfg.sweep.truncation),
                data.y_test[te],
            )
        return data

    # -- one trial -------------------------------------------------------
    def run_trial(self, cfg, trial, ctx):
        import keras

        cell, length, seed = trial["cell"], trial["length"], trial["seed"]
        data = ctx.data
        x_tr, y_tr, x_te, y_te = data.windows[length]
        set_seed(seed)
        model, embed, body = build_classifier(
            cfg.model,
            cell,
            data.vocab_size,
            length,
            clipnorm=cfg.train.clipnorm or None,
            learning_rate=cfg.train.learning_rate,
        )
        ctx.reporter.set_tags({"data.description": data.description})
        ctx.reporter.log_metrics(
            {"pool.train": len(x_tr), "pool.test": len(x_te), "params": model.count_params()}
        )
        probe_x, probe_y = x_te[: cfg.probe.examples], y_te[: cfg.probe.examples]
        loss_fn = keras.losses.BinaryCrossentropy()
        grad_init = input_gradient_norms(body, probe_x, probe_y, loss_fn, embed=embed)
        history = fit(
            model,
            x_tr,
            y_tr,
            epochs=cfg.train.epochs,
            batch_size=cfg.train.batch_size,
            reporter=ctx.reporter,
            label=ctx.label,
            validation_data=(x_te, y_te),
        )
        test_loss, test_acc = model.evaluate(x_te, y_te, verbose=0, batch_size=256)
        grad_trained = input_gradient_norms(body, probe_x, probe_y, loss_fn, embed=embed)
        ctx.reporter.log_text(
            json.dumps(
                {
                    "t": list(range(1, length + 1)),
                    "init": grad_init.tolist(),
                    "trained": grad_trained.tolist(),
                }
            ),
            "grad_norms.json",
        )
        fig = plots.lines_with_spread(
            {
                "at init": (np.arange(1, length + 1), grad_init, None),
                "trained": (np.arange(1, length + 1), grad_trained, None),
            },
            xlabel="time step t (1 = farthest from the read-out)",
            ylabel="||dL/dx_t||",
            title=f"{cell}, L={length}: gradient reaching each step",
            logy=True,
        )
        ctx.reporter.log_figure(fig, "grad_norms.png")
        plots.close(fig)
        metrics = {
            "test_accuracy": float(test_acc),
            "test_loss": float(test_loss),
            "train_accuracy": float(history.history["accuracy"][-1]),
            "grad_first_init": float(grad_init[0]),
            "grad_first": float(grad_trained[0]),
            "grad_mid_init": float(grad_init[length // 2]),
            "grad_mid": float(grad_trained[length // 2]),
            "grad_last": float(grad_trained[-1]),
            # Orders of magnitude by which training raised the gradient reaching
            # the middle of the window. float32 underflows below ~1e-38: an init
            # value of 0 is floored there, so the number is then a lower bound.
            "grad_opening_orders": float(
                np.log10(max(grad_trained[length // 2], _TINY))
                - np.log10(max(grad_init[length // 2], _TINY))
            ),
            "params": int(model.count_params()),
        }
        return TrialResult(
            trial,
            metrics=metrics,
            extras={
                "grad_init": grad_init,
                "grad_trained": grad_trained,
                "data_source": data.source,
            },
        )

    # -- summary ---------------------------------------------------------
    def summarize(self, cfg, results, out_dir):
        acc = group_metric(results, "test_accuracy", ("cell", "length"))
        series = {}
        for cell in cfg.sweep.cells:
            lengths = sorted(n for c, n in acc if c == cell)
            if lengths:
                series[cell] = (
                    lengths,
                    [np.mean(acc[(cell, n)]) for n in lengths],
                    [np.std(acc[(cell, n)]) for n in lengths],
                )
        source = next((r.extras["data_source"] for r in results if "data_source" in r.extras), "?")
        fig = plots.lines_with_spread(
            series,
            xlabel="max_seq_len (tokens kept)",
            ylabel="test accuracy",
            title=f"imdb_seqlen: accuracy vs length (mean ± std over seeds; data: {source})",
            logx=True,
            hline=0.5,
            hline_label="chance",
        )
        paths = [plots.save(fig, out_dir / "accuracy_vs_length.png")]

        longest = max(cfg.sweep.lengths)
        grads = {}
        for r in results:
            if r.status == "FINISHED" and r.trial["length"] == longest:
                for when in ("init", "trained"):
                    grads.setdefault((r.trial["cell"], when), []).append(r.extras[f"grad_{when}"])
        for when in ("init", "trained"):
            series = {
                cell: (np.arange(1, longest + 1), np.mean(v, axis=0), None)
                for (cell, w), v in grads.items()
                if w == when
            }
            if series:
                fig = plots.lines_with_spread(
                    series,
                    xlabel="time step t (1 = farthest from the read-out)",
                    ylabel="mean ||dL/dx_t||",
                    logy=True,
                    title=f"gradient reaching each step, L={longest}, {when}",
                )
                paths.append(plots.save(fig, out_dir / f"grad_norm_vs_t_{when}.png"))
        return paths

    def finding(self, cfg, results):
        f = cfg.finding
        longest = max(cfg.sweep.lengths)
        acc = {
            c: float(np.mean(v))
            for (c, n), v in group_metric(results, "test_accuracy", ("cell", "length")).items()
            if n == longest
        }
        opening = {
            c: float(np.mean(v))
            for (c, n), v in group_metric(
                results, "grad_opening_orders", ("cell", "length")
            ).items()
            if n == longest
        }
        needed = {"rnn", "lstm", "gru"} & set(cfg.sweep.cells)
        if not {"rnn", "lstm"} <= needed or set(acc) != needed:
            return Finding(
                False,
                f"missing results at length {longest} for "
                f"{sorted(needed - set(acc)) or ['rnn', 'lstm']}",
                {},
            )
        gated = min(acc[c] for c in needed - {"rnn"})
        orders = float(opening["lstm"] - opening["rnn"])
        checks = {
            f"gated accuracy {gated:.3f} >= {f.gated_min_accuracy}": gated >= f.gated_min_accuracy,
            f"SimpleRNN accuracy {acc['rnn']:.3f} <= {f.rnn_max_accuracy}": acc["rnn"]
            <= f.rnn_max_accuracy,
            f"gap {gated - acc['rnn']:.3f} >= {f.min_gap}": gated - acc["rnn"] >= f.min_gap,
            f"training opened the LSTM's gradient path {orders:.1f} orders of magnitude more "
            f"than the SimpleRNN's (>= {f.min_opening_orders})": orders >= f.min_opening_orders,
        }
        numbers = {f"accuracy_{c}": a for c, a in acc.items()}
        numbers.update(
            {"gated_minus_rnn": gated - acc["rnn"], "grad_opening_orders_lstm_minus_rnn": orders}
        )
        context = f"at L={longest}: " + ", ".join(f"{c}={a:.3f}" for c, a in sorted(acc.items()))
        return Finding.from_checks(context, checks, numbers)
