"""The reporter interface: how training code records a run without knowing MLflow.

`rnnexp.tracking.mlflow_reporter.MlflowReporter` (one MLflow run) and `NullReporter`
(records nothing) implement it; experiments and `rnnexp.training` receive one as
`ctx.reporter` and call only these methods.
"""

from typing import Protocol, runtime_checkable

__all__ = ["NullReporter", "Reporter"]


@runtime_checkable
class Reporter(Protocol):
    """What a trial (or its parent sweep) can record."""

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Scalars at `step` (e.g. one epoch); non-numbers and NaN are skipped."""

    def log_series(self, series: dict[str, list], start_step: int = 0) -> None:
        """Many steps of several metrics at once: `{name: [v0, v1, ...]}` from `start_step`."""

    def set_tags(self, tags: dict) -> None:
        """String tags (values are converted with `str`)."""

    def log_text(self, text: str, name: str) -> None:
        """A text artifact at the path `name` (e.g. `samples.md`)."""

    def log_figure(self, figure, name: str, dpi: float | None = None) -> None:
        """A matplotlib figure as an image artifact at the path `name` (at `dpi`, else its own)."""


class NullReporter:
    """A reporter that records nothing (dry runs, tests of training code)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None
