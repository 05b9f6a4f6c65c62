"""Our layers' two time loops compute the same function.

`PROJECT_FIRST` picks, per backend and device, whether a layer projects every step's
input before the loop or steps the cell as Keras does; tests/test_layers.py
checks the active one against Keras's built-ins, this checks the other. On
TensorFlow the stepped loop is also Keras's own arithmetic, bit for bit.
"""

import keras
import numpy as np
import pytest
from keras import ops

from rnnexp.layers import recurrent_layer


def _outputs(cell, project_first, x, mask, **kwargs):
    layer = recurrent_layer(cell, 5, return_sequences=True, return_state=True, **kwargs)
    layer.project_first = project_first
    layer.build(x.shape)
    rng = np.random.default_rng(3)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in layer.weights])
    return [ops.convert_to_numpy(o) for o in layer(x, mask=mask)]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"go_backwards": True}, {"unroll": True}, {"reset_after": False}, {"use_bias": False}],
)
def test_projected_and_stepped_loops_agree(cell, kwargs):
    if "reset_after" in kwargs and cell != "gru":
        pytest.skip("GRU only")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 4)).astype("float32")
    mask = np.ones((3, 6), bool)
    mask[1, 4:] = False
    for m in (None, mask):
        a = _outputs(cell, True, x, m, **kwargs)
        b = _outputs(cell, False, x, m, **kwargs)
        for got, want in zip(a, b):
            np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's stepped loop")
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("kwargs", [{}, {"use_bias": False}])
def test_the_stepped_loop_is_keras_bit_for_bit(cell, kwargs):
    """Same outputs, and the same weights after a training step, to the last bit.

    So a model trained with `model.impl=keras` on TensorFlow-CPU is the model
    ours would train (not just within a tolerance).
    """
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 7, 3)).astype("float32")
    y = rng.standard_normal((4, 1)).astype("float32")
    models = []
    for impl in ("keras", "rnnexp"):
        layer = recurrent_layer(cell, 5, impl=impl, **kwargs)
        if impl == "rnnexp":
            layer.project_first = False
        inputs = keras.Input((7, 3))
        model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        models.append(model)
    keras_model, ours = models
    weights = [rng.standard_normal(w.shape).astype("float32") * 0.5 for w in ours.weights]
    for model in models:
        model.set_weights(weights)
    np.testing.assert_array_equal(ours.predict(x, verbose=0), keras_model.predict(x, verbose=0))
    for model in models:
        model.train_on_batch(x, y)
    for mine, theirs in zip(ours.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_the_default_loop_is_the_one_measured_faster_on_the_device(monkeypatch):
    """JAX steps on a CPU and projects first on a GPU; anything unmeasured steps as Keras does."""
    from rnnexp.layers import recurrent

    monkeypatch.setattr(recurrent, "_device", lambda backend: "cpu")
    assert [recurrent.time_loop(b) for b in ("tensorflow", "jax", "torch")] == [
        "step",
        "step",
        "project",
    ]
    monkeypatch.setattr(recurrent, "_device", lambda backend: "gpu")
    assert recurrent.time_loop("jax") == "project"
    assert recurrent.time_loop("tensorflow") == "step"  # not measured: Keras's own loop
    assert recurrent.layers_label(backend="jax").startswith("jax, project (r")
