"""Training helpers shared by experiments: seeding, fit with reporting, probes.

Nothing here knows about MLflow: metrics go to a `reporter` (an
`rnnexp.reporting.Reporter`). Keras and TensorFlow are imported inside
the functions that train, so that `TrainConfig` is declared without them.
"""

import dataclasses
import math
import time

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

    def adam(self):
        """Adam with this learning rate and per-tensor clipping (if any)."""
        import keras

        return keras.optimizers.Adam(self.learning_rate, clipnorm=self.clipnorm or None)


__all__ = [
    "NonFiniteLoss",
    "strategy_scope",
    "TrainConfig",
    "fit",
    "hidden_state_gradient_norms",
    "input_gradient_norms",
    "set_seed",
]


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss.

    `extras`: what was recorded up to the failure (e.g. the per-step gradient
    norms of `train_with_clipping`); the runner keeps them for the summary.
    """

    def __init__(self, message: str, extras: dict | None = None):
        super().__init__(message)
        self.extras = dict(extras or {})


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

    import keras

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
    import keras

    keras.utils.set_random_seed(seed)


def fit(model, x, y, *, epochs, batch_size, reporter, label="", validation_data=None, callbacks=()):
    """`model.fit` with progress bars on a TTY and one line per epoch otherwise.

    `callbacks` run before the reporter, so metrics they add to the epoch's
    logs (see `rnnexp.callbacks.EvaluateEachEpoch`) are reported and printed with the rest.
    """
    from rnnexp.callbacks import EpochReporter

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


def input_gradient_norms(body, inputs, labels, loss_fn, embed=None, batch_size=64) -> np.ndarray:
    """Mean over examples of `||dL/dx_t||_2` for every time step `t`.

    `x_t` is the recurrent layer's input at step `t` (the embedding output
    for token inputs), so the curve shows how much the loss can still feel
    step `t`: flat for a network that remembers, decaying towards `t = 1` when
    gradients vanish.

    Args:
        body: the model from the recurrent input on (`(B, T, E)` -> predictions).
        inputs: `(N, T)` token ids (with `embed`) or `(N, T, E)` floats.
        labels: targets, `(N, ...)`.
        loss_fn: a Keras loss.
        embed: the embedding layer for token inputs, else None.

    Returns:
        `(T,)` float array.
    """
    import tensorflow as tf  # the probe needs a tape; layers stay backend-agnostic

    total = np.zeros(inputs.shape[1], dtype="float64")
    count = 0
    for start in range(0, len(inputs), batch_size):
        tok = inputs[start : start + batch_size]
        lab = labels[start : start + batch_size]
        x = tf.convert_to_tensor(embed(tok) if embed is not None else tok)
        with tf.GradientTape() as tape:
            tape.watch(x)
            # Sum (not mean) over the batch: each example's gradient is its own.
            loss = loss_fn(lab, body(x, training=False)) * len(tok)
        grad = tape.gradient(loss, x).numpy()
        total += np.linalg.norm(grad, axis=-1).sum(axis=0)
        count += len(tok)
    return total / max(count, 1)


def hidden_state_gradient_norms(model, inputs, labels, loss_fn, batch_size=128) -> np.ndarray:
    """Mean over examples of `||dL/dh_t||_2` for every step `t` (BPTT's own quantity).

    The model must be `Input -> DeepRNN(depth=1, unidirectional, many-to-one)
    -> head`, as `build_sequence_model` makes it. The cell is unrolled here
    step by step under a tape, so the gradient of the loss with respect to
    each hidden state `h_t` -- through every later step, as backpropagation
    through time carries it -- is read directly: the vanishing-gradient
    picture of Bengio et al. (1994) and Pascanu et al. (2013).

    Returns:
        `(T,)` float array.
    """
    import tensorflow as tf  # the probe needs a tape; layers stay backend-agnostic

    stack = model.get_layer("recurrent")
    if stack.depth != 1 or stack.bidirectional or stack.return_sequences:
        raise ValueError("hidden_state_gradient_norms needs one unidirectional many-to-one layer")
    cell = stack.rnn_layers[0].cell
    head = model.layers[-1]
    total = np.zeros(inputs.shape[1], dtype="float64")
    for start in range(0, len(inputs), batch_size):
        x = tf.convert_to_tensor(inputs[start : start + batch_size])
        lab = labels[start : start + batch_size]
        with tf.GradientTape() as tape:
            states = cell.get_initial_state(x.shape[0])
            hidden = []
            for t in range(x.shape[1]):
                h, states = cell(x[:, t], states, training=False)
                hidden.append(h)
            # Sum (not mean) over the batch: each example's gradient is its own.
            loss = loss_fn(lab, head(hidden[-1])) * x.shape[0]
        grads = tape.gradient(loss, hidden)
        total += np.stack([np.linalg.norm(g.numpy(), axis=-1).sum() for g in grads])
    return total / len(inputs)


def train_with_clipping(
    model,
    loss_fn,
    optimizer,
    x,
    y,
    *,
    epochs,
    batch_size,
    clip,
    clip_value,
    reporter,
    label="",
    seed=0,
):
    """Mini-batch training with explicit clipping, recording every step's gradient norm.

    Args:
        clip: `"none"`, `"per_tensor"` (each gradient tensor clipped to
            `clip_value`, as Keras's `clipnorm`) or `"global"` (all gradients
            rescaled together when their global norm exceeds `clip_value`,
            Pascanu et al. 2013).

    Returns:
        `{"loss": [...], "grad_norm_pre_clip": [...], "grad_norm_post_clip": [...]}`
        per step (also sent to `reporter.log_series` once per epoch).

    Raises:
        NonFiniteLoss: at the first step whose loss or gradient norm is NaN/inf.
    """
    import tensorflow as tf  # the explicit gradient step needs a tape

    if clip not in ("none", "per_tensor", "global"):
        raise ValueError(f"clip must be 'none', 'per_tensor' or 'global', got {clip!r}")
    variables = model.trainable_variables

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, variables)
        pre = tf.linalg.global_norm(grads)
        if clip == "global":
            grads, _ = tf.clip_by_global_norm(grads, clip_value, use_norm=pre)
        elif clip == "per_tensor":
            grads = [tf.clip_by_norm(g, clip_value) for g in grads]
        optimizer.apply_gradients(zip(grads, variables))
        return loss, pre, tf.linalg.global_norm(grads)

    rng = np.random.default_rng(seed)
    history = {"loss": [], "grad_norm_pre_clip": [], "grad_norm_post_clip": []}
    for epoch in range(epochs):
        t0, first = time.monotonic(), len(history["loss"])
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            loss, pre, post = (float(v) for v in step(x[idx], y[idx]))
            for key, value in zip(history, (loss, pre, post)):
                history[key].append(value)
            if not (math.isfinite(loss) and math.isfinite(pre)):
                reporter.log_series({k: v[first:] for k, v in history.items()}, first)
                raise NonFiniteLoss(
                    f"loss {loss} / gradient norm {pre} at step {len(history['loss'])} "
                    f"(epoch {epoch + 1}, clip={clip})",
                    extras=history,
                )
        reporter.log_series({k: v[first:] for k, v in history.items()}, first)
        epoch_loss = float(np.mean(history["loss"][first:]))
        reporter.log_metrics({"epoch_loss": epoch_loss}, step=epoch)
        console.say(
            f"    {label} epoch {epoch + 1}/{epochs} loss={epoch_loss:.4f} "
            f"max_grad_norm={max(history['grad_norm_pre_clip'][first:]):.3g} "
            f"({time.monotonic() - t0:.1f}s)"
        )
    return history
