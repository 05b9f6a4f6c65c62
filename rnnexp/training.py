"""Training helpers shared by experiments: seeding, fit with reporting.

The gradient probes and the clipped training loop live in `rnnexp.gradients`
(one branch per Keras backend) and are re-exported here.

Nothing here knows about MLflow: metrics go to a `reporter` (any object with
`log_metrics(dict, step=)`, see `rnnexp.tracking.Reporter`).
"""

import dataclasses
import math
import time

import keras

from rnnexp import console
from rnnexp.config import check
from rnnexp.gradients import (
    NonFiniteLoss,
    hidden_state_gradient_norms,
    input_gradient_norms,
    train_with_clipping,
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a trial trains. `clipnorm`: per-tensor gradient clipping (0 = off)."""

    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 1.0

    def __post_init__(self):
        check(self.epochs >= 1, "train.epochs", self.epochs, "an integer >= 1")
        check(self.batch_size >= 1, "train.batch_size", self.batch_size, "an integer >= 1")
        check(self.learning_rate > 0, "train.learning_rate", self.learning_rate, "> 0")
        check(self.clipnorm >= 0, "train.clipnorm", self.clipnorm, ">= 0 (0 = no clipping)")

    def adam(self):
        """Adam with this learning rate and per-tensor clipping (if any)."""
        return keras.optimizers.Adam(self.learning_rate, clipnorm=self.clipnorm or None)


__all__ = [
    "EpochReporter",
    "EvaluateEachEpoch",
    "NonFiniteLoss",
    "strategy_scope",
    "TrainConfig",
    "fit",
    "hidden_state_gradient_norms",
    "input_gradient_norms",
    "set_seed",
    "train_with_clipping",
]


DISTRIBUTE = ("auto", "none", "mirrored")


def strategy_scope(mode: str = "auto"):
    """A context in which to build, compile and fit models.

    `none`: the default single device. `mirrored`: data parallelism with
    `tf.distribute.MirroredStrategy` over every visible GPU (over the logical
    CPUs when there is no GPU). `auto`: mirrored when more than one GPU is
    visible, else none. Other Keras backends have no such strategy: none.

    Returns:
        `(context manager, description)`, e.g. `(scope, "mirrored x2")`.
    """
    import contextlib

    if mode not in DISTRIBUTE:
        raise ValueError(f"unknown distribute mode {mode!r}; choose one of {DISTRIBUTE}")
    if keras.backend.backend() != "tensorflow" or mode == "none":
        return contextlib.nullcontext(), "none"
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if mode == "auto" and len(gpus) < 2:
        return contextlib.nullcontext(), "none"
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    return strategy.scope(), f"mirrored x{strategy.num_replicas_in_sync}"


def set_seed(seed: int):
    """Seed Python, NumPy and the backend (Keras's one switch for all three)."""
    keras.utils.set_random_seed(seed)


class EpochReporter(keras.callbacks.Callback):
    """Per-epoch metrics to the reporter (with `step=epoch`) and one console line.

    Raises `NonFiniteLoss` when the loss stops being finite, so a diverged
    trial fails loudly instead of logging NaNs.
    """

    def __init__(self, reporter, epochs: int, label: str = "", print_lines: bool = True):
        super().__init__()
        self.reporter, self.epochs, self.label = reporter, epochs, label
        self.print_lines = print_lines
        self._t0 = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(f"loss became {loss} at epoch {epoch + 1}")
        seconds = time.monotonic() - self._t0
        self.reporter.log_metrics({**logs, "epoch_seconds": seconds}, step=epoch)
        if self.print_lines:
            values = " ".join(f"{k}={float(v):.4f}" for k, v in logs.items())
            console.say(
                f"    {self.label} epoch {epoch + 1}/{self.epochs} {values} ({seconds:.1f}s)"
            )


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Adds `evaluate()`'s metrics (e.g. BLEU of a decoded subset) to each epoch's logs.

    For scores Keras cannot compute inside `fit`, such as metrics of
    generated sequences. `every`: evaluate every k-th epoch and the last one.
    """

    def __init__(self, evaluate, every: int = 1):
        super().__init__()
        self.evaluate, self.every = evaluate, max(1, every)

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if logs is not None and ((epoch + 1) % self.every == 0 or last):
            logs.update(self.evaluate())


def fit(model, x, y, *, epochs, batch_size, reporter, label="", validation_data=None, callbacks=()):
    """`model.fit` with progress bars on a TTY and one line per epoch otherwise.

    `callbacks` run before the reporter, so metrics they add to the epoch's
    logs (see `EvaluateEachEpoch`) are reported and printed with the rest.
    """
    tty = console.is_tty()
    callbacks = list(callbacks) + [EpochReporter(reporter, epochs, label, print_lines=not tty)]
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        callbacks=callbacks,
        verbose=1 if tty else 0,
        shuffle=True,
    )
