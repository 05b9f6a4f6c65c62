"""The MLflow store: its URI checked, its errors in one line, its locks.

Which store a URI names is `store_uri`'s; saying that the store is waiting (and
how long a wait may last) is `store_watch`'s; a new sqlite store copied from a
template, `store_template`'s.
"""

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from rnnexp.config import ConfigError
from rnnexp.tracking import store_watch
from rnnexp.tracking.store_uri import DEFAULT_TRACKING_URI, sqlite_path

__all__ = [
    "StoreError",
    "describe_store_error",
]


_SCHEMES = {"sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks"}


class SweepStoreError(RuntimeError):
    """The store failed while a sweep ran: the sweep is FAILED and `--resume` finishes it."""


class StoreError(ConfigError):
    """The tracking store cannot be used as asked; one line saying what to do."""


def _hot_journal(uri: str) -> Path | None:
    """The rollback journal a writer left next to a sqlite store, if there is one."""
    db = sqlite_path(uri)
    journal = db and db.with_name(db.name + "-journal")
    try:
        return journal if journal and journal.stat().st_size > 0 else None
    except OSError:
        return None


def check_uri(uri: str):
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
    db = sqlite_path(uri)
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


def probe_server(uri: str, timeout: float = 5.0):
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
        journal = _hot_journal(uri)
        if journal is not None:  # even reading it needs a write first: say which and why
            return (
                f"{where} cannot be read while read-only: {journal} holds a write cut off "
                "mid-way, which SQLite must roll back first; make the folder writable once, "
                "or copy the whole folder somewhere writable and read the copy"
            )
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
            f"{store_watch.server_give_up_s():.0f} s); check the server's log and its database, "
            "or pick another --tracking-uri"
        )
    if isinstance(err, SQLAlchemyError | mlflow.exceptions.MlflowException):
        return f"{where}: {first[:300]}"
    if type(err).__module__.startswith(("requests", "urllib3")):
        return f"tracking server {uri or ''} stopped answering ({first[:200]})"
    return None


@contextlib.contextmanager
def store_errors(uri: str):
    try:
        yield
    except StoreError:
        raise
    except Exception as err:
        message = describe_store_error(err, uri)
        if message is None:
            raise
        raise StoreError(message) from None


def wait_while_locked(db: Path, uri: str, most_s: float = 25.0):
    """Return once the sqlite store can be read; say so if another process holds it.

    sqlite would wait in silence (30 s here, 20 s a statement in MLflow); this
    says within `SLOW_STORE_S` what is being waited for, and gives up after
    `most_s` more with one line.
    """
    import sqlite3

    con = sqlite3.connect(db, timeout=store_watch.SLOW_STORE_S)
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
                f"{store_watch.SLOW_STORE_S + most_s:.0f} s; retry when it is done"
            ) from None
    finally:
        con.close()


def relocate_artifacts(db: Path):
    """Point a copied or moved store's artifact paths at its own `artifacts/` folder.

    MLflow stores absolute artifact locations, so a copied `mlruns/` would
    write into, and read from, the original. Experiments created here sit at
    `<root>/artifacts/<name>`; any other root is rewritten, runs included.
    """
    import sqlite3

    if not os.access(db, os.W_OK) or not os.access(db.parent, os.W_OK):
        return
    root = (db.parent / "artifacts").resolve().as_uri()
    con = sqlite3.connect(db, timeout=store_watch.SLOW_STORE_S)  # after `wait_while_locked`
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


def check_store_folder(db: Path):
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
def store_lock(uri: str, reading: bool = False):
    """Serialise store creation between processes; yields the artifact root.

    For a sqlite store the lock is a file beside the database and artifacts go
    to `artifacts/` beside it; other stores (a tracking server) need no lock.
    Readers take it too (a store being created is not readable yet), except
    where they cannot write the lock file: then nobody can be creating it.
    """
    db = sqlite_path(uri)
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


def check_store(uri: str):
    """Refuse, in one line, a store the MLflow UI could not open (or would create)."""
    check_uri(uri)
    if uri.startswith(("http://", "https://")):
        raise StoreError(f"{uri} is a tracking server already; open it in a browser")
    db = sqlite_path(uri)
    if db is not None:
        if not db.is_file():
            raise StoreError(f"no store at {db}; `python -m rnnexp run NAME` creates it")
        wait_while_locked(db, uri)
        relocate_artifacts(db)
    with store_errors(uri):
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


def import_sql_models() -> None:
    """Import MLflow's SQL table definitions (`sweep.local`'s workers, with SIGTERM held off).

    All three share one SQLAlchemy metadata: the registry's tables, left half-defined by a
    signal, broke a worker's marking of its runs too ("Table 'registered_models' ...").
    """
    import importlib

    for module in ("tracking", "model_registry", "workspace"):
        with contextlib.suppress(ImportError):  # a store without SQL tables needs none
            importlib.import_module(f"mlflow.store.{module}.dbmodels.models")
