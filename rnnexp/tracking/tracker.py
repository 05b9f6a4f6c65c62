"""The tracker: a sweep's parent run and its trials' child runs in MLflow.

A `run` is a parent run; each trial is a nested child run. Everything else in
rnnexp reports through the small `Reporter` interface (`tracking.reporter`: `log_metrics`,
`log_params`, `set_tags`, `log_artifact`, `log_figure`, `log_text`,
`log_model`), so training code never sees MLflow.

The default store is `sqlite:///mlruns/mlflow.db` (MLflow >= 3.13 refuses a
plain-folder store) with artifacts in `mlruns/artifacts/`. A cold sqlite store
fails when two processes initialise it at once, so `Tracker` creates the store
and the MLflow experiment once, under a file lock, before its first run starts
-- and only then: reading (`compare`, a refused `run`) never creates a store.

Store trouble (an unreachable server, a file that is not a database, an old
schema, a read-only folder, a full disk) becomes a one-line `StoreError`
saying what to do, never an MLflow or SQLAlchemy traceback.
"""

import contextlib
import dataclasses
import errno
import json
import logging
import os
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from rnnexp import stopping
from rnnexp.tracking.mlflow_reporter import MlflowReporter
from rnnexp.tracking import store
from rnnexp.tracking.provenance import environment_tags, git_tags
from rnnexp.tracking.store_template import start_from_template
from rnnexp.tracking.store_watch import SLOW_STATEMENTS, SLOW_REQUESTS
from rnnexp.tracking.store import (
    StoreError,
    check_store_folder,
    check_uri,
    probe_server,
    relocate_artifacts,
    store_errors,
    store_lock,
    describe_store_error,
)
from rnnexp.tracking.store_uri import resolve_tracking_uri, sqlite_path

__all__ = [
    "RunRecord",
    "Tracker",
]


# The experiment's kind, for MLflow UIs that read it (with workflow-based navigation off,
# e.g. older or hosted ones). The pinned UI (MLflow 3.17.2) ignores it: its
# `useExperimentKind` returns the kind of its global workflowType whenever
# `shouldEnableWorkflowBasedNavigation()` holds, and that is hard-wired true
# (mlflow/server/js/build/static/js/main.c2f5f8d4.js, webpack modules 31080 and 89511).
# The workflowType is the URL's `?workflowType=`, else the browser's localStorage
# `mlflow.workflowType_v1`, else "genai" (module 7975); the experiment list links to
# `#/experiments/ID` with no query, so a fresh browser lands on the GenAI Overview, and
# only the sidebar's "Model training" switch (stored in localStorage) or a deep link with
# ML_VIEW opens the runs. No tag or server setting changes that.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
SYSTEM_METRICS_S = 5.0  # how often a trial samples CPU and memory (when psutil is installed)

# Artifact downloads (compare, resume) draw progress bars on stderr.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# MLflow's alembic migrations log at INFO on every fresh store, and the
# system-metrics monitor says "Started/Stopping ..." for every trial (unless the
# CLI's --verbose set these loggers first: rnnexp.startup.configure_logging).
for _name in ("alembic", "mlflow.store.db.utils", "mlflow.system_metrics"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)
# MLflow retries a tracking server 7 times with backoff factor 2 and waits up
# to 120 s per request: a server that went away mid-sweep meant minutes of
# silence. A few quick retries still ride out a restart of the server.
# Three tries of 8 s (a server that answers /health but stalls) give up in
# ~26 s; a request still waiting after `SLOW_STORE_S` is said (`store_watch.SLOW_REQUESTS`).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "8")
NOTE = "mlflow.note.content"  # the Description the UI renders (markdown), of a run or experiment


def _system_metrics(run_id: str, uri: str):
    """A started MLflow system-metrics monitor (CPU, memory) for `run_id`; None without psutil."""
    import importlib.util

    if os.environ.get("RNNEXP_SYSTEM_METRICS") == "0" or importlib.util.find_spec("psutil") is None:
        return None
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        monitor = SystemMetricsMonitor(run_id, sampling_interval=SYSTEM_METRICS_S, tracking_uri=uri)
        monitor.start()
        return monitor
    except Exception:  # noqa: BLE001 - metrics about the machine are never worth a trial
        return None


class Tracker:
    """One catalog experiment's runs in one MLflow store.

    Opening checks the store (a server must answer, a database must be one)
    but creates nothing: the store and the MLflow experiment are created by
    `ensure()`, which the first `run()` calls.

    Args:
        experiment: the catalog name; also the MLflow experiment name.
        uri: tracking URI (see `resolve_tracking_uri`).
        reading: only to read (`compare`): a missing store in a folder that
            cannot be written is then simply empty, not "not writable".
    """

    def __init__(self, experiment: str, uri: str | None = None, reading: bool = False):
        self.uri = resolve_tracking_uri(uri)
        self.experiment_name = experiment
        self.experiment_id, self._kind = None, None
        check_uri(self.uri)
        if self.uri.startswith(("http://", "https://")):
            probe_server(self.uri)
            SLOW_REQUESTS.install()
        mlflow.set_tracking_uri(self.uri)
        SLOW_STATEMENTS.install()
        self._client = None
        db = sqlite_path(self.uri)
        if db is not None and not db.is_file():
            if not reading:
                check_store_folder(db)  # now, not after the half-minute framework import
            return  # no store yet; reading finds nothing, `ensure()` creates it
        with store_lock(self.uri, reading=True), store_errors(self.uri):
            if db is not None:
                store.wait_while_locked(db, self.uri)
                relocate_artifacts(db)
            self._find_experiment()

    @property
    def client(self) -> MlflowClient:
        # Made on first use: an MlflowClient creates a missing sqlite file at once,
        # which must happen under the store lock, and never for a reader.
        if self._client is None:
            with store_errors(self.uri):
                client = MlflowClient(tracking_uri=self.uri)
            # Only sqlite keeps a cut call's lock; a server's request may retry for minutes.
            local = self.uri.startswith("sqlite:")
            self._client = stopping.Uninterrupted(client) if local else client
        return self._client

    def _find_experiment(self):
        found = self.client.get_experiment_by_name(self.experiment_name)
        if found is not None and found.lifecycle_stage != "active":
            raise StoreError(
                f"experiment {self.experiment_name!r} is deleted in {self.uri}; restore it "
                f"(`MLFLOW_TRACKING_URI={self.uri} mlflow experiments restore "
                f"--experiment-id {found.experiment_id}`) or pick another --tracking-uri"
            )
        self.experiment_id = found.experiment_id if found is not None else None
        self._kind = found.tags.get(EXPERIMENT_KIND[0]) if found is not None else None

    def ensure(self):
        """Create the store and this MLflow experiment if they do not exist yet."""
        if self.experiment_id is not None and self._kind is not None:
            return
        with store_lock(self.uri) as artifact_root, store_errors(self.uri):
            # The first client call creates (migrates) a fresh store: under the lock.
            start_from_template(self.uri)
            self._find_experiment()
            if self.experiment_id is None:
                location = artifact_root and (artifact_root / self.experiment_name).as_uri()
                self.experiment_id = self.client.create_experiment(
                    self.experiment_name, artifact_location=location, tags=dict([EXPERIMENT_KIND])
                )
            elif self._kind is None:  # made before rnnexp tagged the kind
                self.client.set_experiment_tag(self.experiment_id, *EXPERIMENT_KIND)
            self._kind = self._kind or EXPERIMENT_KIND[1]

    @contextlib.contextmanager
    def run(self, name: str, parent: "MlflowReporter | None" = None, tags: dict | None = None):
        """A run (nested under `parent` if given) that always ends.

        On an exception the run is marked FAILED (KILLED on Ctrl-C) with the
        reason in the `failure_reason` tag, and the exception propagates.
        """
        self.ensure()
        if parent is None:  # a new sweep: look at the checkout again
            git_tags.cache_clear()
        run_tags = {"mlflow.runName": name, **environment_tags(), **git_tags(), **(tags or {})}
        if parent is not None:
            run_tags[MLFLOW_PARENT_RUN_ID] = parent.run_id
        with store_errors(self.uri):
            run = self.client.create_run(
                self.experiment_id, run_name=name, tags={k: str(v) for k, v in run_tags.items()}
            )
        trial = parent is not None
        with self._lifecycle(run.info.run_id, sweep=not trial, monitored=trial) as reporter:
            yield reporter

    @contextlib.contextmanager
    def reopen(self, run_id: str, tags: dict | None = None, busy=None):
        """Continue an existing run (a sweep being resumed); ends like `run`.

        Args:
            tags: set on the run when it is taken (its new owner).
            busy: `busy(run tags)` says who still runs it (a sentence), or
                None; asked under the store lock, so two resumes cannot both
                take the sweep. A sentence raises `SweepBusy`.
        """
        from rnnexp.tracking.lease import SweepBusy

        with store_lock(self.uri), store_errors(self.uri):
            current = self.client.get_run(run_id)
            who = busy(dict(current.data.tags)) if busy else None
            if who:
                raise SweepBusy(
                    f"sweep {run_id} is still being run by {who}; let it finish, or stop it "
                    "and --resume again"
                )
            # The reason it ended last time is history once it runs again.
            if "failure_reason" in current.data.tags:
                self.client.delete_tag(run_id, "failure_reason")
            MlflowReporter(self.client, run_id).set_tags(tags or {})
            self.client.update_run(run_id, status="RUNNING")
        with self._lifecycle(run_id, sweep=True) as reporter:
            yield reporter

    @contextlib.contextmanager
    def _lifecycle(self, run_id, sweep=False, monitored=False):
        from rnnexp.tracking.lease import SweepTakenOver

        reporter = MlflowReporter(self.client, run_id)
        monitor = None
        try:
            try:
                # Started inside the try: a stop signal while it starts still ends the run.
                monitor = _system_metrics(run_id, self.uri) if monitored else None
                yield reporter
            finally:
                if monitor is not None:  # its last samples land before the run ends
                    with contextlib.suppress(Exception):
                        monitor.finish()
        except SweepTakenOver as err:
            if not sweep:  # its trial: the new owner runs it again
                self._end(reporter, "KILLED", str(err))
            raise  # the sweep itself now belongs to the new owner: leave it alone
        except KeyboardInterrupt as err:
            self._end(reporter, "KILLED", interrupted_reason(err))
            raise
        except BaseException as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:500]
            self._end(reporter, "FAILED", reason)
            raise
        else:
            self._end(reporter, *reporter.end_status)

    def _end(self, reporter, status, reason=None):
        """End a run; never let a store failure here hide the error being reported."""
        # One write as far as a stop is concerned: a run tagged but not ended stays RUNNING.
        with stopping.deferred(), contextlib.suppress(Exception):
            if reason:
                reporter.set_tags({"failure_reason": reason})
            self.client.set_terminated(reporter.run_id, status)

    def store_fault(self, err: BaseException) -> "StoreError | None":
        """`err` as a `StoreError` when the store failed (not the code using it), else None."""
        if isinstance(err, StoreError):
            return err
        from sqlalchemy.exc import SQLAlchemyError

        store_side = isinstance(err, SQLAlchemyError | mlflow.exceptions.MlflowException)
        store_side |= type(err).__module__.startswith(("requests", "urllib3"))
        store_side |= isinstance(err, OSError) and err.errno == errno.ENOSPC
        message = describe_store_error(err, self.uri) if store_side else None
        return StoreError(message) if message else None

    def set_note(self, run_id: str, markdown: str):
        """Set a run's Description (markdown, rendered by the UI)."""
        with store_errors(self.uri):
            self.client.set_tag(run_id, NOTE, markdown)

    def describe(self, markdown: str):
        """Set this MLflow experiment's Description (markdown, rendered by the UI)."""
        with store_errors(self.uri):
            self.client.set_experiment_tag(self.experiment_id, NOTE, markdown)

    def artifact_files(self, run_id: str, folder: str | None = None) -> list[str]:
        """The paths of a run's artifact files in `folder` (its root by default)."""
        with contextlib.suppress(Exception):
            return [f.path for f in self.client.list_artifacts(run_id, folder) if not f.is_dir]
        return []

    def run_tags(self, run_id: str) -> dict:
        with store_errors(self.uri):
            return dict(self.client.get_run(run_id).data.tags)

    def mark_killed(self, run_id: str, reason: str):
        """End a run whose process died while it was RUNNING."""
        with stopping.deferred(), store_errors(self.uri):
            self.client.set_tag(run_id, "failure_reason", reason)
            self.client.set_terminated(run_id, "KILLED")

    # -- reading sweeps back (resume, compare) ---------------------------------
    def sweeps(self) -> list["RunRecord"]:
        """Parent runs of this experiment, newest first."""
        if self.experiment_id is None:
            return []
        with store_errors(self.uri):
            runs = self.client.search_runs(
                [self.experiment_id],
                filter_string="tags.`rnnexp.role` = 'sweep'",
                order_by=["attributes.start_time DESC"],
                max_results=1000,
            )
        return [RunRecord.of(r) for r in runs]

    def trial_runs(
        self, parent_id: str, tags: dict | None = None, status: str | None = None
    ) -> list["RunRecord"]:
        """The child runs of one sweep, oldest first; only those with `tags` and `status`."""
        if self.experiment_id is None:
            return []
        where = [f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'"]
        where += [f"tags.`{k}` = '{v}'" for k, v in (tags or {}).items()]
        if status:
            where.append(f"attributes.status = '{status}'")
        with store_errors(self.uri):
            runs = self.client.search_runs(
                [self.experiment_id],
                filter_string=" AND ".join(where),
                order_by=["attributes.start_time ASC"],
                max_results=50000,
            )
        return [RunRecord.of(r) for r in runs]

    def load_dict(self, run_id: str, name: str) -> dict | None:
        """A JSON artifact logged with `MlflowReporter.log_dict`, or None."""
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
    seconds: float | None = None  # wall time from start to end; None while it runs

    @classmethod
    def of(cls, run):
        start, end = run.info.start_time, run.info.end_time
        return cls(
            run.info.run_id,
            run.info.run_name,
            run.info.status,
            dict(run.data.tags),
            dict(run.data.params),
            dict(run.data.metrics),
            (end - start) / 1000 if start and end else None,
        )


def interrupted_reason(err: KeyboardInterrupt) -> str:
    """`interrupted (Ctrl-C)`, or the signal that stopped the run (`rnnexp.cli` names it).

    A bare interrupt (Ray's `wait` raises one for ours) is the stop this process noted.
    """
    return f"interrupted ({err.args[0] if err.args else stopping.stop_reason() or 'Ctrl-C'})"
