"""MLflow tracking: the one module that imports mlflow.

A `run` is a parent run; each trial is a nested child run. Everything else in
rnnexp reports through the small `Reporter` interface below (`log_metrics`,
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
import fcntl
import functools
import json
import logging
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

import rnnexp
from rnnexp.config import ConfigError

__all__ = [
    "DEFAULT_TRACKING_URI",
    "browse_lines",
    "NullReporter",
    "Reporter",
    "RunRecord",
    "StoreError",
    "Tracker",
    "describe_store_error",
    "resolve_tracking_uri",
    "serve_ui",
    "compare_url",
    "experiment_url",
    "experiments_url",
    "run_url",
    "sweep_run_name",
    "trial_run_name",
    "ui_base",
    "ui_command",
    "ui_links",
]

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
MAX_PARAM_LENGTH = 6000
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
# ~26 s; a request still waiting after `SLOW_STORE_S` is said (`_watch_requests`).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "8")
SLOW_STORE_S = 3.0  # a database statement or server request this slow is waiting: say so

_SCHEMES = {"sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks"}


class SweepStoreError(RuntimeError):
    """The store failed while a sweep ran: the sweep is FAILED and `--resume` finishes it."""


class StoreError(ConfigError):
    """The tracking store cannot be used as asked; one line saying what to do."""


def resolve_tracking_uri(uri: str | None = None) -> str:
    """`--tracking-uri`, else `$MLFLOW_TRACKING_URI`, else the project store."""
    if uri is not None:  # an empty --tracking-uri is refused, not read as "the default"
        return uri
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def ui_command(uri: str) -> str:
    """The command that serves the MLflow UI on store `uri`."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"  # a tracking server serves its own UI
    if uri == DEFAULT_TRACKING_URI:
        return "python -m rnnexp ui"
    return f"python -m rnnexp ui --tracking-uri {uri}"


# -- what a person reads in the UI: run names and deep links -------------------
UI_ADDRESS = "http://127.0.0.1:5000"  # where `python -m rnnexp ui` serves by default
# Without it the UI opens an experiment on its GenAI view (traces, prompts), whatever
# the experiment's kind tag says (see EXPERIMENT_KIND); with it, on the Model-training view.
ML_VIEW = "workflowType=machine_learning"
# Short spellings of trial keys in run names (`post·rnn·L200·s0`); other keys say key=value.
_SHORT_KEYS = {"seed": "s", "length": "L"}
NOTE = "mlflow.note.content"  # the Description the UI renders (markdown), of a run or experiment


def ui_base(uri: str, address: str | None = None) -> str:
    """The UI's address for store `uri`: `address`, a tracking server itself, or `rnnexp ui`'s."""
    if address:
        return address.rstrip("/")
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return UI_ADDRESS


def experiments_url(base: str) -> str:
    """The UI's experiment list, opening experiments on their Model-training view."""
    return f"{base}/#/experiments?{ML_VIEW}"


def experiment_url(base: str, experiment_id) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs?{ML_VIEW}"


def run_url(base: str, experiment_id, run_id: str, artifact: str | None = None) -> str:
    """A run's page (or one of its artifacts) in the Model-training view."""
    tail = f"/artifactPath/{artifact}" if artifact else ""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}{tail}?{ML_VIEW}"


def compare_url(base: str, experiment_id, run_ids) -> str:
    """The UI's page comparing `run_ids` side by side (a sweep's trials)."""
    from urllib.parse import quote

    runs = quote(json.dumps(list(run_ids), separators=(",", ":")), safe="")
    experiments = quote(json.dumps([str(experiment_id)]), safe="")
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}&{ML_VIEW}"


def artifact_src(run_id: str, path: str) -> str:
    """An artifact's URL relative to the UI's root (an image in a run's Description)."""
    from urllib.parse import quote

    return f"get-artifact?path={quote(path)}&run_uuid={run_id}"


def browse_lines(tracker, parent_id: str, children: list[str], address: str | None = None):
    """Where to see a sweep in the UI: its parent run and its trials side by side."""
    base, eid = ui_base(tracker.uri, address), tracker.experiment_id
    if address or tracker.uri.startswith(("http://", "https://")):
        lines = ["browse:"]
    else:
        lines = [f"browse: `{ui_command(tracker.uri)}`, then open"]
    lines.append(f"  the study   {run_url(base, eid, parent_id)}")
    if len(children) > 1:
        lines.append(f"  its trials  {compare_url(base, eid, children)}")
    return lines


def sweep_run_name(experiment: str, profile: str, data: str) -> str:
    """A parent run's name: `imdb_seqlen · ci · real IMDB`."""
    return f"{experiment} · {profile} · {data}"


def data_label(card, source: str) -> str:
    """The data a sweep uses, plainly: "real IMDB", "synthetic stand-in (not IMDB)", ...

    Args:
        card: the `DataCard` of the sweep's first trial, or None.
        source: `Experiment.data_source` (a config spelling such as `path`).
    """
    from rnnexp.names import plain

    if card is not None and card.real:
        return f"real {plain(card.name)}"
    if card is not None and card.name.endswith("-generated"):
        return plain("generated")
    return plain(card.name if card is not None else source)


def trial_run_name(trial: dict, trials: list[dict]) -> str:
    """A child run's name, the keys that vary across `trials` first: `post·rnn·L200·s0`.

    Short, so the UI's run-name column (about 20 characters) tells the trials apart.
    """
    varying = [k for k in trial if len({json.dumps(t.get(k), default=str) for t in trials}) > 1]
    keys = varying + [k for k in trial if k not in varying]
    return "·".join(_short(k, trial[k]) for k in keys) or "trial"


def _short(key: str, value) -> str:
    if key in _SHORT_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"{_SHORT_KEYS[key]}{value}"
    if isinstance(value, bool):
        return key if value else f"no-{key}"
    if isinstance(value, str):
        return value
    return f"{key}={value}"


def params_that_apply(params: dict, real_data: bool) -> dict:
    """Config parameters less those that do not apply: the stand-in's settings on real data."""
    if not real_data:
        return params
    return {k: v for k, v in params.items() if not k.startswith("data.synthetic.")}


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def _check_uri(uri: str):
    if not uri.strip():
        raise StoreError("--tracking-uri is empty; leave it out for sqlite:///mlruns/mlflow.db")
    if uri.startswith("sqlite://") and uri.rstrip("/") in ("sqlite:", "sqlite:/"):
        # MLflow would keep the whole sweep in memory and lose it at exit
        raise StoreError(f"tracking URI {uri!r} names no database file ({DEFAULT_TRACKING_URI})")
    if uri.startswith("sqlite:///~"):  # SQLAlchemy would make a folder named `~`
        home = os.path.expanduser(uri[len("sqlite:///") :])
        raise StoreError(
            f"tracking URI {uri!r}: `~` is not expanded inside a URI; write sqlite:///{home}"
        )
    db = _sqlite_path(uri)
    if db is not None and db.exists() and not db.is_file():  # sqlite would block on a FIFO
        what = "a folder" if db.is_dir() else "a FIFO, device or socket"
        raise StoreError(
            f"tracking URI {uri!r}: {db} is {what}, not a database file; point "
            "--tracking-uri at a file such as sqlite:///mlruns/mlflow.db"
        )
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if scheme in ("", "file"):
        raise StoreError(
            f"tracking URI {uri!r} is a plain-folder store, which MLflow >= 3.13 refuses; "
            "use a database file such as sqlite:///mlruns/mlflow.db "
            "(`mlflow migrate-filestore` converts an old folder)"
        )
    if scheme not in _SCHEMES:
        raise StoreError(
            f"unknown tracking URI scheme {scheme!r} in {uri!r}; use sqlite:///PATH/mlflow.db "
            "or http://HOST:PORT"
        )


def _probe_server(uri: str, timeout: float = 5.0):
    """Fail in seconds, not minutes of retries, when a tracking server is not there."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
    except urllib.error.HTTPError:
        return  # it answers; whether it is MLflow shows on the first real request
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise StoreError(
            f"tracking server {uri} does not answer ({reason}); start it "
            "(`mlflow server --host HOST --port PORT`) or pick another --tracking-uri"
        ) from None


def describe_store_error(err: BaseException, uri: str = "") -> str | None:
    """One line for an error of the store (MLflow, SQLAlchemy, the file system), else None."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(err, SweepStoreError):
        return str(err)
    where = f"store {uri}" if uri else "the tracking store"
    text = str(err).strip()
    # SQLAlchemy's own first line may be "(raised as a result of Query-invoked
    # autoflush ...)": the database's words are in `orig`.
    orig = getattr(err, "orig", None)
    lines = [line for line in (str(orig) if orig else text).splitlines() if line.strip()]
    lines = [line for line in lines if "Query-invoked autoflush" not in line] or lines
    first = lines[0].strip() if lines else type(err).__name__
    low = text.lower()
    if isinstance(err, OSError) and err.errno == errno.ENOSPC or "disk is full" in low:
        target = getattr(err, "filename", None) or where
        return (
            f"disk full while writing {target}; free space and run again (what was "
            "already recorded is kept)"
        )
    if (
        (isinstance(err, OSError) and err.errno in (errno.EROFS, errno.EACCES, errno.EPERM))
        or "readonly database" in low
        or "read-only file system" in low
    ):
        return (
            f"{where} is not writable ({first[:200]}); make it writable or pick another "
            "--tracking-uri"
        )
    if "file is not a database" in low or "file is encrypted" in low:
        return (
            f"{where}: the file is not an MLflow database; point --tracking-uri at another "
            "file, or move this one away"
        )
    if "out-of-date database schema" in low:
        return (
            f"{where} has an out-of-date schema; back it up, then run "
            f"`mlflow db upgrade {uri or 'URI'}`"
        )
    if "database is locked" in low:
        return f"{where} stayed locked by another process; retry when it is done"
    if uri.startswith(("http://", "https://")) and (
        "read timed out" in low or "readtimeout" in low
    ):
        return (
            f"tracking server {uri} answers /health but not its API (no answer in "
            f"{_server_give_up_s():.0f} s); check the server's log and its database, "
            "or pick another --tracking-uri"
        )
    if isinstance(err, SQLAlchemyError | mlflow.exceptions.MlflowException):
        return f"{where}: {first[:300]}"
    if type(err).__module__.startswith(("requests", "urllib3")):
        return f"tracking server {uri or ''} stopped answering ({first[:200]})"
    return None


class _SlowStatements:
    """Say, within seconds, that a database statement is waiting (a locked sqlite file).

    SQLAlchemy's cursor events time every statement MLflow runs; one that has
    not returned after `SLOW_STORE_S` gets one console line, instead of the
    silence of sqlite's 20 s busy timeout. Once a statement has given up on a
    lock, the ones that end the runs wait 1 s each, not 20: the whole fault
    is said within ~30 s (a run they cannot end, `--resume` or the next run
    marks KILLED).
    """

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.timers: dict[int, object] = {}
        self.said_at = self.locked_at = -math.inf

    def install(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        if not event.contains(Engine, "before_cursor_execute", self.before):
            event.listen(Engine, "before_cursor_execute", self.before, retval=True)
            event.listen(Engine, "after_cursor_execute", self.after)
            event.listen(Engine, "handle_error", self.failed)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        import threading
        import time

        if statement.startswith("PRAGMA busy_timeout") and time.monotonic() - self.locked_at < 60:
            return "PRAGMA busy_timeout = 1000;", parameters
        timer = threading.Timer(SLOW_STORE_S, self.say, args=(str(conn.engine.url),))
        timer.daemon = True
        with self.lock:
            self.timers[threading.get_ident()] = timer
        timer.start()
        return statement, parameters

    def after(self, *args):
        import threading

        with self.lock:
            timer = self.timers.pop(threading.get_ident(), None)
        if timer is not None:
            timer.cancel()

    def failed(self, context):
        import time

        self.after()
        if "database is locked" in str(getattr(context, "original_exception", "")):
            self.locked_at = time.monotonic()

    def say(self, url: str):
        import time

        with self.lock:
            if time.monotonic() - self.said_at < 30:
                return
            self.said_at = time.monotonic()
        print(f"rnnexp: waiting for the store {url}: another process holds it", flush=True)


_SLOW = _SlowStatements()


def _server_give_up_s() -> float:
    """About how long MLflow tries one request to a silent server (tries x timeout + backoff)."""
    try:
        tries = 1 + int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
        timeout = float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"])
        backoff = float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    except (KeyError, ValueError):
        return 30.0
    return tries * timeout + sum(backoff * 2**i for i in range(1, tries - 1))


class _SlowRequests:
    """Say, within seconds, that a request to a tracking server is waiting.

    MLflow's REST calls all go through `rest_utils._get_http_response_with_retries`;
    a call that has not returned after `SLOW_STORE_S` gets one console line
    naming the server (at most one every 30 s), instead of the silence of
    MLflow's retries.
    """

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.said_at = -math.inf

    def install(self):
        from mlflow.utils import rest_utils

        original = rest_utils._get_http_response_with_retries
        if getattr(original, "_rnnexp_watched", False):
            return

        def watched(method, url, *args, **kwargs):
            import threading

            timer = threading.Timer(SLOW_STORE_S, self.say, args=(url,))
            timer.daemon = True
            timer.start()
            try:
                return original(method, url, *args, **kwargs)
            finally:
                timer.cancel()

        watched._rnnexp_watched = True
        rest_utils._get_http_response_with_retries = watched

    def say(self, url: str):
        import time
        import urllib.parse

        with self.lock:
            if time.monotonic() - self.said_at < 30:
                return
            self.said_at = time.monotonic()
        parts = urllib.parse.urlsplit(url)
        print(
            f"rnnexp: waiting for the tracking server {parts.scheme}://{parts.netloc} to "
            f"answer {parts.path} (gives up after about {_server_give_up_s():.0f} s)",
            flush=True,
        )


_SLOW_REQUESTS = _SlowRequests()


@contextlib.contextmanager
def _store_errors(uri: str):
    try:
        yield
    except StoreError:
        raise
    except Exception as err:
        message = describe_store_error(err, uri)
        if message is None:
            raise
        raise StoreError(message) from None


def _wait_while_locked(db: Path, uri: str, most_s: float = 25.0):
    """Return once the sqlite store can be read; say so if another process holds it.

    sqlite would wait in silence (30 s here, 20 s a statement in MLflow); this
    says within `SLOW_STORE_S` what is being waited for, and gives up after
    `most_s` more with one line.
    """
    import sqlite3

    con = sqlite3.connect(db, timeout=SLOW_STORE_S)
    try:
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return
        except sqlite3.Error as err:
            if "locked" not in str(err):
                return  # not a database, say: MLflow's first call reports it
        print(
            f"rnnexp: waiting for the store {uri}: another process holds it "
            f"(at most {most_s:.0f} s)",
            flush=True,
        )
        con.execute(f"PRAGMA busy_timeout = {int(most_s * 1000)}")
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            raise StoreError(
                f"store {uri} stayed locked by another process for "
                f"{SLOW_STORE_S + most_s:.0f} s; retry when it is done"
            ) from None
    finally:
        con.close()


def _relocate_artifacts(db: Path):
    """Point a copied or moved store's artifact paths at its own `artifacts/` folder.

    MLflow stores absolute artifact locations, so a copied `mlruns/` would
    write into, and read from, the original. Experiments created here sit at
    `<root>/artifacts/<name>`; any other root is rewritten, runs included.
    """
    import sqlite3

    if not os.access(db, os.W_OK) or not os.access(db.parent, os.W_OK):
        return
    root = (db.parent / "artifacts").resolve().as_uri()
    con = sqlite3.connect(db, timeout=SLOW_STORE_S)  # after `_wait_while_locked`
    try:
        with con:
            rows = con.execute("SELECT experiment_id, name, artifact_location FROM experiments")
            for experiment_id, name, location in rows.fetchall():
                old = (location or "").removesuffix(f"/{name}")
                if old == location or not old.startswith("file://") or old == root:
                    continue
                if not old.endswith("/artifacts"):
                    continue  # not a location rnnexp chose; leave it alone
                con.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (f"{root}/{name}", experiment_id),
                )
                con.execute(
                    "UPDATE runs SET artifact_uri = ? || substr(artifact_uri, ?) "
                    "WHERE experiment_id = ? AND substr(artifact_uri, 1, ?) = ?",
                    (root, len(old) + 1, experiment_id, len(old) + 1, old + "/"),
                )
    except sqlite3.Error:
        return  # not our schema, or busy: the store still works, reading the old paths
    finally:
        con.close()


def _git(*args: str) -> str | None:
    """`git ARGS` in the package's checkout: its output, or None (no git, not a checkout)."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(rnnexp.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_commit() -> str | None:
    return (_git("rev-parse", "HEAD") or "").strip() or None


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
    tags["device"] = _device(keras.backend.backend())
    return tags


@functools.lru_cache(maxsize=1)
def git_tags() -> dict[str, str]:
    """`git.commit` and `git.dirty` of the package's checkout; none outside one.

    Cached; `Tracker.run` clears it when a sweep starts, so each sweep looks once.
    """
    commit = _git_commit()
    if not commit:
        return {}
    tags = {"git.commit": commit}
    status = _git("status", "--porcelain")  # untracked files count: they can change a run
    if status is not None:
        tags["git.dirty"] = "true" if status.strip() else "false"
    return tags


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device(backend: str) -> str:
    """What the trials compute on: `GPU: <name> (xN)`, else `CPU: <model> (N cores)`."""
    names: list[str] = []
    with contextlib.suppress(Exception):  # a backend that cannot say is a CPU run
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            names = [
                tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus
            ]
        elif backend == "jax":
            import jax

            names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        elif backend == "torch":
            import torch

            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            names = [torch.cuda.get_device_name(i) for i in range(count)]
    if names:
        return f"GPU: {names[0]} (x{len(names)})"
    return f"CPU: {_cpu_name()} ({os.cpu_count()} cores)"


class Reporter:
    """What a run (parent or child) can record. Backed by one MLflow run."""

    def __init__(self, client: MlflowClient, run_id: str):
        self.client, self.run_id = client, run_id
        self.end_status: tuple[str, str | None] = ("FINISHED", None)

    def end_as(self, status: str, reason: str):
        """End this run with `status` (e.g. FAILED) and a reason, not FINISHED."""
        self.end_status = (status, reason)

    def log_params(self, params: dict):
        clean = {k: _param_value(v) for k, v in params.items()}
        items = list(clean.items())
        for start in range(0, len(items), 100):  # MLflow's batch limit
            batch = [mlflow.entities.Param(k, v) for k, v in items[start : start + 100]]
            self.client.log_batch(self.run_id, params=batch)

    def log_metrics(self, metrics: dict, step: int | None = None):
        if step is None:  # bookkeeping scalars are tags: the UI's charts show results
            kept = {k: v for k, v in metrics.items() if not _bookkeeping(k)}
            self.set_tags({k: v for k, v in metrics.items() if k not in kept})
            metrics = kept
        metrics = {_SERIES_NAMES.get(k, k): v for k, v in metrics.items()}
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

    def log_table(self, rows: list[dict], name: str):
        """Rows as an MLflow table (`mlflow.log_table`), which the UI shows as one."""
        columns = list(dict.fromkeys(k for row in rows for k in row))
        table = {c: [row.get(c) for row in rows] for c in columns}
        self.client.log_table(self.run_id, table, name)

    def log_dataset(self, card):
        """Record a `rnnexp.data.card.DataCard` as the run's dataset input (`log_input`).

        The runs table's Dataset column shows its name and digest; the split
        sizes and whether it is real data are its profile and input tags.
        """
        profile = {"splits": card.splits, "real": card.real}
        source_type, source = _dataset_source(card.source)
        dataset = mlflow.entities.Dataset(
            name=card.name,
            digest=card.digest,
            source_type=source_type,
            source=json.dumps(source),
            profile=json.dumps(profile),
        )
        tags = [
            mlflow.entities.InputTag("mlflow.data.context", "training"),
            mlflow.entities.InputTag("rnnexp.data.real", str(card.real).lower()),
            *(
                mlflow.entities.InputTag(f"rnnexp.data.{split}", str(n))
                for split, n in card.splits.items()
            ),
        ]
        self.client.log_inputs(self.run_id, [mlflow.entities.DatasetInput(dataset, tags)])

    def log_model(self, model, name: str = "model"):
        """Log a Keras model with `mlflow.keras` (never tensorflow autolog)."""
        with _active(self.run_id):
            return mlflow.keras.log_model(model, name=name)


class NullReporter:
    """A reporter that records nothing (dry runs, tests of training code)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _dataset_source(source: str) -> tuple[str, dict]:
    """MLflow's (source type, source) for a card's source: a URL, a local path, or code."""
    if source.startswith(("http://", "https://")):
        return "http", {"url": source}
    if os.path.exists(source):
        return "local", {"uri": str(Path(source).resolve())}
    return "code", {"tags": {"rnnexp.source": source}}


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


# What a trial records about itself rather than its result: tagged, not charted.
_BOOKKEEPING = ("params", "data.load_seconds", "pool.")
# Per-epoch bookkeeping, renamed under a prefix the UI charts after the results.
_SERIES_NAMES = {"epoch_seconds": "zz_time/epoch_seconds"}


def _bookkeeping(name: str) -> bool:
    return name in _BOOKKEEPING or any(name.startswith(p) for p in _BOOKKEEPING if p[-1] == ".")


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


def _check_store_folder(db: Path):
    """Refuse a store folder that cannot be made or written; creates nothing.

    Probes the nearest folder that exists with a temporary file, which also
    catches what permission bits do not show (root under `/proc`, a read-only mount).
    """
    folder = db.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise StoreError(
            f"store folder {db.parent} is not writable ({err.strerror or err}); make it "
            "writable or pick another --tracking-uri"
        ) from None


@contextlib.contextmanager
def _store_lock(uri: str, reading: bool = False):
    """Serialise store creation between processes; yields the artifact root.

    For a sqlite store the lock is a file beside the database and artifacts go
    to `artifacts/` beside it; other stores (a tracking server) need no lock.
    Readers take it too (a store being created is not readable yet), except
    where they cannot write the lock file: then nobody can be creating it.
    """
    db = _sqlite_path(uri)
    if db is None:
        yield None
        return
    try:
        if not reading:
            db.parent.mkdir(parents=True, exist_ok=True)
        lock = open(db.parent / ".rnnexp-store.lock", "a")
    except OSError as err:
        if reading:
            yield (db.parent / "artifacts").resolve()
            return
        raise StoreError(
            f"store folder {db.parent} is not writable ({err.strerror or err}); make it "
            "writable or pick another --tracking-uri"
        ) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield (db.parent / "artifacts").resolve()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Tracker:
    """One catalog experiment's runs in one MLflow store.

    Opening checks the store (a server must answer, a database must be one)
    but creates nothing: the store and the MLflow experiment are created by
    `ensure()`, which the first `run()` calls.

    Args:
        experiment: the catalog name; also the MLflow experiment name.
        uri: tracking URI (see `resolve_tracking_uri`).
    """

    def __init__(self, experiment: str, uri: str | None = None):
        self.uri = resolve_tracking_uri(uri)
        self.experiment_name = experiment
        self.experiment_id, self._kind = None, None
        _check_uri(self.uri)
        if self.uri.startswith(("http://", "https://")):
            _probe_server(self.uri)
            _SLOW_REQUESTS.install()
        mlflow.set_tracking_uri(self.uri)
        _SLOW.install()
        self._client = None
        db = _sqlite_path(self.uri)
        if db is not None and not db.is_file():
            _check_store_folder(db)  # now, not after the half-minute framework import
            return  # no store yet; reading finds nothing, `ensure()` creates it
        with _store_lock(self.uri, reading=True), _store_errors(self.uri):
            if db is not None:
                _wait_while_locked(db, self.uri)
                _relocate_artifacts(db)
            self._find_experiment()

    @property
    def client(self) -> MlflowClient:
        # Made on first use: an MlflowClient creates a missing sqlite file at once,
        # which must happen under the store lock, and never for a reader.
        if self._client is None:
            with _store_errors(self.uri):
                self._client = MlflowClient(tracking_uri=self.uri)
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
        with _store_lock(self.uri) as artifact_root, _store_errors(self.uri):
            # The first client call creates (migrates) a fresh store: under the lock.
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
    def run(self, name: str, parent: "Reporter | None" = None, tags: dict | None = None):
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
        with _store_errors(self.uri):
            run = self.client.create_run(
                self.experiment_id, run_name=name, tags={k: str(v) for k, v in run_tags.items()}
            )
        monitor = _system_metrics(run.info.run_id, self.uri) if parent is not None else None
        with self._lifecycle(run.info.run_id, sweep=parent is None, monitor=monitor) as reporter:
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
        from rnnexp.lease import SweepBusy

        with _store_lock(self.uri), _store_errors(self.uri):
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
            Reporter(self.client, run_id).set_tags(tags or {})
            self.client.update_run(run_id, status="RUNNING")
        with self._lifecycle(run_id, sweep=True) as reporter:
            yield reporter

    @contextlib.contextmanager
    def _lifecycle(self, run_id, sweep=False, monitor=None):
        from rnnexp.lease import SweepTakenOver

        reporter = Reporter(self.client, run_id)
        try:
            try:
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
        with contextlib.suppress(Exception):
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
        with _store_errors(self.uri):
            self.client.set_tag(run_id, NOTE, markdown)

    def describe(self, markdown: str):
        """Set this MLflow experiment's Description (markdown, rendered by the UI)."""
        with _store_errors(self.uri):
            self.client.set_experiment_tag(self.experiment_id, NOTE, markdown)

    def artifact_files(self, run_id: str, folder: str | None = None) -> list[str]:
        """The paths of a run's artifact files in `folder` (its root by default)."""
        with contextlib.suppress(Exception):
            return [f.path for f in self.client.list_artifacts(run_id, folder) if not f.is_dir]
        return []

    def run_tags(self, run_id: str) -> dict:
        with _store_errors(self.uri):
            return dict(self.client.get_run(run_id).data.tags)

    def mark_killed(self, run_id: str, reason: str):
        """End a run whose process died while it was RUNNING."""
        with _store_errors(self.uri):
            self.client.set_tag(run_id, "failure_reason", reason)
            self.client.set_terminated(run_id, "KILLED")

    # -- reading sweeps back (resume, compare) ---------------------------------
    def sweeps(self) -> list["RunRecord"]:
        """Parent runs of this experiment, newest first."""
        if self.experiment_id is None:
            return []
        with _store_errors(self.uri):
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
        with _store_errors(self.uri):
            runs = self.client.search_runs(
                [self.experiment_id],
                filter_string=" AND ".join(where),
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
    """`interrupted (Ctrl-C)`, or the signal that stopped the run (`rnnexp.cli` names it)."""
    return f"interrupted ({err.args[0] if err.args else 'Ctrl-C'})"


def ui_links(uri: str, address: str) -> list[str]:
    """What `rnnexp ui` prints once its server answers: deep links into the UI.

    The experiment list, then each experiment's newest sweep (its parent run)
    and that sweep's trials side by side, all in the Model-training view.
    """
    lines = [f"MLflow UI: {experiments_url(address)}"]
    client = MlflowClient(tracking_uri=uri)
    with _store_errors(uri):
        for experiment in client.search_experiments(order_by=["name ASC"]):
            eid = experiment.experiment_id
            sweeps = client.search_runs(
                [eid],
                filter_string="tags.`rnnexp.role` = 'sweep'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if not sweeps:
                continue
            sweep = sweeps[0]
            children = client.search_runs(
                [eid],
                filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{sweep.info.run_id}'",
                order_by=["attributes.start_time ASC"],
                max_results=50000,
            )
            state = sweep.data.tags.get("finding", sweep.info.status)
            lines.append(f"{experiment.name}: newest sweep {sweep.info.run_name} ({state})")
            lines.append(f"  the study   {run_url(address, eid, sweep.info.run_id)}")
            if len(children) > 1:
                ids = [c.info.run_id for c in children]
                lines.append(f"  its trials  {compare_url(address, eid, ids)}")
    lines.append(
        "(in a fresh browser MLflow opens an experiment clicked in its list on the GenAI "
        "view: these links, or 'Got it' and then the sidebar's 'Model training' switch, "
        "which the browser remembers, show its runs)"
    )
    return lines


def _answers(server, address: str, every: float = 0.5) -> bool:
    """Wait until the UI at `address` answers (True) or its server process exits (False)."""
    import time
    import urllib.error
    import urllib.request

    while server.poll() is None:
        try:
            urllib.request.urlopen(address + "/health", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True  # it answers, if not with a page
        except OSError:
            time.sleep(every)
    return False


def serve_ui(uri: str, host: str = "127.0.0.1", port: int = 5000, on_ready=None) -> int:
    """Run the MLflow UI on the store `uri` until Ctrl-C or SIGTERM; its exit code.

    The server runs in its own process group (it starts a web server and job
    consumers), and stopping this process stops the whole group.

    Args:
        on_ready: called with the UI's address (`http://HOST:PORT`) once it answers.
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
        if on_ready is not None:
            local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            address = f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"
            if _answers(server, address):
                on_ready(address)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        # Also when the server exits by itself (a bad store): its job runner
        # would otherwise linger on for many seconds.
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, sig)
            try:
                server.wait(timeout=wait)
                if not _group_alive(server.pid):
                    break
            except subprocess.TimeoutExpired:
                continue
        signal.signal(signal.SIGTERM, previous)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def check_store(uri: str):
    """Refuse, in one line, a store the MLflow UI could not open (or would create)."""
    _check_uri(uri)
    if uri.startswith(("http://", "https://")):
        raise StoreError(f"{uri} is a tracking server already; open it in a browser")
    db = _sqlite_path(uri)
    if db is not None:
        if not db.is_file():
            raise StoreError(f"no store at {db}; `python -m rnnexp run NAME` creates it")
        _wait_while_locked(db, uri)
        _relocate_artifacts(db)
    with _store_errors(uri):
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
