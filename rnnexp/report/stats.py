"""Seed statistics for findings: a mean and its confidence interval."""

import dataclasses
import math

import numpy as np

__all__ = ["Interval", "mean_interval", "paired_interval"]


@dataclasses.dataclass(frozen=True)
class Interval:
    """`mean` of `n` values and the half-width of its `level` confidence interval.

    `half` is inf for a single value: one seed says nothing about the spread.
    """

    mean: float
    half: float
    n: int
    level: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def __str__(self) -> str:
        if self.n < 2:
            return f"{self.mean:.3f} (1 seed)"
        return f"{self.mean:.3f} ± {self.half:.3f}"


def mean_interval(values, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of `values` (seeds are few: t, not normal)."""
    from scipy import stats

    values = np.asarray([float(v) for v in values], dtype="float64")
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, 0, level)
    mean = float(values.mean())
    if n < 2:
        return Interval(mean, math.inf, 1, level)
    sem = float(values.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, float(stats.t.ppf(0.5 + level / 2, n - 1)) * sem, n, level)


def paired_interval(a, b, level: float = 0.90) -> Interval:
    """Interval of the mean of `a - b` over seeds paired by position (same seed, two arms).

    A comparison across seeds is asserted on this interval's lower end (`low > 0`: `a`
    beats `b`), whose chance of failing at an unseen seed follows from the t distribution;
    a two-sided 90% interval is a one-sided 95% bound at each end.
    """
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    if len(a) != len(b):
        raise ValueError(
            f"paired_interval needs one value per seed in each arm, got {len(a)} and {len(b)}"
        )
    return mean_interval([x - y for x, y in zip(a, b)], level)
