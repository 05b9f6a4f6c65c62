import dataclasses
import sys

import pytest

from rnnexp import catalog, cli
from rnnexp.catalog import Experiment, register
from rnnexp.config import ConfigError, flatten

EXPERIMENTS = catalog.load_catalog()
CASES = [
    (name, profile) for name, exp in sorted(EXPERIMENTS.items()) for profile in exp.profile_names()
]


def test_catalog_is_not_empty_and_every_experiment_has_ci():
    assert "imdb_seqlen" in EXPERIMENTS
    for exp in EXPERIMENTS.values():
        assert "ci" in exp.profile_names() and exp.description
        doc = sys.modules[type(exp).__module__].__doc__
        assert f"python -m rnnexp run {exp.name}" in doc, "the docstring gives the command"
        assert "--profile ci" in doc and "Expected result" in doc


def test_duplicate_name_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        seed: int = 0

    class Dup(Experiment):
        name = "imdb_seqlen"
        config = Cfg()
        profiles = {"ci": {}}

    with pytest.raises(ValueError, match="already registered"):
        register(Dup)


def test_unknown_experiment_lists_known():
    with pytest.raises(
        catalog.UnknownExperiment, match=r"unknown experiment 'imdb'.*known: .*imdb_seqlen"
    ):
        catalog.get("imdb")


@pytest.mark.parametrize("name,profile", CASES)
def test_every_profile_resolves_and_dry_runs(name, profile, capsys):
    exp = EXPERIMENTS[name]
    cfg = exp.resolve(profile)
    assert exp.trials(cfg), "a sweep plans at least one trial"
    assert cli.main(["run", name, "--profile", profile, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "planned trials" in out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_breaking_a_field_fails_validation(name):
    exp = EXPERIMENTS[name]
    key = next(
        k for k, v in flatten(exp.config).items() if isinstance(v, int) and not isinstance(v, bool)
    )
    with pytest.raises(ConfigError):
        exp.resolve("ci", {key: "not-a-number"})


def test_cli_errors_are_one_line_with_exit_2(capsys):
    assert cli.main(["show", "imdb_seqlen", "--set", "model.unit=3"]) == 2
    assert cli.main(["run", "nope", "--dry-run"]) == 2
    assert cli.main(["show", "imdb_seqlen", "--profile", "fast"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: unknown config key 'model.unit'; did you mean 'model.units'?",
        "error: unknown experiment 'nope'; known: " + ", ".join(sorted(EXPERIMENTS)),
        "error: unknown profile 'fast' for imdb_seqlen; choose one of default, ci, full",
    ]


def test_show_prints_resolved_config(capsys):
    assert (
        cli.main(
            ["show", "imdb_seqlen", "--profile", "ci", "--set", "model.units=7", "--seed", "5"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "  model.units = 7\n" in out and "  seed = 5\n" in out


def test_finding_from_checks_lists_failures():
    ok = catalog.Finding.from_checks("at L=5: a=1", {"a >= 0": True, "b <= 1": True}, {"a": 1})
    assert ok.passed and ok.message == "at L=5: a=1; a >= 0; b <= 1" and ok.numbers == {"a": 1}
    bad = catalog.Finding.from_checks("ctx", {"a >= 0": True, "b <= 1": False})
    assert not bad.passed and bad.message == "ctx; NOT MET: b <= 1"


def test_check_margins_are_signed_distance_to_the_threshold():
    at_least = catalog.Check("gain", 0.30, ">=", 0.25)
    at_most = catalog.Check("rnn gain", 0.02, "<=", 0.05)
    assert at_least.passed and abs(at_least.margin - 0.05) < 1e-12
    assert at_most.passed and abs(at_most.margin - 0.03) < 1e-12
    assert catalog.Check("edge", 0.25, ">=", 0.25).passed  # at the margin holds
    assert not catalog.Check("below", 0.2, ">=", 0.25).passed
    assert catalog.Check("below", 0.2, ">=", 0.25).margin < 0
    assert not catalog.Check("nan", float("nan"), ">=", 0.0).passed
    orders = catalog.Check("ratio", 1e-8, "<=", 1e-3, log=True)
    assert orders.passed and abs(orders.margin - 5.0) < 1e-9
    assert catalog.Check("zero", 0.0, "<=", 1e-3, log=True).passed
    with pytest.raises(ValueError):
        catalog.Check("x", 1.0, ">", 0.0)


def test_finding_from_structured_checks_keeps_margins():
    checks = [catalog.Check("a", 1.0, ">=", 0.5), catalog.Check("b", 0.4, "<=", 0.3)]
    finding = catalog.Finding.from_checks("ctx", checks)
    assert not finding.passed
    assert finding.message == "ctx; NOT MET: b 0.4 <= 0.3"
    assert finding.margins["a"] == 0.5 and finding.margins["b"] < 0
    assert catalog.Finding.from_checks("ctx", checks[:1]).passed


def test_group_metric_skips_failed_trials():
    results = [
        catalog.TrialResult({"cell": "rnn", "seed": 0}, metrics={"acc": 0.5}),
        catalog.TrialResult({"cell": "rnn", "seed": 1}, metrics={"acc": 0.7}),
        catalog.TrialResult({"cell": "gru", "seed": 0}, status="FAILED", error="nan"),
    ]
    assert catalog.group_metric(results, "acc", ("cell",)) == {("rnn",): [0.5, 0.7]}
