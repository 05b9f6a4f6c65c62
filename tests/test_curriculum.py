"""Unit checks of the curriculum experiments' pieces (no real training)."""

import math

import keras
import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.catalog import TrialResult
from rnnexp.config import ConfigError
from rnnexp.data import text_corpus
from rnnexp.recipes.long_range import TaskConfig, arch_layer
from rnnexp.models import StackConfig, build_sequence_model
from rnnexp.gradients import hidden_state_gradient_norms

catalog.load_catalog()

CURRICULUM = (
    "adding",
    "char_lm",
    "copy_memory",
    "deep_rnn",
    "exploding_clipping",
    "gradient_flow",
    "sentiment",
    "tanh_vs_relu",
    "timeseries",
)


@pytest.mark.parametrize("name", CURRICULUM)
def test_every_curriculum_experiment_is_listed_with_ci_trials(name):
    exp = catalog.get(name)
    assert exp.description and exp.metric
    assert exp.trials(exp.resolve("ci"))


def test_unknown_arch_names_the_choices():
    with pytest.raises(ValueError, match="irnn"):
        arch_layer("lstmm")
    assert arch_layer("irnn") == (
        "rnn",
        {"activation": "relu", "recurrent_initializer": "identity"},
    )


def test_task_baselines_are_the_paper_values():
    assert TaskConfig(name="adding").baseline(100) == pytest.approx(1 / 6)
    copy = TaskConfig(name="copy")
    assert copy.baseline(100) == pytest.approx(10 * math.log(8) / 120)
    x, y = copy.make(4, 5, np.random.default_rng(0))
    assert x.shape == (4, 25, 10) and y.shape == (4, 25)


def _single_layer(gain, activation="tanh", length=30):
    return build_sequence_model(
        StackConfig(units=8),
        "rnn",
        (length, 2),
        keras.layers.Dense(1),
        layer_kwargs={
            "activation": activation,
            "recurrent_initializer": keras.initializers.Orthogonal(gain=gain, seed=1),
            "kernel_initializer": keras.initializers.GlorotUniform(seed=2),
        },
    )


def test_hidden_state_gradient_norms_vanish_for_a_contracting_rnn():
    x = np.random.default_rng(0).normal(size=(16, 30, 2)).astype("float32")
    y = np.zeros((16, 1), "float32")
    loss = keras.losses.MeanSquaredError()
    small = hidden_state_gradient_norms(_single_layer(0.3), x, y, loss)
    identity = hidden_state_gradient_norms(_single_layer(1.0, "linear"), x, y, loss)
    assert small.shape == (30,) and np.all(np.isfinite(small))
    assert small[0] / small[-1] < 1e-6  # 0.3 ** 29 ~ 7e-16
    # An orthogonal linear recurrence preserves norms exactly.
    np.testing.assert_allclose(identity[0], identity[-1], rtol=1e-4)


def test_hidden_state_probe_refuses_stacks():
    model = build_sequence_model(
        StackConfig(units=4, depth=2), "rnn", (5, 2), keras.layers.Dense(1)
    )
    with pytest.raises(ValueError, match="one unidirectional"):
        hidden_state_gradient_norms(model, np.zeros((2, 5, 2)), np.zeros((2, 1)), "mse")


def test_char_vocab_round_trip_and_unigram_bits(tmp_path):
    vocab = text_corpus.CharVocab.fit("aab" * 10 + "z", min_count=2)
    assert vocab.chars == "ab" and vocab.size == 3
    assert vocab.decode(vocab.encode("abz")) == "ab\ufffd"
    ids = vocab.encode("ab" * 50)
    assert text_corpus.unigram_bits(ids, ids, vocab.size) == pytest.approx(1.0, abs=0.05)
    x, y = text_corpus.windows(np.arange(10), 3)
    np.testing.assert_array_equal(y, x + 1)


def test_text_sources_fail_fast_with_one_line(tmp_path):
    text, label = text_corpus.load_text("pydoc")
    assert len(text) > 100000 and "Python" in label
    with pytest.raises(ConfigError, match="not a file"):
        text_corpus.load_text("path", str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe" * 600)
    with pytest.raises(ConfigError, match="not UTF-8"):
        text_corpus.load_text("path", str(bad))
    with pytest.raises(ConfigError, match="choose one of pydoc, path"):
        text_corpus.load_text("gutenberg")


def test_window_sums_are_modular_sums_of_the_last_symbols():
    from rnnexp.experiments.deep_rnn import WindowSumData, window_sums

    cfg = WindowSumData(classes=5, window=3, length=8)
    x, y = window_sums(4, cfg, np.random.default_rng(0))
    for t in range(8):
        np.testing.assert_array_equal(y[:, t], x[:, max(0, t - 2) : t + 1].sum(1) % 5)


def test_exploding_finding_counts_divergence_and_survival():
    exp = catalog.get("exploding_clipping")
    cfg = exp.resolve("ci")

    def finished(clip, ratio, norm):
        metrics = {"test_loss_ratio": ratio, "max_grad_norm_pre_clip": norm}
        return TrialResult({"clip": clip, "seed": 0}, metrics=metrics)

    diverged = TrialResult(
        {"clip": "none", "seed": 0},
        status="FAILED",
        error="NonFiniteLoss: loss nan at step 2",
        extras={"loss": [1.0, float("nan")]},
    )
    good = exp.finding(cfg, [diverged, finished("global", 0.9, 1e6)])
    assert good.passed, good.message
    assert "seed 0: 2" in good.message
    tame = exp.finding(cfg, [finished("none", 1.0, 5.0), finished("global", 0.9, 5.0)])
    assert not tame.passed and "NOT MET" in tame.message


def test_exploding_records_keep_each_trials_peak_norm_and_the_figure_reads_it():
    exp = catalog.get("exploding_clipping")
    diverged = {"loss": [1.0, float("nan")], "grad_norm_pre_clip": [3.0, 40.0, float("inf")]}
    kept = exp.record_extras(diverged)
    assert kept == {"peak_grad_norm_pre_clip": 40.0}  # the largest finite norm
    assert exp.record_extras(kept) == kept  # compacting a compacted record changes nothing
    assert exp.record_extras({"loss": [1.0]}) == {}  # no norm logged: nothing to keep
    cfg = exp.resolve("ci")
    live = TrialResult({"clip": "none", "seed": 0}, status="FAILED", extras=diverged)
    recorded = TrialResult({"clip": "none", "seed": 0}, status="FAILED", extras=kept)
    live_fig, recorded_fig = exp.answer_figure(cfg, [live]), exp.answer_figure(cfg, [recorded])
    drawn = [[list(line.get_ydata()) for line in f.axes[1].lines] for f in (live_fig, recorded_fig)]
    assert drawn[0] == drawn[1]
    assert drawn[0][0] == pytest.approx([40.0 / cfg.train.clip_value])


def test_timeseries_windows_only_see_the_past():
    from rnnexp.experiments.timeseries import make_windows

    values = np.arange(10.0)
    x, y = make_windows(values, 3, np.array([3, 7]))
    np.testing.assert_array_equal(x[..., 0], [[0, 1, 2], [4, 5, 6]])
    np.testing.assert_array_equal(y, [3, 7])


def test_timeseries_split_is_chronological_and_validates_before_the_test_years():
    from rnnexp.experiments.timeseries import SeriesData, load_series

    s = load_series(SeriesData())
    assert s.years[s.split] == 1916 and s.years[-1] == 2008
    # validation: the latest training years, so early stopping never reads a test year
    assert 0 < s.val_start < s.split
    assert s.years[s.val_start] == 1884 and s.years[s.split - 1] == 1915
    with pytest.raises(ConfigError, match="data.val_fraction"):
        SeriesData(val_fraction=0.7)
