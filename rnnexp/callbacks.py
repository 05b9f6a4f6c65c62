"""Keras callbacks of our training loop: per-epoch reporting, extra evaluations.

A Keras-only module (its classes subclass `keras.callbacks.Callback`): import it
where models train, never where experiments are declared.
"""

import math
import time

import keras

from rnnexp import console
from rnnexp.gradients import NonFiniteLoss

__all__ = ["EpochReporter", "EvaluateEachEpoch"]


class EpochReporter(keras.callbacks.Callback):
    """Per-epoch metrics to the reporter (with `step=epoch`) and one console line.

    Raises `NonFiniteLoss` when the loss stops being finite, so a diverged
    trial fails loudly instead of logging NaNs.
    """

    def __init__(self, reporter, epochs: int, label: str = "", print_lines: bool = True):
        super().__init__()
        self.reporter, self.epochs, self.label = reporter, epochs, label
        self.print_lines = print_lines
        self.epochs_run = 0
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
        self.epochs_run = epoch + 1
        # In a terminal the sweep's bar shows the epoch; elsewhere a plain line does.
        if self.print_lines and not console.epoch_done(epoch + 1, self.epochs):
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
