"""Training helpers shared by experiments: seeding, fit with reporting.

The gradient probes and the clipped training loop live in `rnnexp.gradients`
(one branch per Keras backend).

Nothing here knows about MLflow: metrics go to a `reporter` (an
`rnnexp.tracking.reporter.Reporter`). Keras and TensorFlow are imported inside
the functions that train, so that `TrainConfig` is declared without them.
"""

import dataclasses
from typing import Literal

from rnnexp.config import Positive, check


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a trial trains. `clipnorm`: per-tensor gradient clipping (0 = off)."""

    epochs: Positive = 5
    batch_size: Positive = 64
    learning_rate: float = 1e-3
    clipnorm: float = 1.0

    def __post_init__(self):
        check(self.learning_rate > 0, "train.learning_rate", self.learning_rate, "> 0")
        check(self.clipnorm >= 0, "train.clipnorm", self.clipnorm, ">= 0 (0 = no clipping)")

    def adam(self, steps: int | None = None):
        """Adam with this learning rate and per-tensor clipping (if any).

        `steps`: the optimizer steps the training will take (a schedule needs them;
        this constant rate ignores them).
        """
        import keras

        return keras.optimizers.Adam(self.learning_rate, clipnorm=self.clipnorm or None)


@dataclasses.dataclass(frozen=True)
class ScheduledTrainConfig(TrainConfig):
    """A `TrainConfig` whose learning rate may follow a schedule over the training steps.

    `schedule="cosine"`: from `learning_rate` down to 0 along a half cosine
    (Loshchilov & Hutter 2017, without restarts), so the last epochs take small
    steps and the final weights settle instead of being read mid-oscillation.
    A subclass, not a field of `TrainConfig`: other experiments' resolved configs
    (and so their robustness records) stay as they are.
    """

    schedule: Literal["constant", "cosine"] = "constant"

    def adam(self, steps: int | None = None):
        import keras

        if self.schedule == "constant":
            return super().adam(steps)
        if not steps:
            raise ValueError("a cosine schedule needs the number of training steps")
        rate = keras.optimizers.schedules.CosineDecay(self.learning_rate, steps)
        return keras.optimizers.Adam(rate, clipnorm=self.clipnorm or None)


__all__ = [
    "ScheduledTrainConfig",
    "TrainConfig",
    "best_epoch_stopping",
    "fit",
    "scores_at_best_epoch",
    "set_seed",
    "fit_stop_reason",
]


def set_seed(seed: int):
    """Seed Python, NumPy and the backend (Keras's one switch for all three)."""
    import keras

    keras.utils.set_random_seed(seed)


def fit(
    model,
    x,
    y,
    *,
    epochs,
    batch_size,
    reporter,
    label="",
    validation_data=None,
    callbacks=(),
    shuffle=True,
):
    """`model.fit` with no Keras progress bar: the sweep's console shows each epoch.

    `callbacks` run before the reporter, so metrics they add to the epoch's
    logs (see `rnnexp.callbacks.EvaluateEachEpoch`) are reported and printed with the rest.
    `shuffle=False` keeps the batches in order (a stateful model reading streams).
    Why training stopped (every epoch, or early stopping at epoch k) is tagged `train.stopped`.
    """
    from rnnexp.callbacks import EpochReporter

    epoch_reporter = EpochReporter(reporter, epochs, label)
    callbacks = list(callbacks) + [epoch_reporter]
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=callbacks,
        verbose=0,
        shuffle=shuffle,
    )
    run = epoch_reporter.epochs_run
    reporter.set_tags({STOPPED_TAG: fit_stop_reason(callbacks, run, epochs), EPOCHS_RUN_TAG: run})
    return history


STOPPED_TAG, EPOCHS_RUN_TAG = "train.stopped", "train.epochs_run"


def fit_stop_reason(callbacks, epochs_run: int, epochs: int) -> str:
    """Why `fit` ended: `all 12 epochs`, or `early stopping at epoch 5 of 12 (best epoch 3)`."""
    for cb in callbacks:
        if getattr(cb, "stopped_epoch", 0) and hasattr(cb, "patience"):  # keras EarlyStopping
            best = getattr(cb, "best_epoch", None)
            best = f", best epoch {best + 1}" if isinstance(best, int) else ""
            return f"early stopping at epoch {epochs_run} of {epochs}{best}"
    if epochs_run < epochs:
        return f"stopped at epoch {epochs_run} of {epochs}"
    return "its 1 epoch" if epochs == 1 else f"all {epochs} epochs"


def best_epoch_stopping(patience: int):
    """Early stopping on validation accuracy that restores the best epoch's weights."""
    import keras

    return keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=patience, restore_best_weights=True
    )


def scores_at_best_epoch(model, history: dict, x_test, y_test) -> dict:
    """A classifier fitted with `best_epoch_stopping` (`accuracy` compiled in), scored on the
    test set once: test accuracy and loss, and the best validation epoch's numbers."""
    import numpy as np

    val_acc = history["val_accuracy"]
    best = int(np.argmax(val_acc))
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0, batch_size=256)
    return {
        "test_accuracy": float(test_acc),
        "test_loss": float(test_loss),
        "val_accuracy": float(val_acc[best]),
        "best_epoch": best + 1,
        "epochs_run": len(val_acc),
        "fit_accuracy": float(history["accuracy"][best]),
    }
