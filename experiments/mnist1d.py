"""mnist1d: MNIST-1D, digits as 40-step sequences; a GRU reads them in order, shuffled it cannot.

Greydanus 2020 ("Scaling down deep learning", arXiv 2011.14439; the
`mnist1d` README's table): on MNIST-1D a GRU reaches 91% test accuracy, a
CNN 94%, an MLP 68% and logistic regression 32%; with the 40 positions of
every sequence shuffled by one fixed permutation the GRU falls to 57% and the
CNN to 56%, while the MLP and logistic regression, which see no order, keep
68% and 32%. A recurrent network uses the order of its inputs; a model that
reads them all at once does not care.

Data: generated offline by the `mnist1d` package (`make_dataset`, its
default arguments: seed 42, 4,000 training and 1,000 test sequences), the
same data set as the paper's to floating-point rounding; `shuffle_seq=True`
for the shuffled variant. The data set is fixed: seeds vary the models'
initial weights and the order of the batches.

Models as in the paper's `notebooks/models.py`: the recurrent network is
bidirectional with 6 units per direction, every step's output flattened into
one linear read-out (5,134 weights for the GRU); the CNN three strided
convolutions (25 channels) and a linear read-out; the MLP two ReLU layers of
100 (the second residual); logistic regression one linear layer.
Training as in its `train.py`: Adam at 1e-2, batches of 100, no clipping,
6,000 steps (150 epochs of 4,000), the final model scored on the test set.
Where we differ: Keras reshuffles the batches every epoch (the paper walks
the data in one fixed order) and its layers' initial weights follow Keras's
defaults, not PyTorch's; the paper reports one run, we report seed means with
their interval. The test set is also evaluated after every epoch for the
learning curve and the accuracy at half the epochs; nothing is chosen on it.

    python -m rnnexp run mnist1d --profile ci --check
    python -m rnnexp run mnist1d                          # GRU and the 3 baselines, 3 seeds
    python -m rnnexp run mnist1d --profile greydanus2020  # the paper's protocol, 5 seeds

Profiles:
- `ci`: the GRU only, in order and shuffled, 3 seeds, 20 epochs (800 steps).
- `default`: GRU, CNN, MLP and logistic regression, both orders, 3 seeds,
  the paper's 150 epochs.
- `greydanus2020`: the same at 5 seeds.

Expected result (asserted by `--check`, thresholds in `FindingThresholds`):
for every model that reads positions in order (the recurrent cells, the CNN),
in-order beats shuffled, paired by seed (the lower end of the 90% interval of
the per-seed difference is above `min_order_gain`); the GRU's mean in-order
accuracy reaches `gru_min_accuracy`. Measured results: `python -m rnnexp show
mnist1d` and the robustness record.
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp.report import plots
from rnnexp.report.paired import by_arm
from rnnexp.catalog import Check, Finding, PaperResult, TrialResult, register
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import Positive
from rnnexp.data import mnist1d as mnist1d_data
from rnnexp.models import Impl, StackConfig, build_sequence_model
from rnnexp.names import plain
from rnnexp.recipes.supervised import Split, SupervisedExperiment, grid
from rnnexp.report.stats import mean_interval, paired_interval
from rnnexp.training import TrainConfig

Model = Literal["gru", "lstm", "rnn", "cnn", "mlp", "logistic"]
Order = Literal["plain", "shuffled"]
RECURRENT = ("gru", "lstm", "rnn")
ORDER_AWARE = RECURRENT + ("cnn",)  # the models whose shuffled accuracy should fall
CLASSES = 10

# Greydanus 2020, the mnist1d README's table (one run each): test accuracy.
PAPER = {
    ("logistic", "plain"): 0.32,
    ("mlp", "plain"): 0.68,
    ("cnn", "plain"): 0.94,
    ("gru", "plain"): 0.91,
    ("logistic", "shuffled"): 0.32,
    ("mlp", "shuffled"): 0.68,
    ("cnn", "shuffled"): 0.56,
    ("gru", "shuffled"): 0.57,
}


@dataclasses.dataclass(frozen=True)
class RecurrentConfig:
    """The paper's GRUBase: bidirectional, 6 units per direction, every step read out."""

    units: Positive = 6
    bidirectional: bool = True
    impl: Impl = "rnnexp"


@dataclasses.dataclass(frozen=True)
class Sweep:
    models: tuple[Model, ...] = ("gru", "cnn", "mlp", "logistic")
    orders: tuple[Order, ...] = ("plain", "shuffled")
    seeds: Positive = 3


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    # In-order minus shuffled accuracy, paired by seed: the lower end of its 90% interval.
    min_order_gain: float = 0.0
    # GRU in-order mean over a ci sweep's 3 seeds. Rule: the mean of the GRU's accuracy at the
    # development seeds 0-5 (ci) minus 4 standard errors of a 3-seed mean, rounded down to 0.01.
    gru_min_accuracy: float = 0.81


@dataclasses.dataclass(frozen=True)
class Mnist1dConfig:
    seed: int = 0
    data: mnist1d_data.Mnist1dData = mnist1d_data.Mnist1dData()
    model: RecurrentConfig = RecurrentConfig()
    # The paper's train.py: Adam 1e-2, batches of 100, no clipping, 6,000 steps = 150 epochs.
    train: TrainConfig = TrainConfig(epochs=150, batch_size=100, learning_rate=1e-2, clipnorm=0.0)
    sweep: Sweep = Sweep()
    finding: FindingThresholds = FindingThresholds()


def build_model(cfg: Mnist1dConfig, model: str, length: int):
    """One of the paper's four models over `(batch, length, 1)` sequences, softmax over 10."""
    import keras

    readout = keras.layers.Dense(CLASSES, activation="softmax", name="readout")
    if model in RECURRENT:
        stack = StackConfig(
            units=cfg.model.units, bidirectional=cfg.model.bidirectional, impl=cfg.model.impl
        )
        head = keras.Sequential([keras.layers.Flatten(), readout], name="every_step_readout")
        return build_sequence_model(
            stack, model, (length, 1), head, return_sequences=True, name=f"{model}_mnist1d"
        )
    inputs = keras.Input((length, 1))
    if model == "cnn":  # Conv1d(k5, s2, p1) then two Conv1d(k3, s2, p1), 25 channels, ReLU
        h = inputs
        for k, kernel in enumerate((5, 3, 3)):
            h = keras.layers.ZeroPadding1D(1)(h)
            h = keras.layers.Conv1D(25, kernel, strides=2, activation="relu", name=f"conv{k}")(h)
        h = keras.layers.Flatten()(h)
    elif model == "mlp":  # h = relu(W1 x); h = h + relu(W2 h)
        h = keras.layers.Dense(100, activation="relu")(keras.layers.Flatten()(inputs))
        h = keras.layers.Add()([h, keras.layers.Dense(100, activation="relu")(h)])
    else:  # logistic regression
        h = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, readout(h), name=f"{model}_mnist1d")


def _by_seed(results, metric="test_accuracy") -> dict:
    """`{(model, order): {seed: metric}}` over the finished trials."""
    return by_arm(results, metric, ("model", "order"))


@register
class Mnist1d(SupervisedExperiment):
    name = "mnist1d"
    metric = "test_accuracy"
    metrics = ("accuracy",)
    description = (
        "MNIST-1D (Greydanus 2020): a GRU reads a digit's 40 positions in order; shuffled "
        "positions cost it its accuracy"
    )
    shows = (
        "MNIST-1D, generated offline by the mnist1d package: the paper's bidirectional GRU, CNN, "
        "MLP and logistic regression on the sequences in order and with their positions shuffled,"
        " against the paper's table"
    )
    config = Mnist1dConfig()
    # The README's reproduction table: the paper's one run against our seeds (ci: 800 steps).
    paper_results = tuple(
        PaperResult(
            f"GRU, {plain(order)}",
            "Greydanus 2020, mnist1d README table",
            PAPER[("gru", order)],
            "test_accuracy",
            (("model", "gru"), ("order", order)),
            curve="val_accuracy",
            curve_label="test accuracy",
            percent=True,
            note="20 of the paper's 150 epochs",
        )
        for order in ("plain", "shuffled")
    )
    profiles = {
        # The claim's two arms only; 800 steps already separate them (the paper's curves
        # are near their end by step 1,000).
        "ci": {"sweep.models": ("gru",), "train.epochs": 20},
        "greydanus2020": {"sweep.seeds": 5},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, model=cfg.sweep.models, order=cfg.sweep.orders)

    def data_source(self, cfg, data=None):
        return "mnist1d"

    def dataset(self, cfg, trial, data=None):
        if data is None:
            return None
        return mnist1d_data.data_card(data[trial["order"]])

    def prepare(self, cfg):
        return {
            order: mnist1d_data.load(cfg.data, shuffled=order == "shuffled")
            for order in cfg.sweep.orders
        }

    def split(self, cfg, trial, ctx):
        d = ctx.data[trial["order"]]
        ctx.reporter.set_tags({"data.description": f"MNIST-1D, {plain(trial['order'])}"})
        # Validates on the test set for the learning curve only: no epoch is chosen on it.
        return Split(d.x_train[..., None], d.y_train, d.x_test[..., None], d.y_test)

    def build(self, cfg, trial, split):
        return build_model(cfg, trial["model"], split.x_train.shape[1])

    def score(self, cfg, trial, fitted, split, ctx):
        model = fitted.model
        loss, acc = model.evaluate(split.x_val, split.y_val, verbose=0, batch_size=500)
        curve = [float(v) for v in fitted.history.history["val_accuracy"]]
        return TrialResult(
            trial,
            metrics={
                "test_accuracy": float(acc),
                "test_loss": float(loss),
                "test_accuracy_half_epochs": curve[(len(curve) - 1) // 2],
                "params": int(model.count_params()),
            },
            extras={"test_accuracy_curve": curve},
        )

    def summarize(self, cfg, results, out_dir):
        table = _by_seed(results)
        half = _by_seed(results, "test_accuracy_half_epochs")
        lines = [
            f"| model | positions | test accuracy, mean ± 95% interval | at epoch "
            f"{(cfg.train.epochs + 1) // 2} of {cfg.train.epochs} | seeds | Greydanus 2020 |",
            "|---|---|---|---|---|---|",
        ]
        for key in sorted(table, key=lambda k: (cfg.sweep.models.index(k[0]), k[1])):
            full, mid = mean_interval(table[key].values()), mean_interval(half[key].values())
            paper = f"{PAPER[key]:.2f}" if key in PAPER else "not reported"
            lines.append(
                f"| {plain(key[0])} | {plain(key[1])} | {full} | {mid} | {full.n} | {paper} |"
            )
        summary = out_dir / "accuracy_vs_paper.md"
        summary.write_text("\n".join(lines) + "\n")
        return [summary] + plots.mean_curves_figure(
            results,
            "test_accuracy_curve",
            lambda t: f"{plain(t['model'])}, {plain(t['order'])}",
            out_dir / "test_accuracy_by_epoch.png",
            title="MNIST-1D: test accuracy per epoch",
            xlabel="epoch (40 steps of 100 sequences)",
            ylabel="test accuracy",
            hline=0.1,
            hline_label="chance (10 digits)",
            references=tuple(
                (PAPER[("gru", order)], f"Greydanus 2020: GRU, {plain(order)}")
                for order in ("plain", "shuffled")
                if ("gru", order) in table
            ),
        )

    def finding(self, cfg, results):
        return evaluate_finding(cfg.finding, results)

    def finding_cases(self):
        def at_margin(cfg):
            # every seed at the accuracy floor, shuffling costs exactly the least gain
            floor = cfg.finding.gru_min_accuracy
            return synthetic_results([floor] * 3, [floor - cfg.finding.min_order_gain] * 3)

        return FindingCases(
            passing=lambda cfg: synthetic_results([0.87, 0.89, 0.85], [0.53, 0.54, 0.52]),
            failing=lambda cfg: synthetic_results([0.88, 0.80, 0.90], [0.85, 0.86, 0.84]),
            at_margin=(at_margin,),
        )


def evaluate_finding(f: FindingThresholds, results) -> Finding:
    table = _by_seed(results)
    checks, numbers, parts = [], {}, []
    for model in ORDER_AWARE:
        arms = table.get((model, "plain")), table.get((model, "shuffled"))
        if not all(arms):
            continue
        seeds = sorted(set(arms[0]) & set(arms[1]))
        gain = paired_interval([arms[0][s] for s in seeds], [arms[1][s] for s in seeds])
        numbers[f"{model}_order_gain"] = gain.mean
        parts.append(
            f"{plain(model)} in order {mean_interval(arms[0].values())}, "
            f"shuffled {mean_interval(arms[1].values())}"
        )
        label = f"{plain(model)}: in order minus shuffled accuracy, low end of its 90% interval"
        checks.append(Check(label, gain.low, ">=", f.min_order_gain))
    if ("gru", "plain") in table:
        accuracy = float(np.mean(list(table[("gru", "plain")].values())))
        numbers["gru_plain_accuracy"] = accuracy
        label = "GRU in-order test accuracy, seed mean"
        checks.append(Check(label, accuracy, ">=", f.gru_min_accuracy))
    if not checks:
        return Finding(False, "no model ran both in order and shuffled", numbers)
    return Finding.from_checks("; ".join(parts) or "GRU in order only", checks, numbers)


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(in_order, shuffled):
    """GRU test accuracy per seed (paired by position), in order and with positions shuffled."""
    return [
        finished({"test_accuracy": a}, model="gru", order=order, seed=k)
        for order, accuracies in (("plain", in_order), ("shuffled", shuffled))
        for k, a in enumerate(accuracies)
    ]
