"""tagging: many-to-many tagging where a token's tag depends on the next token.

Study notes 000/002/004: bidirectional RNNs read the sequence both ways, which is
what tagging tasks such as part-of-speech need -- a word's tag often depends on
the words after it. This task makes that dependence exact: the tag of token t
is the class of the token after it, `x_{t+1} mod classes` (class 0 after the
last token). A left-to-right RNN cannot know `x_{t+1}` when it must emit tag
t, so it is stuck near `1 / classes`; a bidirectional one can be exact.

Data: generated; uniform random tokens, a fresh draw per seed, held-out
test sequences. No well-kept package ships a tagged corpus inside the
package (nltk and spaCy download theirs at run time), so nothing real
runs offline.

    python -m rnnexp run tagging
    python -m rnnexp run tagging --profile ci --check

Measured results, and what each profile costs: `docs/experiments/tagging.md` (generated).

Expected result (asserted by `--check`): for every cell, the bidirectional
tagger's per-token test accuracy beats the unidirectional one's by at least
`finding.min_gain`, and the unidirectional one stays below
`finding.uni_max_accuracy` (chance is 1/classes).
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp import plots
from rnnexp.catalog import Check, Finding, TrialResult, group_mean, register
from rnnexp.config import check
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.recipes import CELLS, Cell, Split, SupervisedExperiment, grid
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class TaggingData:
    vocab: int = 10  # token ids 1..vocab (0 = beyond the ends)
    classes: int = 5
    length: int = 20
    train_size: int = 5000
    test_size: int = 1000

    def __post_init__(self):
        check(self.classes >= 2, "data.classes", self.classes, "an integer >= 2")
        check(self.length >= 3, "data.length", self.length, "an integer >= 3")


@dataclasses.dataclass(frozen=True)
class Sweep:
    cells: tuple[Cell, ...] = CELLS
    directions: tuple[Literal["uni", "bi"], ...] = ("uni", "bi")
    seeds: int = 1


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    min_gain: float = 0.3  # bi - uni per-token accuracy, every cell
    uni_max_accuracy: float = 0.45  # chance is 1/classes = 0.2


@dataclasses.dataclass(frozen=True)
class TaggingConfig:
    seed: int = 0
    data: TaggingData = TaggingData()
    model: StackConfig = StackConfig(units=32)
    train: TrainConfig = TrainConfig(epochs=15, learning_rate=3e-3)
    sweep: Sweep = Sweep()
    finding: FindingThresholds = FindingThresholds()


def make_tagging(n, cfg: TaggingData, rng):
    """Tokens `(n, T)` and tags `(n, T)`: tag_t = x_{t+1} mod classes (0 at the end)."""
    x = rng.integers(1, cfg.vocab + 1, size=(n, cfg.length))
    y = np.pad(x[:, 1:], ((0, 0), (0, 1))) % cfg.classes
    return x.astype("int32"), y.astype("int32")


@register
class Tagging(SupervisedExperiment):
    name = "tagging"
    metric = "test_accuracy"
    metrics = ("accuracy",)
    description = (
        "many-to-many tagging that needs the next token: bidirectional beats left-to-right"
    )
    shows = (
        "many-to-many tagging where a tag depends on the next token (study notes 000/002/004): "
        "bidirectional vs left-to-right"
    )
    config = TaggingConfig()
    profiles = {
        "ci": {"sweep.cells": ("rnn", "lstm"), "data.train_size": 3000, "train.epochs": 12},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, cell=cfg.sweep.cells, direction=cfg.sweep.directions)

    def split(self, cfg, trial, ctx):
        rng = np.random.default_rng(trial["seed"])
        x_tr, y_tr = make_tagging(cfg.data.train_size, cfg.data, rng)
        x_te, y_te = make_tagging(cfg.data.test_size, cfg.data, rng)
        one_hot = np.eye(cfg.data.vocab + 1, dtype="float32")  # token -> one-hot input
        return Split(one_hot[x_tr], y_tr, one_hot[x_te], y_te)  # validates on the test set

    def build(self, cfg, trial, split):
        import keras

        stack = dataclasses.replace(cfg.model, bidirectional=trial["direction"] == "bi")
        return build_sequence_model(
            stack,
            trial["cell"],
            (cfg.data.length, cfg.data.vocab + 1),
            keras.layers.Dense(cfg.data.classes, activation="softmax"),
            return_sequences=True,
        )

    def score(self, cfg, trial, fitted, split, ctx):
        model = fitted.model
        loss, acc = model.evaluate(split.x_val, split.y_val, verbose=0, batch_size=256)
        per_position = (np.argmax(model.predict(split.x_val, verbose=0), -1) == split.y_val).mean(0)
        return TrialResult(
            trial,
            metrics={
                "test_accuracy": float(acc),
                "test_loss": float(loss),
                "params": int(model.count_params()),
            },
            extras={"per_position": per_position},
        )

    def summarize(self, cfg, results, out_dir):
        curves = {}
        for r in results:
            if r.status == "FINISHED":
                curves.setdefault(f"{r.trial['cell']}-{r.trial['direction']}", []).append(
                    r.extras["per_position"]
                )
        series = {
            k: (np.arange(1, cfg.data.length + 1), np.mean(v, 0), None) for k, v in curves.items()
        }
        fig = plots.lines_with_spread(
            series,
            xlabel="position t",
            ylabel="tag accuracy",
            title="tagging: accuracy per position",
            hline=1 / cfg.data.classes,
            hline_label="chance",
        )
        return [plots.save(fig, out_dir / "accuracy_per_position.png")]

    def finding(self, cfg, results):
        f = cfg.finding
        acc = group_mean(results, "test_accuracy", "cell", "direction")
        cells = sorted({c for c, _ in acc})
        missing = [c for c in cfg.sweep.cells if (c, "uni") not in acc or (c, "bi") not in acc]
        if missing or not cells:
            return Finding(False, f"missing uni/bi results for {missing or 'all cells'}", {})
        gains = {c: acc[(c, "bi")] - acc[(c, "uni")] for c in cells}
        worst_gain = min(gains.values())
        best_uni = max(acc[(c, "uni")] for c in cells)
        checks = [
            Check("smallest bi - uni accuracy gain", worst_gain, ">=", f.min_gain),
            Check("best unidirectional accuracy", best_uni, "<=", f.uni_max_accuracy),
        ]
        detail = ", ".join(f"{c}: uni {acc[(c, 'uni')]:.3f} bi {acc[(c, 'bi')]:.3f}" for c in cells)
        return Finding.from_checks(detail, checks, {f"gain_{c}": g for c, g in gains.items()})
