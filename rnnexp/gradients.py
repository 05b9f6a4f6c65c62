"""Gradients with whichever Keras backend is active: the probes and clipped training.

The layers are backend-neutral (`keras.ops` only); what needs a gradient
outside `model.fit` lives here, with one branch per backend:

- tensorflow: `tf.GradientTape` (and `@tf.function` for the training step),
  exactly as the findings were calibrated;
- jax: `jax.value_and_grad`, over `stateless_call` where weights get gradients;
- torch: `torch.autograd.grad`.

Nothing here knows about MLflow: metrics go to a `reporter` (any object with
`log_metrics(dict, step=)` and `log_series(dict, first)`).
"""

import math
import time

import keras
import numpy as np
from keras import ops

from rnnexp import console

__all__ = [
    "CLIPS",
    "NonFiniteLoss",
    "hidden_state_gradient_norms",
    "input_gradient_norms",
    "input_gradients",
    "reach_metrics",
    "train_with_clipping",
]

#: How `train_with_clipping` may clip.
CLIPS = ("none", "per_tensor", "global")


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss.

    `extras`: what was recorded up to the failure (e.g. the per-step gradient
    norms of `train_with_clipping`); the runner keeps them for the summary.
    """

    def __init__(self, message: str, extras: dict | None = None):
        super().__init__(message)
        self.extras = dict(extras or {})


def input_gradients(fn, args):
    """The gradient of the scalar `fn(*args)` with respect to each of `args`.

    Args:
        fn: takes backend tensors shaped like `args`, returns a scalar tensor.
        args: arrays (NumPy or backend tensors); they are constants to `fn`'s
            weights, which get no gradient here.

    Returns:
        a list of NumPy arrays, one per arg.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        args = [tf.convert_to_tensor(a) for a in args]
        with tf.GradientTape() as tape:
            for a in args:
                tape.watch(a)
            value = fn(*args)
        return [g.numpy() for g in tape.gradient(value, args)]
    if backend == "jax":
        import jax

        args = [ops.convert_to_tensor(a) for a in args]
        grads = jax.grad(fn, argnums=tuple(range(len(args))))(*args)
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        args = [ops.convert_to_tensor(a).detach().requires_grad_(True) for a in args]
        grads = torch.autograd.grad(fn(*args), args)
        return [g.detach().cpu().numpy() for g in grads]
    raise NotImplementedError(f"no gradients for Keras backend {backend!r}")


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
    total = np.zeros(inputs.shape[1], dtype="float64")
    count = 0
    for start in range(0, len(inputs), batch_size):
        tok = inputs[start : start + batch_size]
        lab = labels[start : start + batch_size]
        x = embed(tok) if embed is not None else tok
        n = len(tok)

        def loss(x, lab=lab, n=n):
            # Sum (not mean) over the batch: each example's gradient is its own.
            return loss_fn(lab, body(x, training=False)) * n

        (grad,) = input_gradients(loss, [x])
        total += np.linalg.norm(grad, axis=-1).sum(axis=0)
        count += n
    return total / max(count, 1)


def reach_metrics(grad_init, grad_trained) -> dict:
    """How much of the gradient at the read-out reaches the first step, at init and trained.

    `grad_reach*` = log10(||dL/dx_1|| / ||dL/dx_L||): 0 for a memory that does not fade;
    a norm of exactly 0 (float32 underflow) is floored at 1e-45.
    """
    floor = 1e-45

    def reach(g):
        return float(np.log10(max(g[0], floor)) - np.log10(max(g[-1], floor)))

    return {
        "grad_first_init": float(grad_init[0]),
        "grad_first": float(grad_trained[0]),
        "grad_last": float(grad_trained[-1]),
        "grad_reach_init": reach(grad_init),
        "grad_reach": reach(grad_trained),
    }


def hidden_state_gradient_norms(model, inputs, labels, loss_fn, batch_size=128) -> np.ndarray:
    """Mean over examples of `||dL/dh_t||_2` for every step `t` (BPTT's own quantity).

    The model must be `Input -> DeepRNN(depth=1, unidirectional, many-to-one)
    -> head`, as `build_sequence_model` makes it. The cell is unrolled here
    step by step, and a zero `e_t` is added to each hidden state `h_t` as it
    leaves its step: `dL/de_t` is the gradient of the loss with respect to
    `h_t` through every later step, as backpropagation through time carries
    it -- the vanishing-gradient picture of Bengio et al. (1994) and Pascanu
    et al. (2013). (Adding zeros changes no value, so on TensorFlow this is
    the tape's gradient with respect to the hidden states themselves.)

    Returns:
        `(T,)` float array.
    """
    stack = model.get_layer("recurrent")
    if stack.depth != 1 or stack.bidirectional or stack.return_sequences:
        raise ValueError("hidden_state_gradient_norms needs one unidirectional many-to-one layer")
    cell = stack.rnn_layers[0].cell
    head = model.layers[-1]
    steps = inputs.shape[1]
    total = np.zeros(steps, dtype="float64")
    for start in range(0, len(inputs), batch_size):
        x = ops.convert_to_tensor(inputs[start : start + batch_size])
        lab = labels[start : start + batch_size]
        n = int(x.shape[0])

        def loss(*zeros, x=x, lab=lab, n=n):
            states = cell.get_initial_state(n)
            for t in range(steps):
                h, states = cell(x[:, t], states, training=False)
                h = h + zeros[t]
                # `h` is the first state (every cell here returns `h, [h, ...]`).
                states = [h] + list(states[1:])
            # Sum (not mean) over the batch: each example's gradient is its own.
            return loss_fn(lab, head(h)) * n

        zeros = [np.zeros((n, cell.units), "float32") for _ in range(steps)]
        grads = input_gradients(loss, zeros)
        total += np.stack([np.linalg.norm(g, axis=-1).sum() for g in grads])
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
    if clip not in CLIPS:
        raise ValueError(f"clip must be 'none', 'per_tensor' or 'global', got {clip!r}")
    step, finish = _clipped_step(model, loss_fn, optimizer, clip, clip_value)
    rng = np.random.default_rng(seed)
    history = {"loss": [], "grad_norm_pre_clip": [], "grad_norm_post_clip": []}
    try:
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
    finally:
        finish()
    return history


def _clipped_step(model, loss_fn, optimizer, clip, clip_value):
    """`(step, finish)`: `step(xb, yb) -> (loss, norm before clip, norm after)`
    trains on one batch; `finish()` leaves the trained weights in `model`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_step(model, loss_fn, optimizer, clip, clip_value), lambda: None
    if backend == "jax":
        return _jax_step(model, loss_fn, optimizer, clip, clip_value)
    if backend == "torch":
        return _torch_step(model, loss_fn, optimizer, clip, clip_value), lambda: None
    raise NotImplementedError(f"no clipped training for Keras backend {backend!r}")


def _tensorflow_step(model, loss_fn, optimizer, clip, clip_value):
    # TensorFlow's own clipping ops: the findings were calibrated with them.
    import tensorflow as tf

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

    return step


def global_norm(tensors):
    """`sqrt(sum of every element squared)` over a list of tensors."""
    return ops.sqrt(sum(ops.sum(ops.square(t)) for t in tensors))


def clip_gradients(grads, clip, clip_value, norm=None):
    """`grads` clipped as `tf.clip_by_global_norm` / `tf.clip_by_norm` do, in `keras.ops`.

    Args:
        clip: one of `CLIPS`.
        norm: the global norm of `grads`, if already known (`"global"`).
    """
    if clip == "global":
        norm = global_norm(grads) if norm is None else norm
        # As TensorFlow: a NaN/inf norm makes every gradient NaN (and the step fail).
        scale = clip_value * ops.minimum(1.0 / norm, 1.0 / clip_value)
        scale = ops.where(ops.isfinite(norm), scale, float("nan"))
        return [g * scale for g in grads]
    if clip == "per_tensor":
        clipped = []
        for g in grads:
            norm_g = ops.sqrt(ops.sum(ops.square(g)))
            clipped.append(g * clip_value / ops.maximum(norm_g, clip_value))
        return clipped
    return list(grads)


def _jax_step(model, loss_fn, optimizer, clip, clip_value):
    import jax

    trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
    optimizer.build(trainable)
    state = {
        "trainable": [v.value for v in trainable],
        "non_trainable": [v.value for v in non_trainable],
        "optimizer": [v.value for v in optimizer.variables],
    }

    def loss_and_updates(trainable_values, non_trainable_values, xb, yb):
        pred, non_trainable_values = model.stateless_call(
            trainable_values, non_trainable_values, xb, training=True
        )
        return loss_fn(yb, pred), non_trainable_values

    grad_fn = jax.value_and_grad(loss_and_updates, has_aux=True)

    @jax.jit
    def pure_step(trainable_values, non_trainable_values, optimizer_values, xb, yb):
        (loss, non_trainable_values), grads = grad_fn(
            trainable_values, non_trainable_values, xb, yb
        )
        pre = global_norm(grads)
        grads = clip_gradients(grads, clip, clip_value, norm=pre)
        trainable_values, optimizer_values = optimizer.stateless_apply(
            optimizer_values, grads, trainable_values
        )
        post = global_norm(grads)
        return loss, pre, post, trainable_values, non_trainable_values, optimizer_values

    def step(xb, yb):
        loss, pre, post, *new = pure_step(
            state["trainable"], state["non_trainable"], state["optimizer"], xb, yb
        )
        state["trainable"], state["non_trainable"], state["optimizer"] = new
        return loss, pre, post

    def finish():
        for group, values in (
            (trainable, state["trainable"]),
            (non_trainable, state["non_trainable"]),
            (optimizer.variables, state["optimizer"]),
        ):
            for variable, value in zip(group, values):
                variable.assign(value)

    return step, finish


def _torch_step(model, loss_fn, optimizer, clip, clip_value):
    import torch

    variables = model.trainable_variables

    def step(xb, yb):
        loss = loss_fn(ops.convert_to_tensor(yb), model(ops.convert_to_tensor(xb), training=True))
        grads = torch.autograd.grad(loss, [v.value for v in variables])
        with torch.no_grad():
            pre = global_norm(grads)
            grads = clip_gradients(grads, clip, clip_value, norm=pre)
            optimizer.apply_gradients(zip(grads, variables))
            post = global_norm(grads)
        return loss.detach(), pre, post

    return step
