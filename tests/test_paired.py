"""Per-seed grouping of trial results (`rnnexp.report.paired`)."""

from rnnexp.catalog import TrialResult
from rnnexp.report.paired import arm_by_seed, by_arm, by_seed, gains_by_seed


def _results():
    def trial(seed, cell, depth, acc, status="FINISHED"):
        t = {"seed": seed, "cell": cell, "depth": depth}
        return TrialResult(t, metrics={"acc": acc}, status=status)

    return [
        trial(0, "rnn", 1, 0.5),
        trial(0, "rnn", 2, 0.7),
        trial(1, "rnn", 1, 0.6),
        trial(1, "rnn", 2, 0.9, status="FAILED"),  # a failed trial is no arm's value
        trial(0, "lstm", 1, 0.8),
        trial(1, "lstm", 1, 0.85),
    ]


def test_arms_are_named_by_one_field_or_several():
    results = _results()
    assert by_arm(results, "acc", "cell") == {"rnn": {0: 0.7, 1: 0.6}, "lstm": {0: 0.8, 1: 0.85}}
    assert by_arm(results, "acc", ("cell", "depth"))[("rnn", 2)] == {0: 0.7}
    assert by_seed(results, "acc", ("cell", "depth"), cell="rnn") == {
        0: {("rnn", 1): 0.5, ("rnn", 2): 0.7},
        1: {("rnn", 1): 0.6},
    }
    assert arm_by_seed(results, "acc", cell="lstm", depth=1) == {0: 0.8, 1: 0.85}


def test_a_gain_is_taken_only_at_the_seeds_with_both_arms():
    gains = gains_by_seed(_results(), "acc", "depth", 1, 2, cell="rnn")
    assert list(gains) == [0]
    assert abs(gains[0] - 0.2) < 1e-12
