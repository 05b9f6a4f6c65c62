"""Synthetic trial results an experiment's finding is tested with, beside the finding.

Each shipped experiment returns `FindingCases` from `finding_cases()`: results
that must PASS, results that must FAIL, and results whose every check sits
exactly on its threshold. `tests/test_findings.py` runs them for the whole
catalog, and moves each numeric threshold of `cfg.finding` a hair either way
around the at-margin results: one way must fail by a hair, the other pass.
Nothing here trains; each builder reads only the config it is given.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from rnnexp.results import TrialResult

Build = Callable[[object], list[TrialResult]]


@dataclass(frozen=True)
class FindingCases:
    """Builders `cfg -> [TrialResult]` for the `ci` config (after `adapt`).

    passing / failing: results the finding must accept / reject.
    at_margin: builders whose every check lands on its threshold (margin 0);
        together they must put every numeric threshold of `cfg.finding` there.
    adapt: `cfg -> cfg`, e.g. binary-exact thresholds, so a difference of two
        values lands exactly on one (0.0625, not 0.06).
    """

    passing: Build
    failing: Build
    at_margin: tuple[Build, ...]
    adapt: Callable[[object], object] = field(default=lambda cfg: cfg)


def finished(metrics: dict, **trial) -> TrialResult:
    """A FINISHED trial with `metrics`; `seed` 0 unless given."""
    return TrialResult({**trial, "seed": trial.get("seed", 0)}, metrics=metrics)


def seeds_with_low_end(level: float, low: float, spread: float = 0.01) -> list[float]:
    """Three per-seed values whose `level` Student-t interval starts exactly at `low`."""
    from scipy import stats

    mean = low + stats.t.ppf(0.5 + level / 2, 2) * spread / 3**0.5  # their sd is `spread`
    return [mean - spread, mean, mean + spread]


def grid_results(per_seed: list[dict], keys: tuple[str, ...], metric: str, **extras):
    """FINISHED trials, one `{point: value of metric}` per seed 0, 1, ...; a point is the
    trial's values of `keys`, in order, and every trial carries `extras`."""
    return [
        TrialResult(
            {**dict(zip(keys, point)), "seed": seed}, metrics={metric: value}, extras=dict(extras)
        )
        for seed, values in enumerate(per_seed)
        for point, value in values.items()
    ]


def with_thresholds(**values) -> Callable[[object], object]:
    """An `adapt` setting `cfg.finding`'s `values`, e.g. a binary-exact threshold (0.0625)."""

    def adapt(cfg):
        return dataclasses.replace(cfg, finding=dataclasses.replace(cfg.finding, **values))

    return adapt
