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

from rnnexp.sweep import runner
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.tracking.tracker import Tracker


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
    # extras.json keeps the per-epoch curves the study figure and --resume read back
    assert {a.path for a in client.list_artifacts(child.info.run_id)} == {
        "config.json",
        "extras.json",
    }
    curves = tracker.load_dict(child.info.run_id, "extras.json")["epochs"]
    assert [len(values) for values in curves.values()] == [3] * len(curves) and "loss" in curves
    parent = parents[0]
    assert parent.data.tags["finding"] == "PASS"
    summary = {a.path for a in client.list_artifacts(parent.info.run_id, "summary")}
    assert summary == {
        "summary/results.csv",
        "summary/results.md",
        "summary/results.json",
        "summary/plot.png",
        "summary/finding.txt",
        "summary/00_answer_card.png",
    }
    # The Description shows the narrow copy, which fits its column, and links to the full figure.
    card_png = client.download_artifacts(
        parent.info.run_id, "summary/00_answer_card.png", str(tmp_path)
    )
    full_png = client.download_artifacts(parent.info.run_id, "00_answer.png", str(tmp_path))
    assert _png_width(card_png) <= 760 and _png_width(card_png) <= _png_width(full_png)
    note = parent.data.tags["mlflow.note.content"]
    assert "[![the study figure](get-artifact?path=summary/00_answer_card.png" in note
    # Artifacts live beside the store, under mlruns/.
    assert (tmp_path / "mlruns" / "artifacts" / "toy").is_dir()


def _png_width(path) -> int:
    with open(path, "rb") as f:
        return int.from_bytes(f.read(24)[16:20], "big")  # the IHDR chunk's width


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
        from rnnexp.sweep import runner
        from rnnexp.tracking.tracker import Tracker
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


# -- runs that read well in the MLflow UI ------------------------------------------
def test_experiments_open_in_the_model_training_view(tmp_path):
    uri = _uri(tmp_path)
    exp = Toy()
    runner.run_experiment(exp, exp.config, profile="ci", tracker=Tracker("toy", uri))
    client = MlflowClient(uri)
    assert client.get_experiment_by_name("toy").tags["mlflow.experimentKind"] == (
        "custom_model_development"
    )
    # an experiment made before the tag existed gets it on its next run
    old = client.create_experiment("toy_old")
    Tracker("toy_old", uri).ensure()
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_each_trial_logs_its_dataset_backend_and_device(tmp_path):
    import keras

    exp = Toy()
    outcome = runner.run_experiment(
        exp, exp.config, profile="ci", tracker=Tracker("toy", _uri(tmp_path))
    )
    client = MlflowClient(_uri(tmp_path))
    child = client.get_run(outcome.results[0].run_id)
    (dataset_input,) = child.inputs.dataset_inputs
    tags = {t.key: t.value for t in dataset_input.tags}
    assert dataset_input.dataset.name == "toy-generated" and len(dataset_input.dataset.digest) == 8
    assert tags["mlflow.data.context"] == "training" and tags["rnnexp.data.real"] == "false"
    parent = client.get_run(outcome.parent_run_id)  # its row in the runs table names the data
    assert [d.dataset.name for d in parent.inputs.dataset_inputs] == ["toy-generated"]
    assert child.data.tags["keras.backend"] == keras.backend.backend()
    assert child.data.tags["device"].startswith(("CPU: ", "GPU: "))


def test_real_data_cards_say_so(tmp_path):
    from rnnexp.data import imdb

    reviews = imdb.load(imdb.ImdbDataConfig(source="synthetic"), probe=lambda: False)
    card = imdb.data_card(reviews, {"train": 10, "test": 5})
    assert card.name == "imdb-standin" and not card.real and card.splits == {"train": 10, "test": 5}
    assert imdb.data_card(reviews, {}).digest == card.digest  # the content's hash, not the splits'
    reviews.source = "path"
    assert imdb.data_card(reviews, {}).real


class SlowToy(Toy):
    def run_trial(self, cfg, trial, ctx):
        import time

        time.sleep(0.6)
        return super().run_trial(cfg, trial, ctx)


@pytest.mark.parametrize("psutil_installed", [True, False])
def test_system_metrics_when_psutil_is_installed_and_no_error_when_not(
    tmp_path, monkeypatch, psutil_installed
):
    from rnnexp.tracking import tracker

    monkeypatch.setattr(tracker, "SYSTEM_METRICS_S", 0.1)
    if not psutil_installed:
        monkeypatch.setitem(sys.modules, "psutil", None)  # `import psutil` now fails
    exp = SlowToy()
    cfg = dataclasses.replace(exp.config, values=(1,))
    outcome = runner.run_experiment(exp, cfg, profile="ci", tracker=Tracker("toy", _uri(tmp_path)))
    assert [r.status for r in outcome.results] == ["FINISHED"]
    metrics = MlflowClient(_uri(tmp_path)).get_run(outcome.results[0].run_id).data.metrics
    system = {k for k in metrics if k.startswith("system/")}
    if psutil_installed:
        assert {
            "system/cpu_utilization_percentage",
            "system/system_memory_usage_megabytes",
        } <= system
    else:
        assert not system


# -- one trial, recorded once ------------------------------------------------------
def test_a_trial_already_recorded_finished_is_not_run_again(tmp_path):
    from rnnexp.sweep import trial as trials
    from rnnexp.sweep.trial_tags import trial_hash

    exp = Toy()
    tracker = Tracker("toy", _uri(tmp_path))
    with tracker.run("sweep", tags={"rnnexp.role": "sweep"}) as parent:
        args = (exp, exp.config, {"value": 2}, 1, tracker, parent.run_id, {}, None)
        first = trials.run_trial(*args)
        second = trials.run_trial(*args)  # a retried task, a worker outliving its sweep
    children = tracker.trial_runs(parent.run_id)
    assert len(children) == 1 and second.run_id == first.run_id == children[0].run_id
    assert second.metrics == first.metrics == {"score": 2.0}
    assert children[0].tags["rnnexp.trial_hash"] == trial_hash({"value": 2})
    assert trial_hash({"value": 2}) != trial_hash({"value": 3})


# -- what the MLflow UI shows first: names, the card, the headline, deep links ----
@dataclasses.dataclass(frozen=True)
class StandInSettings:
    reviews: int = 3


@dataclasses.dataclass(frozen=True)
class RealDataConfig:
    path: str = "reviews.tar.gz"
    synthetic: StandInSettings = StandInSettings()


@dataclasses.dataclass(frozen=True)
class RealToyConfig(ToyConfig):
    data: RealDataConfig = RealDataConfig()


class RealToy(Toy):
    """A toy on "real" data that logs bookkeeping as experiments do."""

    description = "the rnn score grows with the value"
    metric = "score"
    config = RealToyConfig()

    def trials(self, cfg):
        return [{"value": v, "seed": 0} for v in cfg.values]

    def run_trial(self, cfg, trial, ctx):
        ctx.reporter.log_metrics({"params": 10, "pool.fit": 5, "data.load_seconds": 0.1})
        ctx.reporter.log_metrics({"epoch_seconds": 0.5}, step=0)
        return super().run_trial(cfg, trial, ctx)

    def data_source(self, cfg, data=None):
        return "path"

    def dataset(self, cfg, trial, data=None):
        from rnnexp.data.card import DataCard

        return DataCard("imdb", "reviews.tar.gz", True, {"train": 5})

    def finding(self, cfg, results):
        from rnnexp.catalog import Check

        top = max(r.metrics["score"] for r in results)
        return Finding.from_checks(f"top {top}", [Check("rnn top score", top, ">=", 1.0)])


def test_a_sweep_reads_well_in_the_mlflow_ui(tmp_path, capsys):
    from rnnexp.tracking.tracker import NOTE

    uri = _uri(tmp_path)
    exp = RealToy()
    outcome = runner.run_experiment(exp, exp.config, profile="ci", tracker=Tracker("toy", uri))
    client = MlflowClient(uri)
    parent = client.get_run(outcome.parent_run_id)
    children = [client.get_run(r.run_id) for r in outcome.results]
    assert parent.info.run_name == "toy · ci · real IMDB"
    assert [c.info.run_name for c in children] == ["value=1·s0", "value=2·s0", "value=3·s0"]
    for run in (parent, *children):  # the stand-in's settings do not apply to real data
        assert "data.path" in run.data.params
        assert not [k for k in run.data.params if k.startswith("data.synthetic.")]
    child = children[0]
    assert child.data.metrics["score"] == 1.0 == child.data.metrics["final.score"]
    assert {"params", "pool.fit", "data.load_seconds", "epoch_seconds"}.isdisjoint(
        child.data.metrics
    )
    assert child.data.tags["params"] == "10" and child.data.tags["pool.fit"] == "5"
    assert "zz_time/epoch_seconds" in child.data.metrics  # charted after the results

    note = parent.data.tags[NOTE]
    assert note.startswith("### Holds: the SimpleRNN score grows with the value.")
    assert "- `PASS SimpleRNN top score = 3 >= 1 (margin 2)`" in note
    figure = f"get-artifact?path=summary/00_answer_card.png&run_uuid={parent.info.run_id}"
    assert f"[![the study figure]({figure})](/#/experiments/" in note  # opens the full figure
    assert "| value | seeds | score |" in note and "| 3 | 1 | 3.000 (1 seed) |" in note
    assert "/#/compare-runs?runs=" in note
    about = client.get_experiment(parent.info.experiment_id).tags[NOTE]
    assert "**Claim:** the SimpleRNN score grows with the value." in about
    eid = parent.info.experiment_id
    assert f"Newest sweep: [toy · ci · real IMDB](/#/experiments/{eid}" in about
    tables = {a.path for a in client.list_artifacts(parent.info.run_id, "summary")}
    assert "summary/results.json" in tables  # mlflow.log_table: the UI shows it as a table

    out = capsys.readouterr().out
    assert "rnnexp: toy (profile ci, seed 0, real IMDB), 3 trial(s)" in out  # data said plainly
    assert "Holds: the SimpleRNN score grows with the value.\n  PASS SimpleRNN top score" in out
    assert "finding: PASS" in out
    study = (
        f"  the study   http://127.0.0.1:5000/#/experiments/{eid}/runs/{parent.info.run_id}"
        "?workflowType=machine_learning"
    )
    assert study in out.splitlines()
    assert "  its trials  http://127.0.0.1:5000/#/compare-runs?runs=%5B%22" in out


def test_ui_and_compare_print_deep_links_to_the_newest_sweep(tmp_path, capsys):
    from rnnexp.tracking.compare import compare
    from rnnexp.tracking.ui import ui_links

    uri = _uri(tmp_path)
    exp = RealToy()
    outcome = runner.run_experiment(exp, exp.config, profile="ci", tracker=Tracker("toy", uri))
    capsys.readouterr()
    compare(Tracker("toy", uri), metric="score")
    said = capsys.readouterr().out.splitlines()
    assert said[-3].startswith("browse: `python -m rnnexp ui --tracking-uri sqlite:///")
    assert outcome.parent_run_id in said[-2] and said[-2].endswith("workflowType=machine_learning")
    assert said[-1].startswith("  its trials  http://127.0.0.1:5000/#/compare-runs?runs=")
    lines = ui_links(uri, "http://127.0.0.1:5001")
    assert (
        lines[0] == "MLflow UI: http://127.0.0.1:5001/#/experiments?workflowType=machine_learning"
    )
    assert lines[1] == "toy: newest sweep toy · ci · real IMDB (PASS)"
    assert outcome.parent_run_id in lines[2] and lines[2].startswith("  the study   http://")
    assert lines[3].startswith("  its trials  http://127.0.0.1:5001/#/compare-runs?runs=")


def test_the_ui_is_announced_only_once_it_answers():
    import http.server
    import threading

    from rnnexp.tracking.ui import _answers

    class Alive:
        def poll(self):
            return None

    class Gone:
        def poll(self):
            return 1

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _answers(Alive(), address, every=0.05)  # any answer, even an error page
    finally:
        server.server_close()
    assert not _answers(Gone(), address)  # the server exited: nothing to announce


def _schema(db) -> set:
    """A sqlite file's tables and indexes; a CREATE statement's clauses in any order."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        version = con.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        con.close()
    return {
        (t, n, tuple(sorted((s or "").replace(",", "\n").split("\n")))) for t, n, s in rows
    }, version


def test_a_new_store_is_a_copy_of_the_one_mlflow_builds_with_its_own_default_experiment(
    tmp_path, monkeypatch
):
    from rnnexp.tracking import store_template

    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    built = tmp_path / "mlflow-built.db"
    MlflowClient(tracking_uri=f"sqlite:///{built}").search_experiments()
    assert (
        store_template.start_from_template(f"sqlite:///{tmp_path}/a/mlflow.db") is False
    )  # no folder
    (tmp_path / "a").mkdir()
    assert store_template.start_from_template(f"sqlite:///{tmp_path}/a/mlflow.db") is True
    assert (
        store_template.start_from_template(f"sqlite:///{tmp_path}/a/mlflow.db") is False
    )  # it exists
    assert _schema(tmp_path / "a" / "mlflow.db") == _schema(built)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/a/mlflow.db")
    (default,) = client.search_experiments()
    assert (default.experiment_id, default.name) == ("0", "Default")
    made = MlflowClient(tracking_uri=f"sqlite:///{built}").get_experiment("0")
    assert default.artifact_location == made.artifact_location  # MLflow's own choice, here
    # A tracker's new store starts from it and holds what the tracker writes.
    tracker = Tracker("toy", f"sqlite:///{tmp_path}/b/mlflow.db")
    tracker.ensure()
    with tracker.run("r"):
        pass
    names = [e.name for e in tracker.client.search_experiments()]
    assert sorted(names) == ["Default", "toy"]
    assert [p.name for p in (tmp_path / "cache" / "mlflow-stores").iterdir()] == [
        f"mlflow-{mlflow.__version__}.db"
    ]


def test_a_store_template_that_cannot_be_made_leaves_the_store_to_mlflow(tmp_path, monkeypatch):
    from rnnexp.tracking import store_template

    (tmp_path / "cache").write_text("a file where the cache folder would be")
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path / "cache"))
    assert store_template.start_from_template(f"sqlite:///{tmp_path}/mlflow.db") is False
    tracker = Tracker("toy", f"sqlite:///{tmp_path}/mlflow.db")
    tracker.ensure()
    assert tracker.experiment_id is not None
