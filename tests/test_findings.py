"""Every migrated finding, on synthetic results: it must PASS, FAIL, and hold at its margin.

No training: `TrialResult`s are built by hand with the numbers each finding
reads. "At the margin" means every check's value sits on its threshold (the
margin is 0 and the check holds); a hair beyond one threshold must fail.
`FINDING_CASES` at the end holds every finding's PASS, FAIL and at-margin
cases (imdb_seqlen and sentiment are tested in more depth beside their data).
"""

import dataclasses

import pytest

from rnnexp import catalog
from rnnexp.catalog import TrialResult

catalog.load_catalog()


def done(metrics, **trial):
    return TrialResult({**trial, "seed": trial.get("seed", 0)}, metrics=metrics)


def assert_at_margin(finding):
    assert finding.passed, finding.message
    assert finding.checks, "a migrated finding reports structured checks"
    for label, margin in finding.margins.items():
        assert margin == pytest.approx(0.0, abs=1e-9), (label, margin)


def assert_verdict(finding, passed):
    assert finding.passed is passed, finding.message
    assert finding.checks, "a migrated finding reports structured checks"
    assert all((c.margin >= 0) is c.passed for c in finding.checks)
    assert ("NOT MET" in finding.message) is (not passed)


# -- exploding_clipping -------------------------------------------------------


def clipping_results(n_none, n_diverged, peaks, ratio=0.9, global_failures=0):
    diverged = [
        TrialResult(
            {"clip": "none", "seed": k},
            status="FAILED",
            error="NonFiniteLoss: loss nan at step 2",
            extras={"loss": [1.0, float("nan")]},
        )
        for k in range(n_diverged)
    ]
    tame = [
        done({"test_loss_ratio": 1.0, "max_grad_norm_pre_clip": 5.0}, clip="none", seed=k)
        for k in range(n_diverged, n_none)
    ]
    clipped = [
        done({"test_loss_ratio": ratio, "max_grad_norm_pre_clip": peak}, clip="global", seed=k)
        for k, peak in enumerate(peaks)
    ]
    failed = [
        TrialResult({"clip": "global", "seed": 99}, status="FAILED", error="NonFiniteLoss: x")
        for _ in range(global_failures)
    ]
    return diverged + tame + clipped + failed


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
    assert_verdict(exp.finding(exp.resolve("ci"), clipping_results(**case)), passed)


def test_exploding_clipping_finding_at_the_margin():
    exp = catalog.get("exploding_clipping")
    cfg = exp.resolve("ci")
    # 3 of 10 diverged = 0.3, geometric mean of 10x and 1000x = 100x, median MSE 1.5
    results = clipping_results(10, 3, [10.0, 1000.0], ratio=cfg.finding.global_median_max)
    finding = exp.finding(cfg, results)
    assert_at_margin(finding)
    assert "seed 0: 2" in finding.message  # the divergence step, by the real seed
    one_less = exp.finding(cfg, clipping_results(10, 2, [10.0, 1000.0]))
    assert not one_less.passed


def test_exploding_clipping_one_bad_clipped_seed_is_not_the_median():
    exp = catalog.get("exploding_clipping")
    cfg = exp.resolve("ci")
    results = clipping_results(3, 2, [1e3, 1e4, 1e5])
    results[-1].metrics["test_loss_ratio"] = 6.0  # seed 241 did this
    finding = exp.finding(cfg, results)
    assert finding.passed and "up to 6" in finding.message, finding.message


# -- adding, copy_memory, tanh_vs_relu (rnnexp.recipes.long_range) -----------------


def long_range_results(exp, winner_ratio, loser_ratio, length=100):
    results = [done({"loss_ratio": loser_ratio}, arch=exp.loser, length=length)]
    for k, arch in enumerate(exp.winners):  # the best winner is the first
        results.append(done({"loss_ratio": winner_ratio * (1 + k)}, arch=arch, length=length))
    if exp.name == "copy_memory":
        for r in results:
            r.metrics["copy_accuracy"] = 0.5
    return results


def _loser_at_margin(f, winner):
    """The loser's loss/baseline that sits exactly on its threshold, given the winner's."""
    return f.stuck_ratio if f.stuck_ratio is not None else winner * f.min_loser_factor


def test_long_range_findings_pool_seeds_by_their_geometric_mean():
    exp = catalog.get("tanh_vs_relu")
    cfg = exp.resolve("ci")
    assert cfg.sweep.seeds >= 3  # ci asserts the claim over seeds
    ratios = {"rnn_relu": (0.01, 0.1, 1.0), "irnn": (2.0, 2.0, 2.0), "rnn": (1.0, 1.0, 1.0)}
    results = [
        done({"loss_ratio": r}, arch=arch, length=100, seed=seed)
        for arch, values in ratios.items()
        for seed, r in enumerate(values)
    ]
    finding = exp.finding(cfg, results)  # arithmetic mean 0.37 would fail; geometric 0.1 holds
    assert finding.checks[0].value == pytest.approx(0.1)
    assert finding.passed, finding.message


@pytest.mark.parametrize("name", ["adding", "copy_memory", "tanh_vs_relu"])
def test_long_range_findings(name):
    exp = catalog.get(name)
    cfg = exp.resolve("ci")
    f = cfg.finding
    solved = f.solved_ratio
    assert_verdict(exp.finding(cfg, long_range_results(exp, solved / 10, 1.0)), True)
    assert_at_margin(exp.finding(cfg, long_range_results(exp, solved, _loser_at_margin(f, solved))))
    assert_verdict(exp.finding(cfg, long_range_results(exp, solved * 1.01, 1.0)), False)
    stuck = _loser_at_margin(f, solved / 10) * 0.99  # the rnn learned too much of it
    assert_verdict(exp.finding(cfg, long_range_results(exp, solved / 10, stuck)), False)
    # a diverged winner (loss 1e33) is a failure, measured in decades
    diverged = exp.finding(cfg, long_range_results(exp, 1e33, 1.0))
    assert not diverged.passed and min(diverged.margins.values()) < -30


# -- gradient_flow ----------------------------------------------------------------


def flow_results(gated_init, rnn_trained, gated_trained, rnn_init=1e-4, seeds=5):
    """`seeds` seeds of the four arms; `rnn_trained` is one value or one per seed."""
    per_seed = rnn_trained if isinstance(rnn_trained, list) else [rnn_trained] * seeds

    def arch(name, seed, init, trained):
        metrics = {"ratio_init": init, "ratio_trained": trained, "loss_ratio": 0.5}
        return done(metrics, arch=name, seed=seed)

    return [
        result
        for seed, rnn in enumerate(per_seed)
        for result in (
            arch("rnn", seed, rnn_init, rnn),
            arch("rnn_relu", seed, 1e-5, 0.2),
            arch("gru", seed, gated_init, gated_trained),
            arch("lstm", seed, gated_init / 10, gated_trained / 100),
        )
    ]


def _flow(cfg):
    f = cfg.finding
    at_gap = f.gated_trained_min / 10**f.gap_min_decades
    return flow_results(f.gated_init_max, at_gap, f.gated_trained_min, rnn_init=f.rnn_init_max)


def test_gradient_flow_finding():
    exp = catalog.get("gradient_flow")
    cfg = exp.resolve("ci")
    assert_verdict(exp.finding(cfg, flow_results(1e-20, 1e-6, 0.5)), True)
    assert_at_margin(exp.finding(cfg, _flow(cfg)))
    assert_verdict(exp.finding(cfg, flow_results(2e-3, 1e-6, 0.5)), False)  # gated vanish less
    assert_verdict(exp.finding(cfg, flow_results(1e-20, 1e-6, 0.5, rnn_init=0.1)), False)
    assert_verdict(exp.finding(cfg, flow_results(1e-20, 1e-6, 0.09)), False)  # no path opened
    # the SimpleRNN opening its path at one seed in five is the median's to absorb, not at three
    assert_verdict(exp.finding(cfg, flow_results(1e-20, [0.3, 1e-6, 1e-9, 1e-4, 1e-12], 0.5)), True)
    assert_verdict(exp.finding(cfg, flow_results(1e-20, [0.3, 0.2, 0.4, 1e-4, 1e-12], 0.5)), False)


# -- tagging ------------------------------------------------------------------------


def tagging_results(uni, bi, cells=("rnn", "lstm")):
    return [done({"test_accuracy": uni}, cell=c, direction="uni") for c in cells] + [
        done({"test_accuracy": bi}, cell=c, direction="bi") for c in cells
    ]


def test_tagging_finding():
    exp = catalog.get("tagging")
    cfg = exp.resolve("ci")
    f = cfg.finding
    assert_verdict(exp.finding(cfg, tagging_results(0.23, 1.0)), True)
    uni = f.uni_max_accuracy
    assert_at_margin(exp.finding(cfg, tagging_results(uni, uni + f.min_gain)))
    assert_verdict(exp.finding(cfg, tagging_results(0.25, 0.5)), False)  # gain 0.25
    assert_verdict(exp.finding(cfg, tagging_results(0.5, 1.0)), False)  # uni too good


# -- deep_rnn ------------------------------------------------------------------------


def deep_results(shallow, deep, residual):
    return [
        done({"test_accuracy": shallow}, cell="rnn", depth=1, residual=False),
        done({"test_accuracy": deep}, cell="rnn", depth=4, residual=False),
        done({"test_accuracy": residual}, cell="rnn", depth=4, residual=True),
    ]


def test_deep_rnn_finding():
    exp = catalog.get("deep_rnn")
    cfg = exp.resolve("ci")
    gain = cfg.finding.min_depth_gain
    assert_verdict(exp.finding(cfg, deep_results(0.18, 0.96, 0.21)), True)
    assert_at_margin(exp.finding(cfg, deep_results(0.25, 0.25 + gain, 0.2)))
    # the best deeper stack counts, residual or not
    assert_verdict(exp.finding(cfg, deep_results(0.18, 0.2, 0.96)), True)
    assert_verdict(exp.finding(cfg, deep_results(0.18, 0.25, 0.21)), False)


# -- char_lm ---------------------------------------------------------------------------


def char_results(bpcs, unigram=5.0):
    return [
        done({"test_bpc": b, "unigram_bpc": unigram}, cell=c)
        for c, b in zip(("rnn", "gru", "lstm"), bpcs)
    ]


def test_char_lm_finding():
    exp = catalog.get("char_lm")
    cfg = exp.resolve("ci")
    gain = cfg.finding.min_gain_bits
    assert_verdict(exp.finding(cfg, char_results([2.6, 2.4, 2.8])), True)
    assert_at_margin(exp.finding(cfg, char_results([2.0, 2.5, 5.0 - gain])))
    assert_verdict(exp.finding(cfg, char_results([2.0, 2.5, 3.6])), False)  # lstm 1.4 bits


# -- timeseries ----------------------------------------------------------------------


def series_results(ratios):
    metrics = {"naive_mae": 23.4, "seasonal_naive_mae": 24.8}
    return [
        done({**metrics, "mae_vs_naive": r}, cell=c, seed=k)
        for c, r in zip(("rnn", "gru", "lstm"), ratios)
        for k in range(2)
    ]


def test_timeseries_finding():
    exp = catalog.get("timeseries")
    cfg = exp.resolve("ci")
    best = cfg.finding.max_mae_vs_naive
    assert_verdict(exp.finding(cfg, series_results([0.63, 0.53, 0.63])), True)
    assert_at_margin(exp.finding(cfg, series_results([1.0, best, 1.0])))
    assert_verdict(exp.finding(cfg, series_results([0.9, 0.86, 0.9])), False)  # best too weak
    assert_verdict(exp.finding(cfg, series_results([1.05, 0.5, 0.6])), False)  # rnn > naive


# -- captioning ----------------------------------------------------------------------


def caption_results(bleus, nearest=53.0):
    base = {"baseline_nearest_bleu4": nearest, "baseline_frequent_bleu4": 10.0}
    return [done({**base, "bleu4": b}, cell=c) for c, b in zip(("rnn", "gru", "lstm"), bleus)]


def test_captioning_finding():
    exp = catalog.get("captioning")
    cfg = exp.resolve("ci")
    assert_verdict(exp.finding(cfg, caption_results([86.0, 93.0, 96.1])), True)
    # a decoder that did not train (the GRU with a tanh bridge, docs/notes/captioning.md)
    assert_verdict(exp.finding(cfg, caption_results([90.4, 14.3, 95.5])), False)
    assert_at_margin(exp.finding(cfg, _caption_at_margin(cfg)))
    assert_verdict(exp.finding(cfg, caption_results([60.0, 62.0, 96.0])), False)  # two at +7, +9


def caption_seeds(rows, nearest=53.0):
    """`rows`: per seed, the (SimpleRNN, GRU, LSTM) BLEU-4."""
    base = {"baseline_nearest_bleu4": nearest, "baseline_frequent_bleu4": 10.0}
    return [
        done({**base, "bleu4": b}, cell=c, seed=seed)
        for seed, bleus in enumerate(rows)
        for c, b in zip(("rnn", "gru", "lstm"), bleus)
    ]


def test_captioning_finding_over_seeds_asserts_each_decoders_interval():
    exp = catalog.get("captioning")
    cfg = exp.resolve("full")
    trained = [[86.0, 93.0, 96.0], [88.0, 91.0, 95.0], [85.0, 94.0, 97.0]]
    finding = exp.finding(cfg, caption_seeds(trained))
    assert_verdict(finding, True)
    assert len(finding.checks) == 3 and all("interval" in c.label for c in finding.checks)
    # one GRU seed that did not train widens its interval below the captioner
    stalled = [[86.0, 93.0, 96.0], [88.0, 12.0, 95.0], [85.0, 94.0, 97.0]]
    assert_verdict(exp.finding(cfg, caption_seeds(stalled)), False)


# -- translation -----------------------------------------------------------------------


def translation_results(bleu_none, long_none, long_luong, rnn_none=50.0):
    results = []
    for cell in ("rnn", "gru", "lstm"):
        for attention, long in (("none", long_none), ("luong", long_luong)):
            whole = rnn_none if (cell, attention) == ("rnn", "none") else bleu_none
            metrics = {"bleu4": whole, "bleu4_len_13_up": long}
            results.append(done(metrics, cell=cell, attention=attention))
    return results


def test_translation_finding():
    exp = catalog.get("translation")
    cfg = exp.resolve("ci")
    f = cfg.finding
    assert_verdict(exp.finding(cfg, translation_results(85.0, 76.0, 99.9)), True)
    # gain exactly 15 BLEU; error 100 - 80 = 20 -> 10, ratio exactly 0.5
    at = translation_results(50.0 + f.min_gated_gain, 80.0, 90.0)
    assert_at_margin(exp.finding(cfg, at))
    assert_verdict(exp.finding(cfg, translation_results(60.0, 76.0, 99.9)), False)  # gain 10
    assert_verdict(exp.finding(cfg, translation_results(85.0, 80.0, 89.0)), False)  # 0.55


# -- every catalog finding: PASS, FAIL, and each threshold at and either side of its margin --
#
# One entry per shipped experiment: synthetic results that pass, that fail, and that sit
# exactly on every threshold (`at_margin`). The margin test then moves each numeric
# threshold of `cfg.finding` a hair either way: one way must fail by a hair, the other
# pass. Moving the threshold, not the value, also proves the finding reads its thresholds
# from the config (a number copied into `finding()` would not move).


def _imdb_seqlen_results(acc, source="path", seeds=1):
    """`{(truncation, model, length): accuracy}` -> `seeds` seeds of imdb_seqlen trials."""
    return [
        TrialResult(
            {"truncation": side, "model": model, "length": length, "seed": seed},
            metrics={"test_accuracy": a},
            extras={"data_source": source},
        )
        for (side, model, length), a in acc.items()
        for seed in range(seeds)
    ]


def _imdb_seqlen_exact(cfg):
    """A binary-exact stand-in gap, so a difference of gains lands exactly on it."""
    return dataclasses.replace(
        cfg, finding=dataclasses.replace(cfg.finding, synthetic_min_gain_gap=0.0625)
    )


def _imdb_seqlen_post(rnn_gain, lstm_gain, source="path", seeds=3):
    """Accuracy 0 at L=10, so each gain is its L=200 accuracy; every seed alike."""
    acc = {("post", m, 10): 0.0 for m in ("rnn", "lstm")}
    acc |= {("post", "rnn", 200): rnn_gain, ("post", "lstm", 200): lstm_gain}
    return _imdb_seqlen_results(acc, source, seeds)


def _spread_at_low(level, low, spread=0.01):
    """Three per-seed values whose `level` t interval has its low end exactly at `low`."""
    from scipy import stats

    mean = low + stats.t.ppf(0.5 + level / 2, 2) * spread / 3**0.5
    return [mean - spread, mean, mean + spread]


def _imdb_seqlen_spread_at_margin(cfg):
    """Seeds that differ: the gain's and the gap's interval ends sit exactly on 0."""
    f = cfg.finding
    lstm = _spread_at_low(f.gated_gain_level, 0.0)
    gap = _spread_at_low(f.gap_level, 0.0, spread=0.02)
    gains = {"lstm": lstm, "rnn": [g - d for g, d in zip(lstm, gap)]}
    return [
        TrialResult(
            {"truncation": "post", "model": m, "length": n, "seed": seed},
            metrics={"test_accuracy": gain if n == 200 else 0.0},
            extras={"data_source": "path"},
        )
        for m, per_seed in gains.items()
        for seed, gain in enumerate(per_seed)
        for n in (10, 200)
    ]


def _sentiment_results(accuracies, synthetic=False, seeds=1):
    return [
        TrialResult(
            {"cell": c, "variant": v, "seed": seed},
            metrics={"test_accuracy": a},
            extras={"synthetic": synthetic},
        )
        for (c, v), a in accuracies.items()
        for seed in range(seeds)
    ]


def _sentiment_exact(cfg):
    """Binary-exact thresholds, so a difference of accuracies lands exactly on one."""
    exact = dict(anchor_min_accuracy=0.75, min_gated_gain=0.125, min_gated_accuracy=0.625)
    exact |= dict(max_direction_gain=0.0625, synthetic_anchor_min_accuracy=0.75)
    exact |= dict(min_gain_synthetic=0.25)
    return dataclasses.replace(cfg, finding=dataclasses.replace(cfg.finding, **exact))


def _sentiment_real_at_margin(cfg):
    f = cfg.finding
    uni = f.min_gated_accuracy
    return _sentiment_results(
        {
            ("lstm", "uni1"): uni,
            ("rnn", "uni1"): uni - f.min_gated_gain,
            ("lstm", "bi1"): uni + f.max_direction_gain,
            ("rnn", "bi1"): uni + f.max_direction_gain - f.min_gated_gain,
            ("lstm", "bi2"): f.anchor_min_accuracy,
        },
        seeds=f.gap_min_seeds,  # enough seeds for the cell gap to be asserted
    )


def _sentiment_spread_at_margin(cfg):
    """Seeds that differ: uni1's interval end and bi1 - uni1's median sit on their thresholds."""
    f = cfg.finding
    uni = _spread_at_low(f.accuracy_level, f.min_gated_accuracy)
    # one seed far above the gain allowed, one far below: only the median's seed counts
    gains = [f.max_direction_gain + 0.2, f.max_direction_gain, f.max_direction_gain - 0.2]
    bi = [u + g for u, g in zip(uni, gains)]
    arms = {("lstm", "uni1"): uni, ("lstm", "bi1"): bi}
    return [
        TrialResult(
            {"cell": c, "variant": v, "seed": seed},
            metrics={"test_accuracy": a},
            extras={"synthetic": False},
        )
        for (c, v), values in arms.items()
        for seed, a in enumerate(values)
    ]


def _sentiment_stand_in_at_margin(cfg):
    f = cfg.finding
    return _sentiment_results(
        {
            ("lstm", "uni1"): f.synthetic_anchor_min_accuracy - f.min_gain_synthetic,
            ("lstm", "bi1"): f.synthetic_anchor_min_accuracy,
            ("lstm", "bi2"): f.synthetic_anchor_min_accuracy,
        },
        synthetic=True,
    )


def _long_range(name):
    def cases(which):
        def build(cfg):
            exp, f = catalog.get(name), cfg.finding
            ratios = {
                "pass": (f.solved_ratio / 10, 1.0),
                # the rnn learned it
                "fail": (f.solved_ratio / 10, _loser_at_margin(f, f.solved_ratio / 10) * 0.99),
                "margin": (f.solved_ratio, _loser_at_margin(f, f.solved_ratio)),
            }[which]
            return long_range_results(exp, *ratios)

        return build

    return dict(passing=cases("pass"), failing=cases("fail"), at_margin=[cases("margin")])


def _caption_at_margin(cfg):
    # every decoder exactly min_gain_over_baseline over a 50-BLEU nearest neighbour
    high = 50.0 + cfg.finding.min_gain_over_baseline
    return caption_results([high, high, high], nearest=50.0)


# -- ptb_lm, jsb_chorales (intervals over seeds) --------------------------------


def _at_low_zero(level, n=3, spread=0.1):
    """Per-seed differences whose `level` Student-t interval has its lower end exactly at 0."""
    from scipy import stats

    mean = stats.t.ppf(0.5 + level / 2, n - 1) * spread / n**0.5  # sd of [m - a, m, m + a] is a
    mean += 1e-12  # on the passing side of rounding
    return [mean - spread, mean, mean + spread]


def ptb_results(model_ppl, unigram=700.0, bigram=300.0):
    return [
        done(
            {
                "valid_perplexity": p,
                "unigram_valid_perplexity": unigram,
                "bigram_valid_perplexity": bigram,
            },
            cell="lstm",
            seed=k,
        )
        for k, p in enumerate(model_ppl)
    ]


def _ptb_at_margin(cfg):
    import math

    base = 700.0 if cfg.finding.baseline == "unigram" else 300.0
    gains = _at_low_zero(cfg.finding.level)
    return ptb_results([base / math.exp(g) for g in gains])


def jsb_results(rnn, gru, lstm):
    return [
        done({"test_nll": v}, cell=cell, seed=k)
        for cell, values in (("rnn", rnn), ("gru", gru), ("lstm", lstm))
        for k, v in enumerate(values)
    ]


def _jsb_at_margin(cfg):
    gaps = _at_low_zero(cfg.finding.level)
    return jsb_results([0.0] * 3, [0.5] * 3, gaps)  # LSTM - SimpleRNN = gaps, exactly


def mnist1d_results(in_order, shuffled):
    """GRU test accuracy per seed (paired by position), in order and with positions shuffled."""
    return [
        done({"test_accuracy": a}, model="gru", order=order, seed=k)
        for order, accuracies in (("plain", in_order), ("shuffled", shuffled))
        for k, a in enumerate(accuracies)
    ]


def _mnist1d_at_margin(cfg):
    # Every seed at the accuracy floor, shuffling changes nothing: the gain's interval is [0, 0].
    floor = cfg.finding.gru_min_accuracy
    return mnist1d_results([floor] * 3, [floor - cfg.finding.min_order_gain] * 3)


def pos_results(uni, bi, majority=0.5):
    """LSTM tagger test accuracy per seed, left-to-right and bidirectional."""
    return [
        done(
            {"test_accuracy": a, "majority_test_accuracy": majority},
            cell="lstm",
            direction=direction,
            seed=k,
        )
        for direction, accuracies in (("uni", uni), ("bi", bi))
        for k, a in enumerate(accuracies)
    ]


def _pos_at_margin(cfg):
    f = cfg.finding
    bi = 0.5 + f.min_gain_over_majority
    return pos_results([bi - f.min_direction_gain] * 3, [bi] * 3, majority=0.5)


FINDING_CASES = {
    "adding": _long_range("adding"),
    "copy_memory": _long_range("copy_memory"),
    "tanh_vs_relu": _long_range("tanh_vs_relu"),
    "exploding_clipping": dict(
        passing=lambda cfg: clipping_results(3, 2, [1e2, 1e4, 1e6]),
        failing=lambda cfg: clipping_results(10, 2, [1e2, 1e4, 1e6]),
        at_margin=[
            lambda cfg: clipping_results(10, 3, [10.0, 1000.0], ratio=cfg.finding.global_median_max)
        ],
    ),
    "gradient_flow": dict(
        passing=lambda cfg: flow_results(1e-20, 1e-6, 0.5),
        failing=lambda cfg: flow_results(1e-20, 0.2, 0.5),
        at_margin=[_flow],
    ),
    "tagging": dict(
        passing=lambda cfg: tagging_results(0.23, 1.0),
        failing=lambda cfg: tagging_results(0.25, 0.5),
        at_margin=[
            lambda cfg: tagging_results(
                cfg.finding.uni_max_accuracy,
                cfg.finding.uni_max_accuracy + cfg.finding.min_gain,
            )
        ],
    ),
    "deep_rnn": dict(
        passing=lambda cfg: deep_results(0.18, 0.96, 0.21),
        failing=lambda cfg: deep_results(0.18, 0.25, 0.21),
        at_margin=[lambda cfg: deep_results(0.25, 0.25 + cfg.finding.min_depth_gain, 0.2)],
    ),
    "char_lm": dict(
        passing=lambda cfg: char_results([2.6, 2.4, 2.8]),
        failing=lambda cfg: char_results([2.0, 2.5, 3.6]),
        at_margin=[lambda cfg: char_results([2.0, 2.5, 5.0 - cfg.finding.min_gain_bits])],
    ),
    "timeseries": dict(
        passing=lambda cfg: series_results([0.63, 0.53, 0.63]),
        failing=lambda cfg: series_results([1.05, 0.5, 0.6]),
        at_margin=[lambda cfg: series_results([1.0, cfg.finding.max_mae_vs_naive, 1.0])],
    ),
    "captioning": dict(
        passing=lambda cfg: caption_results([86.0, 93.0, 96.1]),
        failing=lambda cfg: caption_results([60.0, 62.0, 96.0]),
        at_margin=[_caption_at_margin],
    ),
    "translation": dict(
        passing=lambda cfg: translation_results(85.0, 76.0, 99.9),
        failing=lambda cfg: translation_results(85.0, 80.0, 89.0),
        # gain exactly min_gated_gain; error 100 - 80 = 20 -> 10: ratio exactly 0.5
        at_margin=[lambda cfg: translation_results(50.0 + cfg.finding.min_gated_gain, 80.0, 90.0)],
    ),
    "imdb_seqlen": dict(
        adapt=_imdb_seqlen_exact,
        passing=lambda cfg: _imdb_seqlen_post(0.0, 0.15),
        failing=lambda cfg: _imdb_seqlen_post(0.16, 0.15),  # the SimpleRNN keeps up
        at_margin=[
            # identical seeds: each interval is its mean; gains and gap exactly 0
            lambda cfg: _imdb_seqlen_post(0.0, 0.0),
            lambda cfg: _imdb_seqlen_post(0.125, 0.1875, "synthetic", seeds=1),
            _imdb_seqlen_spread_at_margin,
        ],
    ),
    "sentiment": dict(
        adapt=_sentiment_exact,
        passing=lambda cfg: _sentiment_results({("rnn", "uni1"): 0.6, ("lstm", "uni1"): 0.8}),
        failing=lambda cfg: _sentiment_results({("rnn", "uni1"): 0.6, ("lstm", "uni1"): 0.55}),
        at_margin=[
            _sentiment_real_at_margin,
            _sentiment_stand_in_at_margin,
            _sentiment_spread_at_margin,
        ],
    ),
    "ptb_lm": dict(
        passing=lambda cfg: ptb_results([400.0, 420.0, 410.0]),
        failing=lambda cfg: ptb_results([650.0, 720.0, 690.0]),
        at_margin=[_ptb_at_margin],
    ),
    "jsb_chorales": dict(
        passing=lambda cfg: jsb_results([8.5, 8.6, 8.7], [9.0, 9.1, 9.2], [9.1, 9.2, 9.4]),
        failing=lambda cfg: jsb_results([9.0, 9.1, 9.2], [9.6, 9.7, 9.8], [9.1, 9.0, 9.3]),
        at_margin=[_jsb_at_margin],
    ),
    "mnist1d": dict(
        passing=lambda cfg: mnist1d_results([0.87, 0.89, 0.85], [0.53, 0.54, 0.52]),
        failing=lambda cfg: mnist1d_results([0.88, 0.80, 0.90], [0.85, 0.86, 0.84]),
        at_margin=[_mnist1d_at_margin],
    ),
    "pos_tagging": dict(
        passing=lambda cfg: pos_results([0.80, 0.81, 0.79], [0.93, 0.94, 0.93]),
        failing=lambda cfg: pos_results([0.90, 0.93, 0.88], [0.93, 0.90, 0.91]),
        at_margin=[_pos_at_margin],
    ),
}


def _ci_cfg(name):
    cfg = catalog.get(name).resolve("ci")
    return FINDING_CASES[name].get("adapt", lambda c: c)(cfg)


@pytest.mark.parametrize("name", sorted(FINDING_CASES))
def test_the_finding_passes_and_fails(name):
    exp, cfg = catalog.get(name), _ci_cfg(name)
    assert_verdict(exp.finding(cfg, FINDING_CASES[name]["passing"](cfg)), True)
    assert_verdict(exp.finding(cfg, FINDING_CASES[name]["failing"](cfg)), False)


def _thresholds(cfg) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cfg.finding)
        if isinstance(getattr(cfg.finding, f.name), float)
    ]


@pytest.mark.parametrize("name", sorted(FINDING_CASES))
def test_every_threshold_holds_at_its_margin_and_flips_just_beyond(name):
    exp, cfg = catalog.get(name), _ci_cfg(name)
    binding = set()
    for build in FINDING_CASES[name]["at_margin"]:
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


def test_every_catalog_finding_has_a_fast_test():
    # The catalog's own files, not the registry: other tests register toy experiments.
    shipped = {p.stem for p in catalog.experiments_dir().glob("*.py") if not p.stem.startswith("_")}
    assert set(FINDING_CASES) == shipped
    for name, cases in FINDING_CASES.items():
        assert cases["passing"] and cases["failing"] and cases["at_margin"], name
