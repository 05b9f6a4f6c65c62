"""Model builders: parameter matching and shapes."""

import dataclasses

import numpy as np
import pytest

from rnnexp.catalog import get
from rnnexp.config import ConfigError
from rnnexp.layers import CELLS
from rnnexp.models import (
    ClassifierConfig,
    StackConfig,
    build_classifier,
    build_sequence_model,
    matched_units,
    recurrent_params,
)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_params_match_the_built_layer(cell):
    cfg = ClassifierConfig(units=12, embed_dim=5)
    model, _, body = build_classifier(cfg, cell, vocab_size=50, length=7)
    recurrent = body.get_layer("recurrent")
    assert recurrent.count_params() == recurrent_params(cell, 12, 5)


def test_parameter_matched_units_follow_chung_et_al():
    lstm = recurrent_params("lstm", 32, 16)
    for cell in ("rnn", "gru"):
        units = matched_units(cell, 32, 16)
        assert units > 32, "a cell with fewer gates gets more units"
        assert abs(recurrent_params(cell, units, 16) - lstm) / lstm < 0.05
    cfg = ClassifierConfig(units=32, embed_dim=16, match_params=True)
    counts = [
        build_classifier(cfg, c, 100, 9)[2].get_layer("recurrent").count_params()
        for c in ("rnn", "gru", "lstm")
    ]
    assert max(counts) / min(counts) < 1.05


def test_classifier_runs_on_token_windows():
    model, embed, body = build_classifier(ClassifierConfig(units=4, embed_dim=3), "gru", 20, 6)
    probs = np.asarray(model(np.ones((2, 6), dtype="int32")))
    assert probs.shape == (2, 1) and ((probs > 0) & (probs < 1)).all()


def _copy_and_compare(ours, theirs, x, y):
    """Same weights -> same outputs, and still the same after one training step."""
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)
    for model in (ours, theirs):
        model.train_on_batch(x, y)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_keras_impl_classifier_is_the_same_model(cell):
    models = [
        build_classifier(ClassifierConfig(units=5, embed_dim=3, impl=impl), cell, 30, 7)[0]
        for impl in ("rnnexp", "keras")
    ]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (6, 7)).astype("int32")
    _copy_and_compare(*models, x, rng.integers(0, 2, (6, 1)).astype("float32"))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_keras_impl_deep_bidirectional_stack_is_the_same_model(cell):
    import keras

    stack = StackConfig(units=4, depth=2, bidirectional=True, residual=True)
    models = []
    for impl in ("rnnexp", "keras"):
        model = build_sequence_model(
            dataclasses.replace(stack, impl=impl), cell, (6, 3), keras.layers.Dense(2)
        )
        model.compile(optimizer="adam", loss="mse")
        models.append(model)
    layers = models[1].get_layer("recurrent").rnn_layers
    assert all(isinstance(b.forward_layer, keras.layers.RNN) for b in layers)
    assert not any(isinstance(b.forward_layer, tuple(CELLS.values())) for b in layers)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 3)).astype("float32")
    _copy_and_compare(*models, x, rng.standard_normal((5, 2)).astype("float32"))


def test_a_bad_impl_is_one_line_naming_the_value():
    with pytest.raises(ConfigError, match=r"model\.impl: 'cudnn' \(allowed: 'rnnexp' or 'keras'\)"):
        ClassifierConfig(impl="cudnn")
    with pytest.raises(ConfigError, match=r"model\.impl.*'fast'.*'keras'") as err:
        get("tagging").resolve("ci", {"model.impl": "fast"})
    assert "\n" not in str(err.value)
