"""The false-alarm estimates on hand-made margins (no training, no records read)."""

import json

import numpy as np
import pytest

from rnnexp.report import chance_failure as cf
from rnnexp.report import false_alarm as fa


def test_one_mode_is_not_split():
    low, high = cf.split_modes([0.10, 0.12, 0.11, 0.13, 0.09])
    assert len(low) == 0 and len(high) == 5


def test_a_run_that_did_not_take_off_is_its_own_mode():
    low, high = cf.split_modes([-0.30, 0.10, 0.12, 0.11, 0.13, 0.09])
    assert list(low) == [-0.30] and len(high) == 5


def test_margins_far_from_zero_rarely_fail_and_margins_around_it_often():
    far = cf.fresh_failure([0.50, 0.52, 0.48, 0.51, 0.49, 0.50])
    assert far.p < 1e-4 and far.low == 0
    around = cf.fresh_failure([-0.02, 0.01, 0.0, 0.02, -0.01, 0.015])
    assert 0.2 < around.p < 0.8


def test_stalls_count_at_their_jeffreys_rate():
    # 2 of 10 runs stalled far below 0, the rest far above: p is the stall rate's posterior mean.
    est = cf.fresh_failure([-0.5, -0.52] + [0.5 + 0.01 * k for k in range(8)])
    assert est.low == 2 and "Jeffreys" in est.method
    assert est.p == pytest.approx(2.5 / 11, rel=0.02)  # less the low mode's t tail above 0


def test_too_few_outcomes_give_no_estimate():
    assert np.isnan(cf.fresh_failure([0.1]).p)
    assert "unknown" in str(cf.fresh_failure([]))


def test_a_wider_interval_fails_more_often():
    values = [0.05, 0.08, 0.03, 0.06, 0.07, 0.04]
    p = [cf.interval_check_failure(values, 3, level, draws=4000) for level in (0.0, 0.5, 0.9)]
    assert p[0] < p[1] < p[2]


def test_the_interval_estimate_matches_a_simulation_of_known_seeds():
    # Many measured seeds pin mu and sigma, so the estimate is the plain non-central t.
    rng = np.random.default_rng(3)
    values = rng.normal(0.02, 0.02, 400)
    estimate = cf.interval_check_failure(values, 3, 0.5, draws=4000)
    sweeps = rng.normal(0.02, 0.02, (200_000, 3))
    low = sweeps.mean(1) - 0.8165 * sweeps.std(1, ddof=1) / 3**0.5  # t(2) at 75%
    assert estimate == pytest.approx(np.mean(low < 0), abs=0.01)


def test_the_high_end_mirrors_the_low_end():
    values = [0.01, -0.005, 0.0, 0.012, 0.004]
    high = cf.interval_check_failure(values, 3, 0.5, threshold=0.04, end="high", draws=2000)
    low = cf.interval_check_failure([-v for v in values], 3, 0.5, threshold=-0.04, draws=2000)
    assert high == pytest.approx(low)
    with pytest.raises(ValueError, match="end must be"):
        cf.interval_check_failure(values, 3, 0.5, end="middle")


def test_two_mode_values_are_simulated():
    values = [0.2, 0.21, 0.19, 0.22, 0.2, 0.18, -0.3]  # one seed that did not take off
    p = cf.interval_check_failure(values, 3, 0.5, draws=20000)
    assert 0.01 < p < 0.5


def _record(margins, label="a check", per_run=1):
    outcomes = [
        {"seed": 10 + k, "passed": m >= 0, "checks": [{"label": label, "margin": m}]}
        for k, m in enumerate(margins)
    ]
    return {"experiment": "toy", "seeds_per_sweep": per_run, "outcomes": outcomes}


def test_a_record_gives_each_check_its_estimate_and_pass_rate():
    est, passed = fa.record_estimates(_record([0.1, 0.12, -0.01, 0.11]))["a check"]
    assert est.n == 4 and passed == pytest.approx(0.75)


def test_the_table_names_each_check_and_the_ci_wide_figure(tmp_path):
    (tmp_path / "toy-ci.json").write_text(json.dumps(_record([0.1, 0.12, 0.09, 0.11])))
    text = fa.table(tmp_path)
    assert "| toy |" in text and "a check" in text and "seeds 10–13" in text
    assert "CI-wide" in text and "1 checks" in text


def test_the_command_says_what_is_missing(tmp_path, capsys):
    assert fa.main(["--records", str(tmp_path / "none")]) == 2
    assert "no records folder" in capsys.readouterr().out


def test_an_interval_check_is_estimated_from_its_design_file(tmp_path):
    label = "gap, low end of its 50% paired interval over 3 seeds"
    (tmp_path / "toy-ci.json").write_text(json.dumps(_record([0.1], label=label, per_run=3)))
    design = {"values": [0.2, 0.22, 0.18, 0.21, 0.19], "level": 0.5, "n_seeds": 3}
    design |= {"threshold": 0.0, "end": "low", "seeds": [1, 2, 3, 4, 5]}
    (tmp_path / "design").mkdir()
    (tmp_path / "design" / "toy-ci.json").write_text(json.dumps({"checks": {label: design}}))
    text = fa.table(tmp_path)
    assert "non-central t over the posterior of seeds 1–5" in text
    assert "unknown" not in text and text.count("| toy |") == 1


def test_the_statistic_is_the_one_the_check_computes():
    assert fa.statistic("gap, median decades over seeds", 5) == (
        "median over the run's seeds vs a threshold"
    )
    assert fa.statistic("best gated ratio", 5, log=True).startswith("geometric mean")
    assert fa.statistic("gain, low end of its 50% interval", 3).startswith("interval")
    assert fa.statistic("gain", 1) == "one seed's value vs a threshold"
    assert fa.statistic("gain", 3) == "mean over the run's seeds vs a threshold"


def test_only_ci_records_are_ci_checks(tmp_path):
    (tmp_path / "toy-ci.json").write_text(json.dumps(_record([0.1, 0.12, 0.09], "ci check")))
    full = _record([0.1, 0.12, 0.09], "full check") | {"profile": "full"}
    (tmp_path / "toy-full-3epochs.json").write_text(json.dumps(full))
    text = fa.table(tmp_path)
    assert "ci check" in text and "full check" not in text


def test_an_interval_check_pools_the_seeds_its_record_kept_with_its_design_seeds(tmp_path):
    label = "bi - uni gain, high end of its 50% paired interval over 3 seeds"
    spec = {"metric": "acc", "terms": [[1, {"variant": "bi"}], [-1, {"variant": "uni"}]]}
    design = {"values": [0.01, 0.0, 0.005, -0.004, 0.008], "level": 0.5, "n_seeds": 3}
    design |= {"threshold": 0.04, "end": "high", "seeds": [1, 2, 3, 4, 5], "per_seed": spec}

    def trial(seed, variant, acc, status="FINISHED"):
        return {
            "trial": {"variant": variant, "seed": seed},
            "status": status,
            "metrics": {"acc": acc},
        }

    record = _record([0.1, 0.1], label=label, per_run=3)
    record["outcomes"][0]["trials"] = [
        trial(10, "uni", 0.75),
        trial(10, "bi", 0.80),  # a seed whose uni drew low
        trial(11, "uni", 0.80),
        trial(11, "bi", 0.78),
        trial(3, "uni", 0.5),
        trial(3, "bi", 0.9),  # a design seed: its design value stands
        trial(12, "uni", 0.8),
        trial(12, "bi", None, "FAILED"),  # an arm that did not finish
    ]
    assert fa.per_seed_values(record, spec) == pytest.approx({10: 0.05, 11: -0.02, 3: 0.4})
    alone = fa.design_estimates({"checks": {label: design}})[label]
    pooled = fa.design_estimates({"checks": {label: design}}, record)[label]
    assert alone.n == 5 and pooled.n == 7 and "seeds 1–5, 10–11" in str(pooled)
    assert pooled.p > alone.p  # the recorded seeds spread wider than the design seeds


def test_a_check_on_a_geometric_mean_pools_the_log10_of_each_seeds_metric():
    spec = {"metric": "peak", "log10": True, "terms": [[1, {"clip": "global"}]]}
    trials = [
        {"trial": {"clip": "global", "seed": s}, "status": "FINISHED", "metrics": {"peak": p}}
        for s, p in [(1, 1e4), (2, 1e6), (3, 0.0)]  # a zero peak has no log: left out
    ]
    record = {"outcomes": [{"seed": 1, "checks": [], "trials": trials}]}
    assert fa.per_seed_values(record, spec) == pytest.approx({1: 4.0, 2: 6.0})
    floored = fa.per_seed_values(record, spec | {"floor": 1e-45})  # as the check floors it
    assert floored == pytest.approx({1: 4.0, 2: 6.0, 3: -45.0})


def test_a_median_check_counts_the_seeds_past_its_threshold():
    far = [5.0] * 69 + [-0.9]  # one seed of 70 on the wrong side, however far
    near = [1.5] * 69 + [0.9]
    p = cf.median_check_failure(far, 5, 1.0)
    assert p == pytest.approx(cf.median_check_failure(near, 5, 1.0))
    assert 1e-5 < p < 1e-3  # 3 of 5 seeds past it, at a rate near 1 in 70
    assert cf.median_check_failure([0.5] * 10, 5, 1.0) > 0.99
    assert cf.median_check_failure([2.0] * 10, 5, 1.0, end="high") > 0.99
    with pytest.raises(ValueError, match="end must be"):
        cf.median_check_failure(far, 5, 1.0, end="middle")
