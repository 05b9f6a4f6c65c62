"""The backend-neutral gradients: checked against finite differences, against an
analytic BPTT decay, against Keras's own training step, and (on TensorFlow)
against TensorFlow's clipping ops. Runs under any `KERAS_BACKEND`."""

import keras
import numpy as np
import pytest
from keras import ops

from rnnexp import gradients
from rnnexp.layers import SimpleRNN
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.tracking.reporter import NullReporter

BACKEND = keras.backend.backend()


def _tiny_model(seed=0, steps=5):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((steps, 2)), SimpleRNN(3), keras.layers.Dense(1)])


def test_input_gradients_match_finite_differences():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 2))
    y = rng.normal(size=(2, 1)).astype("float32")
    loss_fn = keras.losses.MeanSquaredError()

    def loss(xt):
        return loss_fn(y, model(xt))

    (grad,) = gradients.input_gradients(loss, [x.astype("float32")])
    assert grad.shape == x.shape
    eps = 1e-3
    for idx in [(0, 0, 0), (0, 4, 1), (1, 2, 0), (1, 0, 1)]:
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        # central difference; the model is float32, hence the loose tolerance
        plus, minus = (float(ops.convert_to_numpy(loss(v.astype("float32")))) for v in (up, down))
        numeric = (plus - minus) / (2 * eps)
        assert grad[idx] == pytest.approx(numeric, abs=2e-3, rel=2e-2)


def test_input_gradient_norms_reads_every_step():
    model = _tiny_model()
    x = np.random.default_rng(1).normal(size=(5, 5, 2)).astype("float32")
    y = np.ones((5, 1), "float32")
    norms = gradients.input_gradient_norms(
        model, x, y, keras.losses.MeanSquaredError(), batch_size=2
    )
    assert norms.shape == (5,) and np.all(norms > 0)
    # Batching does not change a sum of per-example gradients.
    whole = gradients.input_gradient_norms(model, x, y, keras.losses.MeanSquaredError())
    np.testing.assert_allclose(norms, whole, rtol=1e-5)


def test_reach_is_log10_of_first_over_last_and_survives_an_underflowed_norm():
    m = gradients.reach_metrics(np.array([1e-4, 1e-2, 1.0]), np.array([0.0, 0.5, 2.0]))
    assert m["grad_reach_init"] == pytest.approx(-4.0)
    assert m["grad_reach"] == pytest.approx(-45 - np.log10(2.0))  # 0 floored at 1e-45
    assert (m["grad_first_init"], m["grad_first"], m["grad_last"]) == (1e-4, 0.0, 2.0)


@pytest.mark.parametrize("gain", [0.5, 1.0])
def test_hidden_state_norms_follow_the_linear_recurrence(gain):
    """`h_t = h_{t-1} U + x_t W`, `U = gain * orthogonal`: backpropagation
    multiplies by `U^T` once per step, so `||dL/dh_t|| = gain^(T-t) ||dL/dh_T||`."""
    steps = 8
    model = build_sequence_model(
        StackConfig(units=6),
        "rnn",
        (steps, 2),
        keras.layers.Dense(1),
        layer_kwargs={
            "activation": "linear",
            "recurrent_initializer": keras.initializers.Orthogonal(gain=gain, seed=1),
        },
    )
    x = np.random.default_rng(0).normal(size=(4, steps, 2)).astype("float32")
    y = np.zeros((4, 1), "float32")
    norms = gradients.hidden_state_gradient_norms(
        model, x, y, keras.losses.MeanSquaredError(), batch_size=3
    )
    expected = norms[-1] * gain ** np.arange(steps - 1, -1, -1)
    np.testing.assert_allclose(norms, expected, rtol=1e-4)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="compares with TensorFlow's own tape")
def test_hidden_state_norms_equal_the_tape_on_the_hidden_states():
    """On TensorFlow the zero-offset form gives exactly what the tape watching
    the hidden states gave (the calibration of gradient_flow's finding)."""
    import tensorflow as tf

    model = build_sequence_model(StackConfig(units=5), "lstm", (7, 2), keras.layers.Dense(1))
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 7, 2)).astype("float32"))
    y = np.ones((3, 1), "float32")
    loss_fn = keras.losses.MeanSquaredError()
    cell = model.get_layer("recurrent").rnn_layers[0].cell
    with tf.GradientTape() as tape:
        states = cell.get_initial_state(3)
        hidden = []
        for t in range(7):
            h, states = cell(x[:, t], states, training=False)
            hidden.append(h)
        loss = loss_fn(y, model.layers[-1](hidden[-1])) * 3
    # accumulated as the tape version did: float64 total of float32 sums
    total = np.zeros(7, dtype="float64")
    total += np.stack(
        [np.linalg.norm(g.numpy(), axis=-1).sum() for g in tape.gradient(loss, hidden)]
    )
    ours = gradients.hidden_state_gradient_norms(model, x.numpy(), y, loss_fn)
    np.testing.assert_array_equal(ours, total / 3)


def _keras_gradients(model, loss_fn, x, y):
    """The gradient Keras's own `train_on_batch` applies (SGD, rate 1: `w - g`)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    clone.compile(optimizer=keras.optimizers.SGD(1.0), loss=loss_fn)
    before = clone.get_weights()
    clone.train_on_batch(x, y)
    return [b - a for b, a in zip(before, clone.get_weights())]


@pytest.mark.parametrize("clip", ["none", "per_tensor", "global"])
def test_one_clipped_step_applies_the_clipped_keras_gradient(clip):
    model = _tiny_model(seed=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5, 2)).astype("float32")
    y = (50 * rng.normal(size=(8, 1))).astype("float32")  # large gradients
    loss_fn = keras.losses.MeanSquaredError()
    grads = _keras_gradients(model, loss_fn, x, y)
    norm = float(np.sqrt(sum((g.astype("float64") ** 2).sum() for g in grads)))
    before = model.get_weights()
    history = gradients.train_with_clipping(
        model,
        loss_fn,
        keras.optimizers.SGD(1.0),
        x,
        y,
        epochs=1,
        batch_size=8,
        clip=clip,
        clip_value=0.5,
        reporter=NullReporter(),
    )
    assert history["grad_norm_pre_clip"][0] == pytest.approx(norm, rel=1e-4)
    assert norm > 0.5, "the step must be one that clipping changes"
    if clip == "global":
        expected = [g * 0.5 / norm for g in grads]
    elif clip == "per_tensor":
        expected = [g * 0.5 / max(np.linalg.norm(g), 0.5) for g in grads]
    else:
        expected = grads
    applied = [b - a for b, a in zip(before, model.get_weights())]
    for got, want in zip(applied, expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-3)
    post = np.sqrt(sum((g.astype("float64") ** 2).sum() for g in expected))
    assert history["grad_norm_post_clip"][0] == pytest.approx(post, rel=1e-4)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="compares with TensorFlow's clipping ops")
def test_keras_ops_clipping_is_tensorflows():
    """The jax/torch steps clip with `clip_gradients`; TensorFlow's step with
    `tf.clip_by_*`. They agree, NaN norms included."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    grads = [rng.normal(size=s).astype("float32") * 3 for s in [(4, 3), (3,), (2, 2)]]
    norm = tf.linalg.global_norm(grads)
    for value in (0.5, 100.0):
        want, _ = tf.clip_by_global_norm(grads, value, use_norm=norm)
        got = gradients.clip_gradients(grads, "global", value, norm=gradients.global_norm(grads))
        for a, b in zip(got, want):
            np.testing.assert_allclose(ops.convert_to_numpy(a), b.numpy(), rtol=1e-6)
        per = gradients.clip_gradients(grads, "per_tensor", value)
        for a, g in zip(per, grads):
            np.testing.assert_allclose(
                ops.convert_to_numpy(a), tf.clip_by_norm(g, value).numpy(), rtol=1e-6
            )
    bad = [np.array([np.inf, 1.0], "float32")]
    want, _ = tf.clip_by_global_norm(bad, 1.0)
    got = gradients.clip_gradients(bad, "global", 1.0)
    assert np.isnan(want[0].numpy()).all() and np.isnan(ops.convert_to_numpy(got[0])).all()
