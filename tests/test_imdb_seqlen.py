"""imdb_seqlen without training: its pools, its split and its finding."""

import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.catalog import TrialResult
from rnnexp.data.imdb import TokenizedReviews
from rnnexp.data.records import DataError
from rnnexp.data.sequences import length_pool, length_windows, pool_split

EXP = catalog.get("imdb_seqlen")

# Accuracies by (truncation, model, length), as measured on real IMDB (seed 0).
REAL = {
    ("pre", "rnn", 10): 0.684, ("pre", "gru", 10): 0.681, ("pre", "lstm", 10): 0.689,
    ("pre", "bow", 10): 0.696, ("pre", "rnn", 200): 0.799, ("pre", "gru", 200): 0.794,
    ("pre", "lstm", 200): 0.833, ("pre", "bow", 200): 0.858,
    ("post", "rnn", 10): 0.603, ("post", "gru", 10): 0.600, ("post", "lstm", 10): 0.599,
    ("post", "bow", 10): 0.597, ("post", "rnn", 200): 0.691, ("post", "gru", 200): 0.771,
    ("post", "lstm", 200): 0.774, ("post", "bow", 200): 0.830,
}  # fmt: skip


def _cfg():
    return EXP.resolve("ci", {"sweep.seeds": 3})


def _results(acc, seeds=(0,), jitter=0.0, source="path"):
    rng = np.random.default_rng(0)
    out = []
    for seed in seeds:
        for (side, model, length), a in acc.items():
            trial = {"truncation": side, "model": model, "length": length, "seed": seed}
            value = a + (rng.normal(0, jitter) if jitter else 0.0)
            extras = {"data_source": source}
            out.append(TrialResult(trial, metrics={"test_accuracy": value}, extras=extras))
    return out


# The stand-in at ci seed 0: the SimpleRNN gains nothing under either truncation.
STAND_IN = {
    ("pre", "rnn", 10): 0.55, ("pre", "lstm", 10): 0.56, ("pre", "bow", 10): 0.55,
    ("pre", "rnn", 200): 0.496, ("pre", "lstm", 200): 0.808, ("pre", "bow", 200): 0.894,
    ("post", "rnn", 10): 0.51, ("post", "lstm", 10): 0.52, ("post", "bow", 10): 0.50,
    ("post", "rnn", 200): 0.498, ("post", "lstm", 200): 0.704, ("post", "bow", 200): 0.874,
}  # fmt: skip


POST = {k: v for k, v in REAL.items() if k[0] == "post" and k[1] in ("rnn", "lstm")}
GAP_LABEL = "post: LSTM gain - SimpleRNN gain, low end of its 20% paired interval over 3 seeds"
GAIN_LABEL = "post: LSTM gain L=10->200, low end of its 50% interval over 3 seeds"


def _seeds(*per_seed, source="path"):
    """Results at seeds 0, 1, ...: one accuracy dict per seed."""
    return [r for seed, acc in enumerate(per_seed) for r in _results(acc, (seed,), source=source)]


def _post(rnn_gain, lstm_gain, base=0.60):
    return {
        ("post", "rnn", 10): base, ("post", "rnn", 200): base + rnn_gain,
        ("post", "lstm", 10): base, ("post", "lstm", 200): base + lstm_gain,
    }  # fmt: skip


def test_ci_runs_only_the_claims_arms_at_three_seeds():
    cfg = EXP.resolve("ci", {})
    assert {(t["truncation"], t["model"]) for t in EXP.trials(cfg)} == {
        ("post", "rnn"),
        ("post", "lstm"),
    }
    assert {t["seed"] for t in EXP.trials(cfg)} == {0, 1, 2}


def test_the_measured_real_data_pattern_passes_over_three_seeds():
    finding = EXP.finding(_cfg(), _results(POST, seeds=(0, 1, 2), jitter=0.01))
    assert finding.passed, finding.message
    assert set(finding.margins) == {GAIN_LABEL, GAP_LABEL}
    assert min(finding.margins.values()) > 0


def test_one_seed_asserts_nothing_and_says_why():
    finding = EXP.finding(_cfg(), _results(POST))
    assert not finding.passed
    assert "asserted over >= 3 seeds, got 1" in finding.message


def test_a_simplernn_that_keeps_up_fails_the_paired_comparison():
    keeps_up = _seeds(_post(0.15, 0.16), _post(0.17, 0.15), _post(0.16, 0.16))
    finding = EXP.finding(_cfg(), keeps_up)
    assert not finding.passed
    assert GAP_LABEL in finding.message.split("NOT MET: ")[1]


def test_an_lstm_that_gains_nothing_fails():
    flat = _seeds(_post(-0.10, 0.00), _post(-0.05, 0.01), _post(-0.12, -0.01))
    finding = EXP.finding(_cfg(), flat)
    assert not finding.passed
    assert GAIN_LABEL in finding.message.split("NOT MET: ")[1]


def test_the_comparison_is_paired_by_seed():
    # The SimpleRNN's gain swings with the seed and the LSTM stays 0.02 ahead at each:
    # unpaired the arms overlap, paired the gap is 0.02 with no spread.
    swings = _seeds(*(_post(g, g + 0.02) for g in (-0.10, 0.10, 0.0)))
    assert EXP.finding(_cfg(), swings).margins[GAP_LABEL] == pytest.approx(0.02)


def test_the_gap_holds_at_zero_and_fails_just_below():
    at = _seeds(_post(0.10, 0.10), _post(0.10, 0.10), _post(0.10, 0.10))
    assert EXP.finding(_cfg(), at).margins[GAP_LABEL] == pytest.approx(0, abs=1e-9)
    below = _seeds(_post(0.10, 0.10), _post(0.10, 0.10), _post(0.10, 0.099))
    assert not EXP.finding(_cfg(), below).passed


def test_the_stand_in_asserts_the_mean_gap():
    stand_in = {k: v for k, v in STAND_IN.items() if k[0] == "post" and k[1] != "bow"}
    passed = EXP.finding(_cfg(), _results(stand_in, seeds=(0,), source="synthetic"))
    assert passed.passed, passed.message
    keeps_up = {**stand_in, ("post", "rnn", 200): 0.72}
    assert not EXP.finding(_cfg(), _results(keeps_up, source="synthetic")).passed


def test_default_reports_pre_and_the_control_without_asserting_them():
    cfg = EXP.resolve("default", {})
    finding = EXP.finding(cfg, _results(REAL, seeds=(0, 1, 2), jitter=0.01))
    assert finding.passed, finding.message
    assert "pre SimpleRNN" in finding.message
    assert {"gain_pre_bow", "gain_post_bow", "gain_pre_rnn"} <= set(finding.numbers)
    assert all(label.startswith("post") for label in finding.margins)


def test_missing_results_or_a_sweep_without_post_fail_with_a_reason():
    partial = [r for r in _results(POST, seeds=(0, 1, 2)) if r.trial["model"] == "rnn"]
    assert "missing results" in EXP.finding(_cfg(), partial).message
    one_side = EXP.resolve("ci", {"sweep.truncations": ["pre"]})
    assert "post truncation" in EXP.finding(one_side, _results(REAL)).message


def _reviews(lengths_train, lengths_test, duplicate=None):
    rng = np.random.default_rng(1)
    x_tr = [rng.integers(2, 50, n).astype("int32") for n in lengths_train]
    x_te = [rng.integers(2, 50, n).astype("int32") for n in lengths_test]
    if duplicate is not None:  # a training review that is also a test review
        x_tr[duplicate] = x_te[0].copy()
    y_tr = np.arange(len(x_tr)) % 2
    y_te = np.arange(len(x_te)) % 2
    return TokenizedReviews(x_tr, y_tr, x_te, y_te, 50, "path", "test reviews")


def test_validation_is_carved_from_training_and_never_holds_a_test_review():
    data = _reviews([30] * 40 + [5] * 10, [30] * 20, duplicate=3)
    fit, val, test = pool_split(data, 20, val_fraction=0.25, max_test=2000)
    assert not set(fit) & set(val)
    assert len(fit) + len(val) == 39  # 40 long reviews, less the duplicate
    assert 3 not in set(fit) | set(val)
    test_texts = {data.x_test[i].tobytes() for i in test}
    assert not any(data.x_train[i].tobytes() in test_texts for i in list(fit) + list(val))
    assert all(len(data.x_train[i]) >= 20 for i in list(fit) + list(val))
    # The same split whatever the trial: it depends on the data only.
    again = pool_split(data, 20, val_fraction=0.25, max_test=2000)
    assert all((a == b).all() for a, b in zip((fit, val, test), again))


def test_every_trial_is_planned_once_with_its_absolute_seed():
    cfg = EXP.resolve("default", {"seed": 7})
    trials = EXP.trials(cfg)
    keys = {tuple(sorted(t.items())) for t in trials}
    assert len(keys) == len(trials) == 2 * 4 * 3 * 3
    assert {t["seed"] for t in trials} == {7, 8, 9}


def test_a_pool_too_small_is_refused_naming_the_way_out_and_a_small_one_warned(capsys):
    data = _reviews([30] * 2 + [5] * 10, [30] * 5)
    with pytest.raises(DataError, match=r"pool for length 20 is too small .*sweep.pool=per_length"):
        length_pool(data, 20, 20, val_fraction=0.25, max_train=0, max_test=0, min_pool=0)
    length_pool(_reviews([30] * 40, [30] * 5), 20, 20, 0.25, 0, 0, min_pool=100)
    assert "only 30 training reviews have >= 20 tokens" in capsys.readouterr().out


def test_length_windows_cut_one_pool_to_every_length_on_both_sides(capsys):
    data = _reviews([30] * 20 + [15] * 10, [30] * 6)
    cut, pools = length_windows(data, (10, 20), ("pre", "post"), True, 0.25, 0, 0, 0)
    assert {n: p["pool.min_tokens"] for n, p in pools.items()} == {10: 20, 20: 20}
    x_fit, y_fit, x_val, _, x_test, _ = cut[("pre", 10)]
    assert x_fit.shape == (15, 10) and x_val.shape == (5, 10) and x_test.shape == (6, 10)
    assert y_fit.dtype == np.float32
    fit, _, _ = pool_split(data, 20, 0.25)
    assert (cut[("pre", 10)][0][0] == data.x_train[fit[0]][-10:]).all()
    assert (cut[("post", 20)][0][0] == data.x_train[fit[0]][:20]).all()
    assert "L=10: 15/5/6, L=20: 15/5/6" in capsys.readouterr().out
