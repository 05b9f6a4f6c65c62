"""The reporter of one MLflow run: a trial's metrics, tags and artifacts, as MLflow keeps them."""

import contextlib
import json
import math
import os
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

__all__ = [
    "MlflowReporter",
]


MAX_PARAM_LENGTH = 6000


class MlflowReporter:
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

    def log_figure(self, figure, name: str, dpi: float | None = None):
        self.client.log_figure(self.run_id, figure, name, save_kwargs={"dpi": dpi} if dpi else None)

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


def _dataset_source(source: str) -> tuple[str, dict]:
    """MLflow's (source type, source) for a card's source: a URL, a local path, or code."""
    if source.startswith(("http://", "https://")):
        return "http", {"url": source}
    if os.path.exists(source):
        return "local", {"uri": str(Path(source).resolve())}
    return "code", {"tags": {"rnnexp.source": source}}


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
