"""Long-range task generators, their baselines, and clipped training."""

import math

import keras
import numpy as np
import pytest

from rnnexp.data.long_range import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_baseline_xent,
    copy_memory,
)
from rnnexp import catalog
from rnnexp.layers import SimpleRNN
from rnnexp.tracking.reporter import NullReporter
from rnnexp.gradients import NonFiniteLoss, train_with_clipping


def test_adding_problem_marks_one_step_per_half():
    x, y = adding_problem(500, 40, np.random.default_rng(0))
    assert x.shape == (500, 40, 2) and y.shape == (500, 1)
    markers = x[..., 1]
    assert (markers[:, :20].sum(1) == 1).all() and (markers[:, 20:].sum(1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(1), rtol=1e-6)
    # Predicting the mean sum (1.0) scores the documented baseline.
    big_x, big_y = adding_problem(20000, 10, np.random.default_rng(1))
    assert abs(np.mean((big_y - 1.0) ** 2) - ADDING_BASELINE_MSE) < 0.01


def test_copy_memory_layout_and_baseline():
    x, y = copy_memory(3, delay=5, rng=np.random.default_rng(0), symbols=8, to_copy=4)
    assert x.shape == y.shape == (3, 13)
    np.testing.assert_array_equal(y[:, -4:], x[:, :4])
    assert (x[:, 4 + 5 - 1] == 9).all() and (y[:, :-4] == 0).all()
    assert copy_baseline_xent(100) == pytest.approx(10 * math.log(8) / 120)


def _tiny_model():
    return keras.Sequential([keras.Input((6, 2)), SimpleRNN(4), keras.layers.Dense(1)])


@pytest.mark.parametrize("clip", ["global", "per_tensor"])
def test_clipping_bounds_the_applied_gradient(clip):
    x, y = adding_problem(64, 6, np.random.default_rng(0))
    history = train_with_clipping(
        _tiny_model(),
        keras.losses.MeanSquaredError(),
        keras.optimizers.SGD(0.01),
        x,
        y * 100,
        epochs=1,
        batch_size=16,
        clip=clip,
        clip_value=0.5,
        reporter=NullReporter(),
    )
    assert len(history["loss"]) == 4
    assert max(history["grad_norm_pre_clip"]) > 0.5, "targets x100 make large gradients"
    if clip == "global":
        assert max(history["grad_norm_post_clip"]) <= 0.5 + 1e-4


def test_non_finite_loss_stops_training():
    x, y = adding_problem(32, 6, np.random.default_rng(0))
    x[3, 2, 0] = np.nan
    with pytest.raises(NonFiniteLoss, match="at step 1"):
        train_with_clipping(
            _tiny_model(),
            keras.losses.MeanSquaredError(),
            keras.optimizers.SGD(0.01),
            x,
            y,
            epochs=1,
            batch_size=32,
            clip="none",
            clip_value=1.0,
            reporter=NullReporter(),
        )
    with pytest.raises(ValueError, match="clip must be"):
        train_with_clipping(
            _tiny_model(),
            None,
            None,
            x,
            y,
            epochs=1,
            batch_size=8,
            clip="sometimes",
            clip_value=1.0,
            reporter=NullReporter(),
        )


def test_cosine_schedule_decays_the_rate_to_zero_over_the_training_steps():
    from rnnexp.config import ConfigError, apply_overrides
    from rnnexp.training import ScheduledTrainConfig

    schedule = ScheduledTrainConfig(learning_rate=1e-3, schedule="cosine").adam(steps=100)
    rate = schedule._learning_rate  # the schedule object Adam reads each step
    assert [float(rate(s)) for s in (0, 50, 100)] == pytest.approx([1e-3, 5e-4, 0.0], abs=1e-9)
    # constant: the plain TrainConfig's Adam, steps ignored
    constant = ScheduledTrainConfig(learning_rate=2e-3).adam(steps=100).learning_rate
    assert float(constant) == pytest.approx(2e-3)
    with pytest.raises(ValueError, match="needs the number of training steps"):
        ScheduledTrainConfig(schedule="cosine").adam()
    exp = catalog.get("tanh_vs_relu")
    with pytest.raises(ConfigError, match="train.schedule.*'constant', 'cosine'"):
        apply_overrides(exp.config, {"train.schedule": "linear"})
