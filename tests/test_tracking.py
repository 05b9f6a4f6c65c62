"""Tracking into temporary stores: the run tree, what it holds, concurrency."""

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from rnnexp import runner
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.tracking import Tracker


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    seed: int = 0
    values: tuple[int, ...] = (1, 2, 3)
    fail_on: int = -1


class Toy(Experiment):
    """A sweep that trains nothing: each trial reports its value."""

    name = "toy"
    description = "test double"
    config = ToyConfig()
    profiles = {"ci": {}}

    def trials(self, cfg):
        return [{"value": v} for v in cfg.values]

    def run_trial(self, cfg, trial, ctx):
        if trial["value"] == cfg.fail_on:
            raise FloatingPointError("loss became nan at epoch 1")
        for epoch in range(3):
            ctx.reporter.log_metrics({"loss": 1.0 / (epoch + trial["value"])}, step=epoch)
        return TrialResult(trial, metrics={"score": float(trial["value"])})

    def summarize(self, cfg, results, out_dir):
        path = out_dir / "plot.png"
        path.write_bytes(b"\x89PNG fake")
        return [path]

    def finding(self, cfg, results):
        ok = [r for r in results if r.status == "FINISHED"]
        return Finding(
            len(ok) == len(results), f"{len(ok)} of {len(results)} finished", {"finished": len(ok)}
        )


def _uri(tmp_path):
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


def test_parent_child_tree_with_params_metrics_artifacts(tmp_path):
    exp = Toy()
    tracker = Tracker("toy", _uri(tmp_path))
    outcome = runner.run_experiment(exp, exp.config, profile="ci", tracker=tracker)
    assert outcome.finding.passed
    client = MlflowClient(_uri(tmp_path))
    runs = mlflow.search_runs(experiment_names=["toy"], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == outcome.parent_run_id]
    assert [p.info.run_id for p in parents] == [outcome.parent_run_id]
    assert len(children) == 3 and all(c.info.status == "FINISHED" for c in children)
    child = min(children, key=lambda c: c.data.params["trial.value"])
    assert child.data.params["trial.value"] == "1" and child.data.params["values"] == "[1, 2, 3]"
    assert child.data.metrics["final.score"] == 1.0
    history = client.get_metric_history(child.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    for tag in (
        "rnnexp.version",
        "keras.version",
        "keras.backend",
        "data.source",
        "rnnexp.profile",
    ):
        assert tag in child.data.tags
    assert {a.path for a in client.list_artifacts(child.info.run_id)} == {"config.json"}
    parent = parents[0]
    assert parent.data.tags["finding"] == "PASS"
    summary = {a.path for a in client.list_artifacts(parent.info.run_id, "summary")}
    assert summary == {
        "summary/results.csv",
        "summary/results.md",
        "summary/plot.png",
        "summary/finding.txt",
    }
    # Artifacts live beside the store, under mlruns/.
    assert (tmp_path / "mlruns" / "artifacts" / "toy").is_dir()


def test_failed_trial_is_marked_and_the_sweep_goes_on(tmp_path):
    exp = Toy()
    cfg = dataclasses.replace(exp.config, fail_on=2)
    outcome = runner.run_experiment(exp, cfg, profile="ci", tracker=Tracker("toy", _uri(tmp_path)))
    assert [r.status for r in outcome.results] == ["FINISHED", "FAILED", "FINISHED"]
    assert not outcome.finding.passed
    runs = mlflow.search_runs(experiment_names=["toy"], output_format="list")
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert len(failed) == 1
    assert failed[0].data.tags["failure_reason"] == "FloatingPointError: loss became nan at epoch 1"
    parent = next(r for r in runs if r.info.run_id == outcome.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["trials.failed"] == "1"


def test_exception_in_a_run_marks_it_failed_with_reason(tmp_path):
    tracker = Tracker("toy", _uri(tmp_path))
    with pytest.raises(RuntimeError), tracker.run("boom") as run:
        run.log_metrics({"kept": 1.0})
        raise RuntimeError("disk full")
    got = MlflowClient(_uri(tmp_path)).get_run(run.run_id)
    assert got.info.status == "FAILED"
    assert got.data.tags["failure_reason"] == "RuntimeError: disk full"
    assert got.data.metrics["kept"] == 1.0, "what was logged before the failure is kept"


def test_log_model_with_mlflow_keras(tmp_path):
    import keras

    tracker = Tracker("toy", _uri(tmp_path))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with tracker.run("with-model") as run:
        info = run.log_model(model)
    assert info.run_id == run.run_id
    assert mlflow.active_run() is None
    loaded = mlflow.keras.load_model(info.model_uri)
    assert loaded.count_params() == model.count_params()


def test_two_concurrent_runs_into_one_fresh_store(tmp_path):
    """A cold sqlite store initialised by two processes at once loses nothing."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_tracking import Toy
        from rnnexp import runner
        from rnnexp.tracking import Tracker
        exp = Toy()
        runner.run_experiment(exp, exp.config, profile="ci", tracker=Tracker("toy", sys.argv[1]))
    """)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, _uri(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    mlflow.set_tracking_uri(_uri(tmp_path))
    runs = mlflow.search_runs(experiment_names=["toy"], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2 and len(runs) == 8
    assert all(r.info.status == "FINISHED" for r in runs)
