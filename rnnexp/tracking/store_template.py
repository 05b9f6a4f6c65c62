"""A new sqlite store, copied from an empty migrated template: milliseconds, not seconds."""

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from rnnexp.tracking.store_uri import sqlite_path


def start_from_template(uri: str) -> bool:
    """Make a missing sqlite store a copy of an empty one MLflow built before; True if it did.

    MLflow builds a new sqlite store by running its whole history of schema
    migrations (2-3 s); a copy takes milliseconds. The template, one per MLflow
    version in the cache folder (`RNNEXP_CACHE_DIR`), is built the first time
    and holds no experiment: MLflow adds its Default experiment when the copy
    is first opened, as it does in a store it builds. Call it under the
    store lock; any failure leaves the store to MLflow as before.
    """
    db = sqlite_path(uri)
    if db is None or db.exists():
        return False
    try:
        template = _store_template()
        fd, tmp = tempfile.mkstemp(dir=db.parent, prefix=f".{db.name}.", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(template, tmp)
            os.link(tmp, db)  # never over a store another process made meanwhile
        finally:
            os.unlink(tmp)
    except (OSError, sqlite3.Error, mlflow.exceptions.MlflowException):
        return False
    return True


def _store_template() -> Path:
    """The empty, migrated sqlite store of this MLflow version, built on first use."""
    from rnnexp.data.token_cache import cache_dir

    template = cache_dir() / "mlflow-stores" / f"mlflow-{mlflow.__version__}.db"
    if template.is_file():
        return template
    template.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=template.parent) as scratch:
        built = Path(scratch) / "store.db"
        client = MlflowClient(tracking_uri=f"sqlite:///{built}")
        client.search_experiments(max_results=1)  # creates and migrates it
        con = sqlite3.connect(built)
        try:
            with con:  # MLflow re-adds it, pointing at the copy's own artifact root
                con.execute("DELETE FROM experiments WHERE experiment_id = 0")
        finally:
            con.close()
        os.replace(built, template)
    return template
