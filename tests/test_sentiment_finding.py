"""The sentiment finding on synthetic trial results (no training), and its data split."""

import dataclasses
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.catalog import TrialResult
from rnnexp.config import ConfigError
from rnnexp.data.sequences import padded_windows, split_indices

catalog.load_catalog()
sentiment = sys.modules["rnnexp.experiments.sentiment"]
EXP = catalog.get("sentiment")
results = sentiment.synthetic_results  # {(cell, variant): [accuracy per seed]}
# Binary-exact thresholds, so "at the margin" is exactly 0, not 1e-17 either side.
EXACT = sentiment.FindingThresholds(
    anchor_min_accuracy=0.75,
    min_gated_gain=0.125,
    min_gated_accuracy=0.625,
    max_direction_gain=0.0625,
    synthetic_anchor_min_accuracy=0.75,
    min_gain_synthetic=0.25,
)
# The same, asserting the cell gap from one seed on (the default asks for 3).
EXACT1 = dataclasses.replace(EXACT, gap_min_seeds=1)


def margins(finding):
    return {label: round(m, 12) for label, m in finding.margins.items()}


# -- real IMDB -----------------------------------------------------------------
CI_LIKE = {
    ("rnn", "uni1"): [0.5],
    ("rnn", "bi1"): [0.5],
    ("lstm", "uni1"): [0.75],
    ("lstm", "bi1"): [0.6875],
}


def test_real_ci_sweep_passes_when_gated_cell_leads_and_direction_adds_little():
    f = sentiment.evaluate_finding(EXACT1, results(CI_LIKE))
    assert f.passed, f.message
    assert "real IMDB" in f.message
    assert margins(f) == {
        "lstm-uni1 accuracy": 0.125,
        "lstm-rnn gain (bi1)": 0.0625,
        "lstm bi1-uni1 gain": 0.125,
        "lstm-rnn gain (uni1)": 0.125,
    }


def test_one_seed_reports_the_cell_gap_without_asserting_it():
    # Seed 30 on real IMDB: SimpleRNN uni1 0.797, LSTM uni1 0.768.
    seed_30 = {**CI_LIKE, ("rnn", "uni1"): [0.8125]}
    f = sentiment.evaluate_finding(EXACT, results(seed_30))
    assert f.passed, f.message
    assert "lstm-rnn gain (uni1)" not in f.margins and "lstm-rnn gain (bi1)" not in f.margins
    assert "not asserted below 3 seeds" in f.message and "lstm-rnn (uni1) -0.062" in f.message
    assert f.numbers["lstm_minus_rnn_uni1"] == pytest.approx(-0.0625)


def test_three_seeds_assert_the_mean_cell_gap():
    behind = {("rnn", "uni1"): [0.5, 0.875, 0.875], ("lstm", "uni1"): [0.75, 0.75, 0.75]}
    f = sentiment.evaluate_finding(EXACT, results(behind))  # mean gap 0.75 - 0.75 = 0
    assert not f.passed and "NOT MET: lstm-rnn gain (uni1)" in f.message
    ahead = {**behind, ("rnn", "uni1"): [0.5, 0.625, 0.75]}  # mean gap exactly 0.125
    at = sentiment.evaluate_finding(EXACT, results(ahead))
    assert at.passed and margins(at)["lstm-rnn gain (uni1)"] == 0


def test_real_direction_gain_at_threshold_passes_and_above_fails():
    at = sentiment.evaluate_finding(EXACT1, results({**CI_LIKE, ("lstm", "bi1"): [0.8125]}))
    assert at.passed and margins(at)["lstm bi1-uni1 gain"] == 0
    above = sentiment.evaluate_finding(EXACT1, results({**CI_LIKE, ("lstm", "bi1"): [0.82]}))
    assert not above.passed and "NOT MET: lstm bi1-uni1 gain" in above.message


def test_one_seed_reports_the_direction_gain_three_seeds_assert_its_median():
    # Seed 64 (layers r2): LSTM uni1 0.751, bi1 0.803 -- one unlucky uni1 draw.
    seed_64 = {**CI_LIKE, ("lstm", "bi1"): [0.8125 + 0.0625]}
    one = sentiment.evaluate_finding(EXACT, results(seed_64))
    assert one.passed, one.message
    assert "lstm bi1-uni1 gain" not in one.margins and "lstm bi1-uni1 +0.125" in one.message
    assert one.numbers["lstm_bi1_minus_uni1"] == pytest.approx(0.125)
    three = {k: v * 3 for k, v in seed_64.items()}
    failed = sentiment.evaluate_finding(EXACT, results(three))
    assert not failed.passed and "NOT MET: lstm bi1-uni1 gain, median of 3" in failed.message
    # One seed of three whose uni1 fell behind moves a mean past the bound, not the median.
    one_of_three = {**three, ("lstm", "bi1"): [0.8125 + 0.0625, 0.8125, 0.8125]}
    held = sentiment.evaluate_finding(EXACT, results(one_of_three))
    assert held.passed and margins(held)["lstm bi1-uni1 gain, median of 3 paired seeds"] == 0
    assert held.numbers["lstm_bi1_minus_uni1"] > EXACT.max_direction_gain  # the mean


def test_real_seed_means_and_intervals_are_reported():
    accs = {("rnn", "uni1"): [0.5, 0.6, 0.7], ("lstm", "uni1"): [0.8, 0.8, 0.8]}
    f = sentiment.evaluate_finding(EXACT, results(accs))
    assert f.passed and "rnn-uni1 0.600 ± 0.248" in f.message
    assert f.numbers["rnn_uni1"] == pytest.approx(0.6)
    assert f.numbers["rnn_uni1_half"] == pytest.approx(0.2484, abs=1e-4)


def test_real_gain_exactly_at_threshold_passes_and_just_below_fails():
    at = sentiment.evaluate_finding(
        EXACT1, results({("rnn", "uni1"): [0.625], ("lstm", "uni1"): [0.75]})
    )
    assert at.passed and margins(at)["lstm-rnn gain (uni1)"] == 0
    below = sentiment.evaluate_finding(
        EXACT1, results({("rnn", "uni1"): [0.6251], ("lstm", "uni1"): [0.75]})
    )
    assert not below.passed and "NOT MET: lstm-rnn gain (uni1)" in below.message
    assert margins(below)["lstm-rnn gain (uni1)"] < 0


def test_real_gated_cell_at_chance_fails_even_with_a_gap():
    f = sentiment.evaluate_finding(
        EXACT, results({("rnn", "uni1"): [0.375], ("lstm", "uni1"): [0.5]})
    )
    assert not f.passed and "lstm-uni1 accuracy" in f.message


def test_real_every_gated_cell_is_checked():
    f = sentiment.evaluate_finding(
        EXACT1,
        results({("rnn", "uni1"): [0.5], ("gru", "uni1"): [0.6], ("lstm", "uni1"): [0.8]}),
    )
    failed = f.message.split("NOT MET: ")[1]
    assert not f.passed and "gru-rnn gain" in failed and "lstm-rnn gain" not in failed


def test_real_anchor_uses_the_seed_mean():
    # Seeds 0.6875 and 0.8125 average to exactly the threshold: pass at margin 0.
    at = sentiment.evaluate_finding(EXACT, results({("lstm", "bi2"): [0.6875, 0.8125]}))
    assert at.passed and margins(at) == {"lstm-bi2 accuracy": 0.0}
    assert at.numbers["lstm_bi2_half"] > 0  # two seeds: an interval
    low = sentiment.evaluate_finding(EXACT, results({("lstm", "bi2"): [0.74]}))
    assert not low.passed


def test_default_thresholds_hold_the_measured_keras_io_anchor():
    # The user's full-data run: bi2 0.864, uni1 0.846 (issue 17).
    f = sentiment.evaluate_finding(
        sentiment.FindingThresholds(),
        results({("lstm", "uni1"): [0.846], ("lstm", "bi2"): [0.864]}),
    )
    assert f.passed and margins(f) == {
        "lstm-bi2 accuracy": round(0.864 - 0.84, 12),
        "lstm-uni1 accuracy": round(0.846 - 0.74, 12),
    }
    assert not sentiment.evaluate_finding(
        sentiment.FindingThresholds(), results({("lstm", "bi2"): [0.8399]})
    ).passed


def test_nothing_to_assert_fails():
    f = sentiment.evaluate_finding(EXACT, results({("rnn", "uni1"): [0.9]}))
    assert not f.passed and "nothing to assert" in f.message
    stand_in = sentiment.evaluate_finding(EXACT, results({("lstm", "uni1"): [0.9]}, True))
    assert not stand_in.passed and "nothing to assert" in stand_in.message
    assert not sentiment.evaluate_finding(EXACT, []).passed


def test_failed_trials_are_left_out():
    rs = results({("rnn", "uni1"): [0.5], ("lstm", "uni1"): [0.75]})
    rs.append(TrialResult({"cell": "lstm", "variant": "uni1", "seed": 9}, status="FAILED"))
    assert sentiment.evaluate_finding(EXACT, rs).passed


# -- the stand-in --------------------------------------------------------------
def test_stand_in_asserts_the_bidirectional_gain_not_the_cell_gap():
    # On the stand-in every left-to-right model is at chance: no cell gap is claimed.
    accs = {
        ("rnn", "uni1"): [0.5],
        ("rnn", "bi1"): [0.5],
        ("lstm", "uni1"): [0.5],
        ("lstm", "bi1"): [0.875],
    }
    f = sentiment.evaluate_finding(EXACT, results(accs, synthetic=True))
    assert f.passed and "synthetic stand-in" in f.message
    assert margins(f) == {"lstm bi1-uni1 gain": 0.125}


def test_stand_in_gain_at_margin_passes_and_below_fails():
    at = sentiment.evaluate_finding(
        EXACT, results({("lstm", "uni1"): [0.5], ("lstm", "bi1"): [0.75]}, synthetic=True)
    )
    assert at.passed and margins(at) == {"lstm bi1-uni1 gain": 0.0}
    below = sentiment.evaluate_finding(
        EXACT, results({("lstm", "uni1"): [0.5], ("lstm", "bi1"): [0.74]}, synthetic=True)
    )
    assert not below.passed


def test_stand_in_anchor_has_its_own_threshold():
    accs = {("lstm", "uni1"): [0.5], ("lstm", "bi2"): [0.8]}
    t = dataclasses.replace(EXACT, anchor_min_accuracy=0.9, synthetic_anchor_min_accuracy=0.75)
    assert sentiment.evaluate_finding(t, results(accs, synthetic=True)).passed
    assert not sentiment.evaluate_finding(t, results(accs, synthetic=False)).passed


def test_profile_thresholds_pass_their_own_kind_of_result():
    """Each profile's resolved thresholds, at the seed means this file's docstring quotes."""
    ci = EXP.resolve("ci").finding
    real = {("rnn", "uni1"): [ci.min_gated_accuracy - ci.min_gated_gain - 0.05]}
    real[("lstm", "uni1")] = [ci.min_gated_accuracy + 0.01]
    assert sentiment.evaluate_finding(ci, results(real)).passed
    stand_in = {("lstm", "uni1"): [0.5], ("lstm", "bi1"): [0.5 + ci.min_gain_synthetic + 0.01]}
    assert sentiment.evaluate_finding(ci, results(stand_in, synthetic=True)).passed


# -- the split -----------------------------------------------------------------
def test_validation_is_carved_from_train_and_never_overlaps():
    train, val, test = split_indices(100, 80, val_size=10, max_train=30, seed=3)
    assert len(val) == 10 and len(train) == 30 and len(test) == 80
    assert not set(train) & set(val)
    assert set(test) == set(range(80))  # the test split, untouched by the carving
    again = split_indices(100, 80, val_size=10, max_train=30, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))


def test_subsets_are_random_draws_not_prefixes():
    # aclImdb lists positives first: a prefix subset would be a single class.
    train, _, test = split_indices(1000, 1000, val_size=100, max_train=200, max_test=200)
    assert (train >= 500).mean() == pytest.approx(0.5, abs=0.1)
    assert (test >= 500).mean() == pytest.approx(0.5, abs=0.1)


def test_validation_larger_than_train_is_refused():
    with pytest.raises(ConfigError, match="val_size"):
        split_indices(10, 10, val_size=10)


def test_padded_windows_keep_each_reviews_end_and_pad_in_front():
    reviews = SimpleNamespace(
        x_train=[np.array([1, 2, 3, 4, 5]), np.array([6, 7])],
        y_train=np.array([1, 0]),
        x_test=[np.array([8, 9, 10])],
        y_test=np.array([1]),
    )
    x_tr, y_tr, x_val, y_val, x_te, y_te = padded_windows(reviews, ([0], [1], [0]), 3)
    assert x_tr.tolist() == [[3, 4, 5]] and x_val.tolist() == [[0, 6, 7]]
    assert x_te.tolist() == [[8, 9, 10]]
    assert y_tr.dtype == "float32"
    assert [y.tolist() for y in (y_tr, y_val, y_te)] == [[1.0], [0.0], [1.0]]


# -- ci: the LSTM's two directions, 3 seeds paired by seed ----------------------
DIRECTION = "lstm bi1-uni1 gain, median of 3 paired seeds"
ACCURACY = "lstm-uni1 accuracy, low end of its 50% interval"


def test_ci_runs_the_claims_two_arms_at_three_seeds():
    cfg = EXP.resolve("ci", {})
    trials = EXP.trials(cfg)
    assert {(t["cell"], t["variant"]) for t in trials} == {("lstm", "uni1"), ("lstm", "bi1")}
    assert {t["seed"] for t in trials} == {0, 1, 2}


def test_ci_asserts_the_direction_on_the_median_of_paired_seeds_and_uni1_on_its_interval():
    # uni1 swings with the seed and bi1 follows it: paired, the gap stays small.
    accs = {("lstm", "uni1"): [0.75, 0.8125, 0.875], ("lstm", "bi1"): [0.75, 0.8125, 0.875]}
    f = sentiment.evaluate_finding(EXACT, results(accs))
    assert f.passed, f.message
    assert set(f.margins) == {DIRECTION, ACCURACY}
    assert margins(f)[DIRECTION] == 0.0625
    # bi1 ahead by 0.0625 at every seed: the median is exactly the threshold.
    ahead = {**accs, ("lstm", "bi1"): [0.8125, 0.875, 0.9375]}
    at = sentiment.evaluate_finding(EXACT, results(ahead))
    assert at.passed and margins(at)[DIRECTION] == 0
    further = {**accs, ("lstm", "bi1"): [0.8125, 0.88, 0.94]}  # two of three past it
    assert not sentiment.evaluate_finding(EXACT, results(further)).passed


def test_ci_fails_an_lstm_that_does_not_learn_the_reviews():
    accs = {("lstm", "uni1"): [0.5, 0.625, 0.75], ("lstm", "bi1"): [0.5, 0.625, 0.75]}
    f = sentiment.evaluate_finding(EXACT, results(accs))
    assert not f.passed and ACCURACY in f.message.split("NOT MET: ")[1]
