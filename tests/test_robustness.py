"""`rnnexp robustness`: per-seed verdicts and margins, a summary run, a record, the table.

A toy experiment (not registered, no training) whose one check depends on
the seed keeps this fast: seed % 3 >= 1 fails at every third seed.
"""

import dataclasses
import json

import mlflow
import pytest

from rnnexp import catalog
from rnnexp.sweep import robustness
from rnnexp.sweep import robustness_record as records
from rnnexp.sweep.robustness_merge import run_signature
from rnnexp.sweep.robustness_write import compact_record, rejudge_record
from rnnexp.report import robustness_table
from rnnexp.catalog import Check, Experiment, Finding, TrialResult
from rnnexp.tracking.tracker import Tracker


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    seed: int = 0
    seeds: int = 1


class Toy(Experiment):
    name = "toy_robust"
    description = "a check that fails at every third seed"
    config = ToyConfig()
    profiles = {"ci": {}, "pooled": {"seeds": 4}}

    def trials(self, cfg):
        return [{"seed": cfg.seed + k} for k in range(cfg.seeds)]

    def run_trial(self, cfg, trial, ctx):
        for epoch in range(2):  # as `training.fit` logs each epoch
            ctx.reporter.log_metrics({"val_score": epoch / 3, "epoch_seconds": 0.5}, step=epoch)
        return TrialResult(trial, metrics={"score": float(trial["seed"] % 3), "params": 1234567})

    def finding(self, cfg, results):
        score = min(r.metrics["score"] for r in results)
        checks = [
            Check("score", score, ">=", 1.0),
            Check("ratio", 10**score, ">=", 10, log=True),
        ]
        numbers = {"score": score, "note": "not a number: left out of the record"}
        return Finding.from_checks(f"score {score}", checks, numbers)


@pytest.fixture
def tracker(tmp_path):
    return Tracker("toy_robust", f"sqlite:///{tmp_path}/store/mlflow.db")


def test_each_seed_is_a_tracked_sweep_and_the_summary_has_pass_rate_and_margins(
    tracker, tmp_path, capsys
):
    record_path = tmp_path / "robustness" / "toy_robust-ci.json"
    record = robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11, 12], tracker=tracker, record_path=record_path
    )
    out = capsys.readouterr().out
    assert "seed 10: PASS" in out and "seed 12: FAIL" in out
    assert "score: 0 >= 1, margin -1" in out and "margin -1 decades" in out
    summary = record["summary"]
    assert summary["seeds"] == [10, 11, 12] and summary["passed"] == 2
    assert summary["smallest_margins"]["score"] == {"margin": -1.0, "seed": 12, "log": False}
    assert summary["smallest_margins"]["ratio"]["log"] is True
    assert json.loads(record_path.read_text()) == record
    # What a page quotes besides the checks: the numbers per arm, and what the seed ran on.
    first = record["outcomes"][0]
    assert first["numbers"] == {"score": 1.0}
    assert first["backend"] in ("tensorflow", "jax", "torch")
    assert first["device"].startswith(("CPU: ", "GPU: "))
    assert first["data"] == "generated"
    assert first["cpu_s"] >= 0
    # Each trial's parameters, final metrics and learning curve (6 significant digits).
    assert first["trials"] == [
        {
            "trial": {"seed": 10},
            "status": "FINISHED",
            "metrics": {"score": 1.0, "params": 1234567},  # a count stays an integer
            "epochs": {"val_score": [0.0, 0.333333], "epoch_seconds": [0.5, 0.5]},
            "extras": {},
        }
    ]

    mlflow.set_tracking_uri(tracker.uri)
    found = mlflow.search_runs(experiment_names=["toy_robust"], output_format="list")
    sweeps = [r for r in found if r.data.tags.get("rnnexp.role") == "sweep"]
    assert sorted(int(r.data.params["seed"]) for r in sweeps) == [10, 11, 12]
    (summary_run,) = [r for r in found if r.data.tags.get("rnnexp.role") == "robustness"]
    assert summary_run.data.metrics["pass_rate"] == pytest.approx(2 / 3)
    assert summary_run.data.metrics["min_margin.score"] == -1.0
    history = mlflow.MlflowClient().get_metric_history(summary_run.info.run_id, "margin.score")
    assert {m.step: m.value for m in history} == {10: 0.0, 11: 1.0, 12: -1.0}
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(summary_run.info.run_id)}
    assert "robustness.json" in artifacts
    plots = mlflow.MlflowClient().list_artifacts(summary_run.info.run_id, "summary")
    assert [a.path for a in plots] == ["summary/margins_by_seed.png"]


def test_records_merge_by_seed_and_the_table_is_generated_from_them(tracker, tmp_path):
    folder = tmp_path / "robustness"
    path = folder / "toy_robust-ci.json"
    robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )
    record = robustness.run_robustness(
        Toy(), profile="ci", seeds=[11, 13], tracker=tracker, record_path=path
    )
    assert [o["seed"] for o in record["outcomes"]] == [10, 11, 13]
    assert record["summary"]["passed"] == 3
    table = robustness_table.render(folder)
    layers = record["outcomes"][0]["layers"]
    assert (
        "| `toy_robust` | ci | " + layers + " | 10–11, 13 | 3/3 | score | +0 (seed 10) |" in table
    )
    assert "| ratio | +0 dec (seed 10) |" in table

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{robustness_table.BEGIN}\nold\n{robustness_table.END}\nrest\n")
    robustness_table.write_between_markers(readme, table)
    assert readme.read_text() == (
        f"intro\n{robustness_table.BEGIN}\n{table}\n{robustness_table.END}\nrest\n"
    )


class ToyRestated(Toy):
    """The same toy with its threshold moved: a restated finding."""

    def finding(self, cfg, results):
        score = min(r.metrics["score"] for r in results)
        checks = [Check("score", score, ">=", 0.0), Check("ratio", 10**score, ">=", 10, log=True)]
        return Finding.from_checks(f"score {score}", checks)


def test_a_restated_finding_starts_its_record_afresh(tracker, tmp_path):
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )
    with pytest.raises(records.RecordError, match="--replace drops them"):
        robustness.run_robustness(
            ToyRestated(), profile="ci", seeds=[13], tracker=tracker, record_path=path
        )
    assert [o["seed"] for o in json.loads(path.read_text())["outcomes"]] == [10, 11]
    record = robustness.run_robustness(
        ToyRestated(), profile="ci", seeds=[13], tracker=tracker, record_path=path, replace=True
    )
    assert [o["seed"] for o in record["outcomes"]] == [13]  # 10, 11 were judged by 1.0


def test_a_restated_finding_rejudges_the_recorded_sweeps_from_their_trials(tracker, tmp_path):
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    robustness.run_robustness(
        Toy(), profile="ci", seeds=[11, 12], tracker=tracker, record_path=path
    )
    before = json.loads(path.read_text())
    # Seed 12's score check passes now; its ratio check, shared, still fails.
    assert rejudge_record(path, ToyRestated()) == [(11, True, True), (12, False, False)]
    record = json.loads(path.read_text())
    assert [c["margin"] >= 0 for c in record["outcomes"][1]["checks"]] == [True, False]
    assert record["outcomes"][1]["checks"][0]["threshold"] == 0.0
    assert record["outcomes"][1]["checks"][1] == before["outcomes"][1]["checks"][1]  # shared
    assert record["outcomes"][1]["rejudged"]["at"] and record["summary"]["passed"] == 1
    assert [o["trials"] for o in record["outcomes"]] == [o["trials"] for o in before["outcomes"]]
    # New sweeps judged by the restated finding join the record: nothing is dropped.
    again = robustness.run_robustness(
        ToyRestated(), profile="ci", seeds=[13], tracker=tracker, record_path=path
    )
    assert [o["seed"] for o in again["outcomes"]] == [11, 12, 13]


def test_rejudging_refuses_other_sweeps_and_trials_that_do_not_give_the_recorded_checks(
    tracker, tmp_path
):
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    robustness.run_robustness(Toy(), profile="ci", seeds=[11], tracker=tracker, record_path=path)
    text = path.read_text()
    with pytest.raises(records.RecordError, match="ran another config"):
        rejudge_record(path, ToyReprofiled())
    record = json.loads(text)
    record["outcomes"][0]["trials"][0]["metrics"]["score"] = 5.0  # not what was judged
    path.write_text(json.dumps(record))
    with pytest.raises(records.RecordError, match="comes out 5.0, recorded 2.0"):
        rejudge_record(path, Toy())
    assert json.loads(path.read_text()) == record

    class ReadsTheModel(Toy):  # a finding reading what no record keeps
        def finding(self, cfg, results):
            return Toy.finding(self, cfg, [r.extras["model"] for r in results])

    with pytest.raises(records.RecordError, match="cannot be computed .*KeyError: 'model'"):
        rejudge_record(path, ReadsTheModel())
    del record["outcomes"][0]["trials"][0]["status"]
    path.write_text(json.dumps(record))
    with pytest.raises(records.RecordError, match="seed 11 has a trial without 'status'"):
        rejudge_record(path, Toy())
    assert json.loads(path.read_text()) == record


def test_finding_settings_a_trial_reads_are_part_of_what_the_sweep_ran():
    cfg = catalog.get("translation").resolve("ci")
    moved = dataclasses.replace(cfg, finding=dataclasses.replace(cfg.finding, length_buckets=(1,)))
    reads = catalog.get("translation").trial_reads_finding
    assert run_signature(moved, reads) != run_signature(cfg, reads)
    assert run_signature(moved) == run_signature(cfg)


def test_a_record_with_no_outcome_is_not_rejudged(tmp_path):
    path = tmp_path / "toy_robust-ci.json"
    path.write_text(json.dumps({"experiment": "toy_robust", "profile": "ci", "overrides": {},
                                "outcomes": []}))  # fmt: skip
    with pytest.raises(records.RecordError, match="holds no outcome"):
        rejudge_record(path, Toy())


def test_a_failed_trials_reason_is_recorded_for_a_finding_that_reads_it():
    failed = TrialResult({"seed": 1}, "FAILED", error="NonFiniteLoss: loss became nan at step 3")
    assert records.trial_record(failed)["error"] == "NonFiniteLoss: loss became nan at step 3"
    assert "error" not in records.trial_record(TrialResult({"seed": 1}))


@dataclasses.dataclass(frozen=True)
class WiderToyConfig(ToyConfig):
    width: int = 1


class ToyReprofiled(Toy):
    """The same toy and finding whose `ci` profile now runs another config."""

    config = WiderToyConfig()
    profiles = {"ci": {"width": 2}, "pooled": {"seeds": 4}}


def test_a_profile_that_runs_another_config_starts_its_record_afresh(tracker, tmp_path):
    """Same checks, same seeds per sweep, but not the same experiment any more."""
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )
    again = robustness.run_robustness(
        Toy(), profile="ci", seeds=[13], tracker=tracker, record_path=path
    )
    assert [o["seed"] for o in again["outcomes"]] == [10, 11, 13]
    record = robustness.run_robustness(
        ToyReprofiled(), profile="ci", seeds=[14], tracker=tracker, record_path=path, replace=True
    )
    assert [o["seed"] for o in record["outcomes"]] == [14]
    assert record["config"] != again["config"]
    # A record from before the digest was recorded is taken to match.
    old = json.loads(path.read_text())
    del old["config"]
    path.write_text(json.dumps(old))
    record = robustness.run_robustness(
        ToyReprofiled(), profile="ci", seeds=[15], tracker=tracker, record_path=path
    )
    assert [o["seed"] for o in record["outcomes"]] == [14, 15]


def test_outcomes_name_their_layers_and_other_layers_start_the_record_afresh(tracker, tmp_path):
    """Another backend or time loop is another floating-point order: its outcomes go."""
    from rnnexp.layers.recurrent import REVISION, layers_label

    path = tmp_path / "robustness" / "toy_robust-ci.json"
    record = robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )
    here = layers_label()
    assert here.endswith(f" (r{REVISION})")
    assert [o["layers"] for o in record["outcomes"]] == [here, here]
    old = json.loads(path.read_text())
    old["outcomes"][0]["layers"] = here.replace(f"(r{REVISION})", f"(r{REVISION - 1})")
    path.write_text(json.dumps(old))
    record = robustness.run_robustness(
        Toy(), profile="ci", seeds=[13], tracker=tracker, record_path=path, replace=True
    )
    assert [o["seed"] for o in record["outcomes"]] == [11, 13]


def test_a_profile_that_now_pools_seeds_starts_its_record_afresh(tracker, tmp_path):
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    robustness.run_robustness(
        Toy(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )

    class ToyPooled(Toy):  # the same profile name, now 4 seeds a sweep
        profiles = {"ci": {"seeds": 4}}

    record = robustness.run_robustness(
        ToyPooled(), profile="ci", seeds=[20], tracker=tracker, record_path=path, replace=True
    )
    assert [o["seed"] for o in record["outcomes"]] == [20]


def test_a_pooled_sweep_steps_by_its_seed_count():
    toy = Toy()
    assert records.sweep_seed_span(toy, toy.resolve("ci")) == 1
    assert records.sweep_seed_span(toy, toy.resolve("pooled", {"seed": 5})) == 4


def test_seed_ranges():
    assert robustness_table.seed_ranges([12, 10, 11, 20, 22, 21, 30]) == "10–12, 20–22, 30"


def test_the_robustness_page_table_is_the_generated_one():
    """docs/robustness.md quotes the records; regenerate with `rnnexp docs --write`."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "robustness.md").read_text()
    table = robustness_table.render(root / "robustness")
    assert f"{robustness_table.BEGIN}\n{table}\n{robustness_table.END}" in page


def test_pooled_sweeps_list_every_seed_they_trained(tracker, tmp_path):
    path = tmp_path / "robustness" / "toy_robust-pooled.json"
    robustness.run_robustness(
        Toy(), profile="pooled", seeds=[20, 24], tracker=tracker, record_path=path
    )
    assert json.loads(path.read_text())["seeds_per_sweep"] == 4
    layers = json.loads(path.read_text())["outcomes"][0]["layers"]
    row = f"| pooled | {layers} | 20–27 (2 sweeps of 4) | 0/2 |"
    assert row in robustness_table.render(path.parent)


def test_the_summary_counts_sweeps_even_after_a_check_in_decades(capsys):
    summary = {
        "passed": 5,
        "seeds": [0, 3, 6, 9, 12],
        "smallest_margins": {"loss/baseline": {"margin": 0.41, "log": True, "seed": 3}},
    }
    robustness._print_summary(summary, "robustness/x-ci.json", {"summary": summary}, 3)
    out = capsys.readouterr().out
    assert "smallest margin of loss/baseline: +0.41 decades (seed 3)" in out
    assert "x-ci.json: 5/5 sweeps of 3 seeds passed over every run recorded there" in out


class ToySeries(Toy):
    """A toy whose trials log a long per-step series, of which its figure reads the peak."""

    def run_trial(self, cfg, trial, ctx):
        series = [float(trial["seed"] + step) for step in range(100)]
        return TrialResult(trial, metrics={"score": 1.0}, extras={"norms": series, "n": 100})

    def record_extras(self, extras):
        return {"peak": extras["peak"] if "peak" in extras else max(extras["norms"])}


def test_a_record_keeps_what_the_experiment_names_and_compacting_drops_the_rest(tracker, tmp_path):
    path = tmp_path / "robustness" / "toy_robust-ci.json"
    # Recorded before the experiment named what to keep: every extra is there.
    old = robustness.run_robustness(
        _KeepAll(), profile="ci", seeds=[10, 11], tracker=tracker, record_path=path
    )
    assert old["outcomes"][0]["trials"][0]["extras"] == {
        "norms": [float(10 + s) for s in range(100)],
        "n": 100,
    }
    new = robustness.run_robustness(
        ToySeries(), profile="ci", seeds=[12], tracker=tracker, record_path=path
    )
    assert new["outcomes"][-1]["trials"][0]["extras"] == {"peak": 111.0}

    before, after, dropped = compact_record(path, ToySeries())
    assert dropped == ["n", "norms"] and after < before
    record = json.loads(path.read_text())
    assert [o["trials"][0]["extras"] for o in record["outcomes"]] == [
        {"peak": 109.0},
        {"peak": 110.0},
        {"peak": 111.0},
    ]

    # The outcomes and their checks are left as they were.
    def without_trials(r):
        return [{k: v for k, v in o.items() if k != "trials"} for o in r["outcomes"]]

    assert without_trials(record) == without_trials(new)
    # A record with nothing to drop is not rewritten.
    stamp = path.stat().st_mtime_ns
    assert compact_record(path, ToySeries())[2] == []
    assert path.stat().st_mtime_ns == stamp


class _KeepAll(ToySeries):
    def record_extras(self, extras):
        return extras
