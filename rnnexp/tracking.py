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
import dataclasses
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
    "RunRecord",
    "Tracker",
    "resolve_tracking_uri",
    "serve_ui",
    "ui_command",
]

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
MAX_PARAM_LENGTH = 6000

# Artifact downloads (compare, resume) draw progress bars on stderr.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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
        with self._lifecycle(run.info.run_id) as reporter:
            yield reporter

    @contextlib.contextmanager
    def reopen(self, run_id: str):
        """Continue an existing run (a sweep being resumed); ends like `run`."""
        self.client.update_run(run_id, status="RUNNING")
        with self._lifecycle(run_id) as reporter:
            yield reporter

    @contextlib.contextmanager
    def _lifecycle(self, run_id):
        reporter = Reporter(self.client, run_id)
        try:
            yield reporter
        except KeyboardInterrupt:
            reporter.set_tags({"failure_reason": "interrupted (Ctrl-C)"})
            self.client.set_terminated(run_id, "KILLED")
            raise
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:500]
            with contextlib.suppress(Exception):
                reporter.set_tags({"failure_reason": reason})
            self.client.set_terminated(run_id, "FAILED")
            raise
        else:
            self.client.set_terminated(run_id, "FINISHED")

    def mark_killed(self, run_id: str, reason: str):
        """End a run whose process died while it was RUNNING."""
        self.client.set_tag(run_id, "failure_reason", reason)
        self.client.set_terminated(run_id, "KILLED")

    # -- reading sweeps back (resume, compare) ---------------------------------
    def sweeps(self) -> list["RunRecord"]:
        """Parent runs of this experiment, newest first."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string="tags.`rnnexp.role` = 'sweep'",
            order_by=["attributes.start_time DESC"],
            max_results=1000,
        )
        return [RunRecord.of(r) for r in runs]

    def trial_runs(self, parent_id: str) -> list["RunRecord"]:
        """The child runs of one sweep, oldest first."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'",
            order_by=["attributes.start_time ASC"],
            max_results=50000,
        )
        return [RunRecord.of(r) for r in runs]

    def load_dict(self, run_id: str, name: str) -> dict | None:
        """A JSON artifact logged with `Reporter.log_dict`, or None."""
        try:
            return json.loads(mlflow.artifacts.load_text(f"runs:/{run_id}/{name}"))
        except Exception:
            return None

    def download(self, run_id: str, path: str, destination) -> Path | None:
        """Copy a run's artifact file or folder to `destination`; None if missing."""
        Path(destination).mkdir(parents=True, exist_ok=True)
        try:
            return Path(self.client.download_artifacts(run_id, path, str(destination)))
        except Exception:
            return None


@dataclasses.dataclass
class RunRecord:
    """A finished or unfinished run, read back from the store."""

    run_id: str
    name: str
    status: str
    tags: dict
    params: dict
    metrics: dict

    @classmethod
    def of(cls, run):
        return cls(
            run.info.run_id,
            run.info.run_name,
            run.info.status,
            dict(run.data.tags),
            dict(run.data.params),
            dict(run.data.metrics),
        )


def serve_ui(uri: str, host: str = "127.0.0.1", port: int = 5000) -> int:
    """Run the MLflow UI on the store `uri` until Ctrl-C or SIGTERM; its exit code.

    The server runs in its own process group (it starts a web server and job
    consumers), and stopping this process stops the whole group.
    """
    import signal
    import sys

    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        return server.wait()
    except KeyboardInterrupt:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, sig)
            try:
                server.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
