"""MLflow tracking: the one module that imports mlflow.

A `run` is a parent run; each trial is a nested child run. Everything else in
rnnexp reports through the small `Reporter` interface below (`log_metrics`,
`log_params`, `set_tags`, `log_artifact`, `log_figure`, `log_text`,
`log_model`), so training code never sees MLflow.

The default store is `sqlite:///mlruns/mlflow.db` (MLflow >= 3.13 refuses a
plain-folder store) with artifacts in `mlruns/artifacts/`. A cold sqlite store
fails when two processes initialise it at once, so `Tracker` creates the store
and the MLflow experiment once, under a file lock, before any run starts.
"""

import contextlib
import fcntl
import functools
import json
import logging
import math
import os
import platform
import subprocess
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

import rnnexp

__all__ = [
    "DEFAULT_TRACKING_URI",
    "NullReporter",
    "Reporter",
    "Tracker",
    "resolve_tracking_uri",
    "ui_command",
]

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
MAX_PARAM_LENGTH = 6000

# MLflow's alembic migrations log at INFO on every fresh store.
logging.getLogger("alembic").setLevel(logging.WARNING)


def resolve_tracking_uri(uri: str | None = None) -> str:
    """`--tracking-uri`, else `$MLFLOW_TRACKING_URI`, else the project store."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def ui_command(uri: str) -> str:
    return f"mlflow ui --backend-store-uri {uri}"


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(rnnexp.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def environment_tags() -> dict[str, str]:
    """Versions and device, tagged on every run."""
    import keras

    tags = {
        "rnnexp.version": rnnexp.__version__,
        "keras.version": keras.__version__,
        "keras.backend": keras.backend.backend(),
        "python.version": platform.python_version(),
        "host.platform": platform.platform(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tags["tensorflow.version"] = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        tags["device"] = f"{len(gpus)} GPU" if gpus else f"CPU ({os.cpu_count()} cores)"
    commit = _git_commit()
    if commit:
        tags["git.commit"] = commit
    return tags


class Reporter:
    """What a run (parent or child) can record. Backed by one MLflow run."""

    def __init__(self, client: MlflowClient, run_id: str):
        self.client, self.run_id = client, run_id

    def log_params(self, params: dict):
        clean = {k: _param_value(v) for k, v in params.items()}
        items = list(clean.items())
        for start in range(0, len(items), 100):  # MLflow's batch limit
            batch = [mlflow.entities.Param(k, v) for k, v in items[start : start + 100]]
            self.client.log_batch(self.run_id, params=batch)

    def log_metrics(self, metrics: dict, step: int | None = None):
        values = [
            mlflow.entities.Metric(k, float(v), _now_ms(), step or 0)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))
        ]
        if values:
            self.client.log_batch(self.run_id, metrics=values)

    def log_series(self, series: dict[str, list], start_step: int = 0):
        """Many steps of several metrics in few writes: `{name: [v0, v1, ...]}`."""
        now = _now_ms()
        values = [
            mlflow.entities.Metric(name, float(v), now, start_step + i)
            for name, vs in series.items()
            for i, v in enumerate(vs)
            if math.isfinite(float(v))
        ]
        for start in range(0, len(values), 1000):  # MLflow's batch limit
            self.client.log_batch(self.run_id, metrics=values[start : start + 1000])

    def set_tags(self, tags: dict):
        batch = [mlflow.entities.RunTag(k, str(v)) for k, v in tags.items()]
        if batch:
            self.client.log_batch(self.run_id, tags=batch)

    def log_artifact(self, path, artifact_path: str | None = None):
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, name: str):
        self.client.log_text(self.run_id, text, name)

    def log_dict(self, data: dict, name: str):
        self.client.log_text(self.run_id, json.dumps(data, indent=2, default=str), name)

    def log_figure(self, figure, name: str):
        self.client.log_figure(self.run_id, figure, name)

    def log_model(self, model, name: str = "model"):
        """Log a Keras model with `mlflow.keras` (never tensorflow autolog)."""
        with _active(self.run_id):
            return mlflow.keras.log_model(model, name=name)


class NullReporter:
    """A reporter that records nothing (dry runs, tests of training code)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _param_value(value) -> str:
    text = json.dumps(value) if isinstance(value, (list, tuple, dict)) else str(value)
    return text[:MAX_PARAM_LENGTH]


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


@contextlib.contextmanager
def _active(run_id):
    """Make `run_id` the fluent API's active run (needed by `log_model`)."""
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield
        return
    mlflow.start_run(run_id=run_id)
    try:
        yield
    finally:
        mlflow.end_run(status=RunStatus.to_string(RunStatus.RUNNING))


@contextlib.contextmanager
def _store_lock(uri: str):
    """Serialise store creation between processes; yields the artifact root.

    For a sqlite store the lock is a file beside the database and artifacts go
    to `artifacts/` beside it; other stores (a tracking server) need no lock.
    """
    db = _sqlite_path(uri)
    if db is None:
        yield None
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.parent / ".rnnexp-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield (db.parent / "artifacts").resolve()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Tracker:
    """One catalog experiment's runs in one MLflow store.

    Args:
        experiment: the catalog name; also the MLflow experiment name.
        uri: tracking URI (see `resolve_tracking_uri`).
    """

    def __init__(self, experiment: str, uri: str | None = None):
        self.uri = resolve_tracking_uri(uri)
        self.experiment_name = experiment
        mlflow.set_tracking_uri(self.uri)
        with _store_lock(self.uri) as artifact_root:
            # The first client call creates (migrates) a fresh store: under the lock.
            self.client = MlflowClient(tracking_uri=self.uri)
            found = self.client.get_experiment_by_name(experiment)
            if found is not None:
                self.experiment_id = found.experiment_id
            else:
                location = (artifact_root / experiment).as_uri() if artifact_root else None
                self.experiment_id = self.client.create_experiment(
                    experiment, artifact_location=location
                )

    @contextlib.contextmanager
    def run(self, name: str, parent: "Reporter | None" = None, tags: dict | None = None):
        """A run (nested under `parent` if given) that always ends.

        On an exception the run is marked FAILED (KILLED on Ctrl-C) with the
        reason in the `failure_reason` tag, and the exception propagates.
        """
        run_tags = {"mlflow.runName": name, **environment_tags(), **(tags or {})}
        if parent is not None:
            run_tags[MLFLOW_PARENT_RUN_ID] = parent.run_id
        run = self.client.create_run(
            self.experiment_id, run_name=name, tags={k: str(v) for k, v in run_tags.items()}
        )
        reporter = Reporter(self.client, run.info.run_id)
        try:
            yield reporter
        except KeyboardInterrupt:
            reporter.set_tags({"failure_reason": "interrupted (Ctrl-C)"})
            self.client.set_terminated(run.info.run_id, "KILLED")
            raise
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:500]
            with contextlib.suppress(Exception):
                reporter.set_tags({"failure_reason": reason})
            self.client.set_terminated(run.info.run_id, "FAILED")
            raise
        else:
            self.client.set_terminated(run.info.run_id, "FINISHED")
