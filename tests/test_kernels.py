"""`model.kernel`: which time loop ran, recorded by the layers and tagged on every trial."""

import dataclasses

import keras
import mlflow
import numpy as np
import pytest

from rnnexp.sweep import runner
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.layers import kernels, recurrent_layer
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.tracking.tracker import Tracker


def _on_gpu():
    if keras.backend.backend() != "tensorflow":
        return True  # JAX/torch: whether cuDNN runs is their device's business; skip
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


ON_GPU = _on_gpu()


def _fit_once(impl, cell="lstm"):
    model = build_sequence_model(
        StackConfig(units=3, impl=impl), cell, (4, 2), keras.layers.Dense(1)
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((2, 4, 2), "float32"), np.ones((2, 1), "float32"), verbose=0)


def test_building_records_nothing_and_running_records_the_loop():
    kernels.reset()
    build_sequence_model(StackConfig(units=3), "gru", (4, 2), keras.layers.Dense(1))
    assert kernels.ran() == "none", "shape inference is not a run"
    _fit_once("rnnexp")
    assert kernels.ran() == "rnnexp-loop"


@pytest.mark.skipif(ON_GPU, reason="on a GPU Keras's LSTM runs cuDNN")
def test_keras_impl_on_cpu_runs_the_generic_loop():
    kernels.reset()
    _fit_once("keras")
    assert kernels.ran() == "keras-generic"


def test_kernel_of_follows_keras_dispatch_rules():
    assert kernels.kernel_of(recurrent_layer("lstm", 2), masked=False) == "rnnexp-loop"
    assert kernels.kernel_of(keras.layers.SimpleRNN(2), masked=False) == "keras-generic"
    # Arguments cuDNN cannot run fall back on every device.
    for layer in (
        keras.layers.LSTM(2, activation="relu"),
        keras.layers.LSTM(2, recurrent_dropout=0.1),
        keras.layers.GRU(2, unroll=True),
        keras.layers.LSTM(2, use_cudnn=False),
    ):
        assert kernels.kernel_of(layer, masked=False) == "keras-generic", layer.get_config()
    if not ON_GPU:
        assert kernels.kernel_of(keras.layers.LSTM(2), masked=False) == "keras-generic"


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    seed: int = 0


class Tiny(Experiment):
    """Each trial fits a 3-unit LSTM once, with our cells or Keras's."""

    name = "tiny_kernels"
    description = "test double"
    config = TinyConfig()
    profiles = {"ci": {}}

    def trials(self, cfg):
        return [{"impl": "rnnexp"}, {"impl": "keras"}, {"impl": "none"}]

    def run_trial(self, cfg, trial, ctx):
        if trial["impl"] != "none":
            _fit_once(trial["impl"])
        return TrialResult(trial, metrics={"score": 1.0})

    def finding(self, cfg, results):
        return Finding(True, "ok", {})


@pytest.mark.skipif(ON_GPU, reason="on a GPU Keras's LSTM runs cuDNN")
def test_every_trial_is_tagged_with_the_kernel_that_ran(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    exp = Tiny()
    runner.run_experiment(exp, exp.config, profile="ci", tracker=Tracker(exp.name, uri))
    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=[exp.name], output_format="list")
    tags = {
        r.data.params["trial.impl"]: r.data.tags["model.kernel"]
        for r in found
        if r.data.tags.get("rnnexp.role") == "trial"
    }
    assert tags == {"rnnexp": "rnnexp-loop", "keras": "keras-generic", "none": "none"}
