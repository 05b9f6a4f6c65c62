"""Which store a tracking URI names: the project's default, the one asked for, a sqlite file."""

import os
from pathlib import Path

__all__ = ["DEFAULT_TRACKING_URI", "resolve_tracking_uri", "sqlite_path"]

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """`--tracking-uri`, else `$MLFLOW_TRACKING_URI`, else the project store."""
    if uri is not None:  # an empty --tracking-uri is refused, not read as "the default"
        return uri
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI; None for any other store."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None
