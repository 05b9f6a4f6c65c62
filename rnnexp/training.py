"""Training helpers shared by experiments: seeding, fit with reporting, probes.

Nothing here knows about MLflow: metrics go to a `reporter` (any object with
`log_metrics(dict, step=)`, see `rnnexp.tracking.Reporter`).
"""

import dataclasses
import math
import time

import keras
import numpy as np

from rnnexp import console
from rnnexp.config import check


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


__all__ = [
    "EpochReporter",
    "NonFiniteLoss",
    "TrainConfig",
    "fit",
    "input_gradient_norms",
    "set_seed",
]


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss."""


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


def fit(model, x, y, *, epochs, batch_size, reporter, label="", validation_data=None):
    """`model.fit` with progress bars on a TTY and one line per epoch otherwise."""
    tty = console.is_tty()
    callbacks = [EpochReporter(reporter, epochs, label, print_lines=not tty)]
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


def input_gradient_norms(embed, body, loss_fn, tokens, labels, batch_size=64) -> np.ndarray:
    """Mean over examples of `||dL/dx_t||_2` for every time step `t`.

    `x_t` is the recurrent layer's input at step `t` (the embedding output),
    so the curve shows how much the loss can still feel step `t`: flat for a
    network that remembers, decaying towards `t = 1` when gradients vanish.

    Args:
        embed: the embedding layer (tokens `(B, T)` -> `(B, T, E)`).
        body: the rest of the model (`(B, T, E)` -> predictions).
        loss_fn: a Keras loss.
        tokens: `(N, T)` int array; labels: `(N,)`.

    Returns:
        `(T,)` float array.
    """
    import tensorflow as tf  # the probe needs a tape; layers stay backend-agnostic

    total = np.zeros(tokens.shape[1], dtype="float64")
    count = 0
    for start in range(0, len(tokens), batch_size):
        tok = tokens[start : start + batch_size]
        lab = labels[start : start + batch_size]
        x = tf.convert_to_tensor(embed(tok))
        with tf.GradientTape() as tape:
            tape.watch(x)
            # Sum (not mean) over the batch: each example's gradient is its own.
            loss = loss_fn(lab, body(x, training=False)) * len(tok)
        grad = tape.gradient(loss, x).numpy()
        total += np.linalg.norm(grad, axis=-1).sum(axis=0)
        count += len(tok)
    return total / max(count, 1)
