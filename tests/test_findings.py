"""Every shipped finding, on synthetic results: it must PASS, FAIL, and hold at its margin.

No training: each experiment's `finding_cases()` (`rnnexp.finding_cases`) builds
`TrialResult`s with the numbers its finding reads. "At the margin" means every
check's value sits on its threshold (the margin is 0 and the check holds); a hair
beyond one threshold must fail. The tests after the catalog-wide ones go deeper
into single findings (imdb_seqlen and sentiment also beside their data).
"""

import dataclasses
import sys

import pytest

from rnnexp import catalog
from rnnexp.finding_cases import finished

catalog.load_catalog()
SHIPPED = sorted(p.stem for p in catalog.experiments_dir().glob("*.py") if p.stem[0] != "_")


def module(name):
    """An experiment's module, for the builders of its synthetic results."""
    return sys.modules[type(catalog.get(name)).__module__]


def assert_at_margin(finding):
    assert finding.passed, finding.message
    assert finding.checks, "a finding reports structured checks"
    for label, margin in finding.margins.items():
        assert margin == pytest.approx(0.0, abs=1e-9), (label, margin)


def assert_verdict(finding, passed):
    assert finding.passed is passed, finding.message
    assert finding.checks, "a finding reports structured checks"
    assert all((c.margin >= 0) is c.passed for c in finding.checks)
    assert ("NOT MET" in finding.message) is (not passed)


# -- every catalog finding: PASS, FAIL, and each threshold at and either side of its margin --
#
# Moving the threshold, not the value, also proves the finding reads its thresholds
# from the config (a number copied into `finding()` would not move).


def _cases(name):
    exp = catalog.get(name)
    cases = exp.finding_cases()
    return exp, cases, cases.adapt(exp.resolve("ci"))


def test_every_shipped_experiment_brings_its_finding_cases():
    # The catalog's own files, not the registry: other tests register toy experiments.
    assert SHIPPED
    for name in SHIPPED:
        cases = catalog.get(name).finding_cases()
        assert cases and cases.passing and cases.failing and cases.at_margin, name


@pytest.mark.parametrize("name", SHIPPED)
def test_the_finding_passes_and_fails(name):
    exp, cases, cfg = _cases(name)
    assert_verdict(exp.finding(cfg, cases.passing(cfg)), True)
    assert_verdict(exp.finding(cfg, cases.failing(cfg)), False)


def _thresholds(cfg) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cfg.finding)
        if isinstance(getattr(cfg.finding, f.name), float)
    ]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_threshold_holds_at_its_margin_and_flips_just_beyond(name):
    exp, cases, cfg = _cases(name)
    binding = set()
    for build in cases.at_margin:
        results = build(cfg)
        assert_at_margin(exp.finding(cfg, results))
        for field in _thresholds(cfg):
            value = getattr(cfg.finding, field)
            hair = abs(value) * 1e-6 or 1e-9
            verdicts = {}
            for step in (hair, -hair):
                moved = dataclasses.replace(cfg.finding, **{field: value + step})
                finding = exp.finding(dataclasses.replace(cfg, finding=moved), results)
                verdicts[step] = finding
            passed = sorted(f.passed for f in verdicts.values())
            if passed == [True, True]:
                continue  # this threshold plays no part in these results
            binding.add(field)
            assert passed == [False, True], (field, [f.message for f in verdicts.values()])
            failed = next(f for f in verdicts.values() if not f.passed)
            assert "NOT MET" in failed.message
            assert -1e-3 < min(failed.margins.values()) < 0, (field, failed.margins)
    assert binding == set(_thresholds(cfg)), f"thresholds never at their margin: {binding}"


# -- exploding_clipping -------------------------------------------------------


@pytest.mark.parametrize(
    "case, passed",
    [
        (dict(n_none=3, n_diverged=2, peaks=[1e2, 1e4, 1e6]), True),
        (dict(n_none=10, n_diverged=2, peaks=[1e2, 1e4, 1e6]), False),  # few diverged
        (dict(n_none=3, n_diverged=2, peaks=[10.0, 100.0]), False),  # geomean 32x < 100x
        (dict(n_none=3, n_diverged=2, peaks=[1e4], ratio=1.6), False),  # not even sane
        (dict(n_none=3, n_diverged=2, peaks=[1e4], global_failures=1), False),
    ],
)
def test_exploding_clipping_finding(case, passed):
    exp = catalog.get("exploding_clipping")
    results = module("exploding_clipping").synthetic_results(**case)
    assert_verdict(exp.finding(exp.resolve("ci"), results), passed)


def test_exploding_clipping_finding_at_the_margin_names_each_divergence_step():
    exp, cases, cfg = _cases("exploding_clipping")
    finding = exp.finding(cfg, cases.at_margin[0](cfg))
    assert_at_margin(finding)
    assert "seed 0: 2" in finding.message  # the divergence step, by the real seed
    one_less = module("exploding_clipping").synthetic_results(10, 2, [10.0, 1000.0])
    assert not exp.finding(cfg, one_less).passed


def test_exploding_clipping_one_bad_clipped_seed_is_not_the_median():
    exp = catalog.get("exploding_clipping")
    results = module("exploding_clipping").synthetic_results(3, 2, [1e3, 1e4, 1e5])
    results[-1].metrics["test_loss_ratio"] = 6.0  # seed 241 did this
    finding = exp.finding(exp.resolve("ci"), results)
    assert finding.passed and "up to 6" in finding.message, finding.message


# -- adding, copy_memory, tanh_vs_relu (rnnexp.recipes.long_range) -----------------


def test_long_range_findings_pool_seeds_by_their_geometric_mean():
    exp = catalog.get("tanh_vs_relu")
    cfg = exp.resolve("ci")
    assert cfg.sweep.seeds >= 3  # ci asserts the claim over seeds
    ratios = {"rnn_relu": (0.01, 0.1, 1.0), "irnn": (2.0, 2.0, 2.0), "rnn": (1.0, 1.0, 1.0)}
    results = [
        finished({"loss_ratio": r}, arch=arch, length=100, seed=seed)
        for arch, values in ratios.items()
        for seed, r in enumerate(values)
    ]
    finding = exp.finding(cfg, results)  # arithmetic mean 0.37 would fail; geometric 0.1 holds
    assert finding.checks[0].value == pytest.approx(0.1)
    assert finding.passed, finding.message


@pytest.mark.parametrize("name", ["adding", "copy_memory", "tanh_vs_relu"])
def test_long_range_findings(name):
    from rnnexp.recipes.long_range import synthetic_results

    exp = catalog.get(name)
    cfg = exp.resolve("ci")
    solved = cfg.finding.solved_ratio
    assert_verdict(exp.finding(cfg, synthetic_results(exp, solved * 1.01, 1.0)), False)
    # a diverged winner (loss 1e33) is a failure, measured in decades
    diverged = exp.finding(cfg, synthetic_results(exp, 1e33, 1.0))
    assert not diverged.passed and min(diverged.margins.values()) < -30


# -- gradient_flow ----------------------------------------------------------------


def test_gradient_flow_finding():
    exp = catalog.get("gradient_flow")
    cfg = exp.resolve("ci")
    flow = module("gradient_flow").synthetic_results
    assert_verdict(exp.finding(cfg, flow(2e-3, 1e-6, 0.5)), False)  # gated vanish less
    assert_verdict(exp.finding(cfg, flow(1e-20, 1e-6, 0.5, rnn_init=0.1)), False)
    assert_verdict(exp.finding(cfg, flow(1e-20, 1e-6, 0.09)), False)  # no path opened
    # the SimpleRNN opening its path at one seed in five is the median's to absorb, not at three
    assert_verdict(exp.finding(cfg, flow(1e-20, [0.3, 1e-6, 1e-9, 1e-4, 1e-12], 0.5)), True)
    assert_verdict(exp.finding(cfg, flow(1e-20, [0.3, 0.2, 0.4, 1e-4, 1e-12], 0.5)), False)


# -- tagging, deep_rnn, timeseries: a second way to fail (or pass) ------------------


def test_tagging_fails_when_left_to_right_is_too_good():
    exp = catalog.get("tagging")
    results = module("tagging").synthetic_results(0.5, 1.0)
    assert_verdict(exp.finding(exp.resolve("ci"), results), False)


def test_deep_rnn_counts_the_best_deeper_stack_residual_or_not():
    exp = catalog.get("deep_rnn")
    results = module("deep_rnn").synthetic_results(0.18, 0.2, 0.96)
    assert_verdict(exp.finding(exp.resolve("ci"), results), True)


def test_timeseries_fails_when_the_best_rnn_is_too_weak():
    exp = catalog.get("timeseries")
    results = module("timeseries").synthetic_results([0.9, 0.86, 0.9])
    assert_verdict(exp.finding(exp.resolve("ci"), results), False)


# -- captioning, translation -----------------------------------------------------------


def test_captioning_fails_when_one_decoder_did_not_train():
    # the GRU with a tanh bridge, docs/notes/captioning.md
    exp = catalog.get("captioning")
    results = module("captioning").synthetic_results([[90.4, 14.3, 95.5]])
    assert_verdict(exp.finding(exp.resolve("ci"), results), False)


def test_captioning_finding_over_seeds_asserts_each_decoders_interval():
    exp = catalog.get("captioning")
    cfg = exp.resolve("full")
    seeds = module("captioning").synthetic_results
    trained = [[86.0, 93.0, 96.0], [88.0, 91.0, 95.0], [85.0, 94.0, 97.0]]
    finding = exp.finding(cfg, seeds(trained))
    assert_verdict(finding, True)
    assert len(finding.checks) == 3 and all("interval" in c.label for c in finding.checks)
    # one GRU seed that did not train widens its interval below the captioner
    stalled = [[86.0, 93.0, 96.0], [88.0, 12.0, 95.0], [85.0, 94.0, 97.0]]
    assert_verdict(exp.finding(cfg, seeds(stalled)), False)


def test_translation_fails_when_the_gated_cells_gain_too_little():
    exp = catalog.get("translation")
    results = module("translation").synthetic_results(60.0, 76.0, 99.9)  # gain 10
    assert_verdict(exp.finding(exp.resolve("ci"), results), False)


# -- the guard every finding starts with (Finding.require) -------------------------------


def test_require_names_the_missing_arms_and_passes_a_complete_table():
    acc = {("rnn", "uni"): 0.2, ("rnn", "bi"): 0.9, ("lstm", "uni"): 0.2}
    missing = catalog.Finding.require(acc, [(c, d) for c in ("rnn", "lstm") for d in ("uni", "bi")])
    assert not missing.passed and not missing.checks
    assert missing.message == "missing results: ('lstm', 'bi')"
    assert catalog.Finding.require(acc, [("rnn", "uni"), ("rnn", "bi")]) is None
    assert catalog.Finding.require({}, ["rnn"]).message == "no finished trials"
    assert catalog.Finding.require([], ()).message == "no finished trials"
    clip = catalog.Finding.require({"none": [1]}, ("none", "global"), "trials at clip")
    assert clip.message == "missing trials at clip: global"


@pytest.mark.parametrize(
    "name",
    [
        "char_lm",
        "deep_rnn",
        "exploding_clipping",
        "jsb_chorales",
        "ptb_lm",
        "sentiment",
        "timeseries",
    ],
)
def test_a_finding_without_finished_trials_says_so(name):
    exp = catalog.get(name)
    finding = exp.finding(exp.resolve("ci"), [])
    assert not finding.passed and "no finished trial" in finding.message


def test_tagging_names_the_arm_that_did_not_finish():
    exp = catalog.get("tagging")
    results = [
        r for r in module("tagging").synthetic_results(0.2, 1.0) if r.trial["cell"] != "lstm"
    ]
    finding = exp.finding(exp.resolve("ci"), results)
    assert finding.message == "missing results: ('lstm', 'uni'), ('lstm', 'bi')"
