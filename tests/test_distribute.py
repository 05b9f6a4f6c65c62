"""Data-parallel training under MirroredStrategy, on CPU logical devices."""

import subprocess
import sys
import textwrap

import pytest

from rnnexp.distribute import strategy_scope

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    from rnnexp.layers import GRU
    from rnnexp.distribute import strategy_scope

    scope, described = strategy_scope("mirrored")
    assert described == "mirrored x2", described
    with scope:
        model = keras.Sequential([keras.Input((5, 3)), GRU(4), keras.layers.Dense(1)])
        model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(32, 5, 3)).astype("float32")
    y = x.sum((1, 2))[:, None]
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
    assert strategy_scope("auto")[1] == "none"  # no GPUs here
    print("ok", described, losses)
    """
)


def test_mirrored_strategy_trains_our_layers_on_two_logical_cpus():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "ok mirrored x2" in out.stdout


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="'tpu'.*choose one of"):
        strategy_scope("tpu")


def test_mirrored_on_another_backend_is_refused_in_one_line_before_any_run(tmp_path):
    import os

    env = {**os.environ, "KERAS_BACKEND": "jax"}
    argv = ["run", "tagging", "--profile", "ci", "--distribute", "mirrored"]
    argv += ["--tracking-uri", f"sqlite:///{tmp_path}/m.db"]
    out = subprocess.run(
        [sys.executable, "-m", "rnnexp", *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    import importlib.util

    # Without jax installed, the backend itself is refused first, just as early and in one line.
    first = "error: --distribute mirrored" if importlib.util.find_spec("jax") else "error: KERAS_"
    assert line.startswith(first) and "'jax'" in line
    assert not (tmp_path / "m.db").exists()  # refused before a store was touched


def test_the_backend_is_read_as_keras_reads_it(tmp_path, monkeypatch):
    from rnnexp.startup import keras_backend_name

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_backend_name() == "tensorflow"  # no keras.json
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    assert keras_backend_name() == "torch"
    (tmp_path / "keras.json").write_text("not json")
    assert keras_backend_name() == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert keras_backend_name() == "jax"
