"""The chance that a check fails by chance, from the margins or per-seed values measured.

The model is stated in `rnnexp.report.false_alarm`'s docstring: two modes split at a wide
gap (`split_modes`), Jeffreys odds of the low mode, a Student-t predictive within each
(`fresh_failure`); a median check by beta-binomial (`median_check_failure`); a check on an
interval over seeds by the non-central t or simulated sweeps (`interval_check_failure`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = [
    "Estimate",
    "fresh_failure",
    "interval_check_failure",
    "median_check_failure",
    "split_modes",
]

GAP_RATIO = 4.0  # a gap this many pooled within-mode standard deviations can split modes


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The chance `p` that a fresh outcome fails, from `n` outcomes, `low` of them in a low mode."""

    p: float
    n: int
    low: int = 0
    method: str = "t predictive"
    unit: str = "outcomes"  # what `n` counts: ci runs' outcomes, or seeds

    def __str__(self) -> str:
        if self.n < 2:
            return f"unknown ({self.n} outcome)"
        modes = f", {self.low} of {self.n} in a low mode" if self.low else ""
        return f"{percent(self.p)} ({self.method}, {self.n} {self.unit}{modes})"


def percent(p: float) -> str:
    if p < 1e-6:
        return "< 0.0001%"
    return f"{100 * p:.2g}%"


def split_modes(values, gap_ratio: float = GAP_RATIO) -> tuple[np.ndarray, np.ndarray]:
    """`(low, high)`: the values below and above the widest gap, if it separates two modes.

    The gap separates modes when it is wider than `gap_ratio` pooled within-mode
    standard deviations and at least half the median |value|: a run that did not
    take off loses much of its margin, while a few seeds of quantised accuracies
    leave gaps that are wide only next to a tiny spread. Otherwise `low` is empty.
    """
    x = np.sort(np.asarray(values, dtype="float64"))
    if len(x) < 3:
        return x[:0], x
    gaps = np.diff(x)
    cut = int(np.argmax(gaps)) + 1
    low, high = x[:cut], x[cut:]
    squares = sum(float(((m - m.mean()) ** 2).sum()) for m in (low, high))
    dof = len(x) - 2
    pooled = math.sqrt(squares / dof) if dof > 0 else 0.0
    gap = float(gaps[cut - 1])
    if gap > gap_ratio * pooled and gap >= 0.5 * float(np.median(np.abs(x))):
        return low, high
    return x[:0], x


def _predictive_below(mode: np.ndarray, at: float, borrowed_scale: float | None = None) -> float:
    """P(a fresh value from `mode`'s t predictive is below `at`)."""
    from scipy import stats

    n = len(mode)
    if n >= 2 and mode.std(ddof=1) > 0:
        scale = float(mode.std(ddof=1)) * math.sqrt(1 + 1 / n)
        return float(stats.t.cdf(at, n - 1, loc=float(mode.mean()), scale=scale))
    if borrowed_scale:
        return float(stats.norm.cdf(at, loc=float(mode.mean()), scale=borrowed_scale))
    return float(np.mean(mode < at))


def fresh_failure(margins) -> Estimate:
    """The chance that a fresh outcome's margin is negative (see the module's model)."""
    m = np.asarray([v for v in margins if v is not None and np.isfinite(v)], dtype="float64")
    n = len(m)
    if n < 2:
        return Estimate(math.nan, n)
    low, high = split_modes(m)
    if not len(low):
        return Estimate(_predictive_below(m, 0.0), n)
    q = (len(low) + 0.5) / (n + 1)  # Jeffreys posterior mean of the low mode's rate
    scale = lambda x: float(x.std(ddof=1)) * math.sqrt(1 + 1 / len(x)) if len(x) > 1 else None  # noqa: E731
    p = q * _predictive_below(low, 0.0, scale(high)) + (1 - q) * _predictive_below(
        high, 0.0, scale(low)
    )
    return Estimate(p, n, len(low), "two modes: Jeffreys rate x t predictive")


def _t_crit(level: float, n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, n - 1))


def interval_check_failure(
    values,
    n_seeds: int,
    level: float,
    threshold: float = 0.0,
    end: str = "low",
    draws: int = 20000,
    seed: int = 0,
) -> float:
    """P(a fresh `n_seeds`-seed interval of the mean fails its check).

    The check holds when the interval's `end` ("low": `low >= threshold`;
    "high": `high <= threshold`) of `mean_interval(fresh, level)` is on the
    right side; `values` are per-seed values (paired differences for
    `paired_interval`) measured before. `level=0` checks the mean itself.
    """
    from scipy import stats

    x = np.asarray(values, dtype="float64")
    if end == "high":  # mirror: high <= t  <=>  low of -x >= -t
        x, threshold = -x, -threshold
    elif end != "low":
        raise ValueError(f"end must be 'low' or 'high', got {end!r}")
    n0 = len(x)
    if n0 < 2 or n_seeds < 2:
        raise ValueError("interval_check_failure needs >= 2 measured values and >= 2 seeds a run")
    c = _t_crit(level, n_seeds) if level > 0 else 0.0
    rng = np.random.default_rng(seed)
    low, high = split_modes(x)
    if not len(low):
        # Posterior of (mu, sigma) under the reference prior, then the exact
        # non-central t: the fresh t statistic (mean - threshold)/(s/sqrt(n)) < c.
        s = float(x.std(ddof=1))
        sigma = s * np.sqrt((n0 - 1) / rng.chisquare(n0 - 1, draws))
        mu = float(x.mean()) + sigma / math.sqrt(n0) * rng.standard_normal(draws)
        nc = (mu - threshold) * math.sqrt(n_seeds) / sigma
        p = stats.nct.cdf(c, n_seeds - 1, nc)
        # scipy's nct.cdf turns NaN far out in a tail, where it is 0 (or 1) to double precision
        return float(np.mean(np.where(np.isnan(p), (nc < c).astype("float64"), p)))
    # Two modes: simulate sweeps, each seed in the low mode at a rate drawn from
    # its Jeffreys posterior, each mode's (mu, sigma) drawn from its posterior.
    q = rng.beta(len(low) + 0.5, n0 - len(low) + 0.5, draws)

    def draw(mode, other):
        s = float(mode.std(ddof=1)) if len(mode) > 1 else float(other.std(ddof=1))
        k = max(len(mode), 2)
        sigma = s * np.sqrt((k - 1) / rng.chisquare(k - 1, draws))
        mu = float(mode.mean()) + sigma / math.sqrt(len(mode)) * rng.standard_normal(draws)
        return mu[:, None] + sigma[:, None] * rng.standard_normal((draws, n_seeds))

    in_low = rng.random((draws, n_seeds)) < q[:, None]
    sample = np.where(in_low, draw(low, high), draw(high, low))
    mean = sample.mean(axis=1)
    half = c * sample.std(axis=1, ddof=1) / math.sqrt(n_seeds)
    return float(np.mean(mean - half < threshold))


def median_check_failure(values, n_seeds: int, threshold: float, end: str = "low") -> float:
    """P(the median over a fresh sweep's `n_seeds` seeds fails its check), from per-seed values.

    A median falls on the wrong side of the threshold when about half the seeds
    do (for an odd count exactly (n + 1) / 2; for an even one n / 2 is taken,
    erring towards a failure): so only each seed's side counts, not how far it
    lies, which suits the skewed, two-mode values a median is chosen for. The
    rate of seeds on the wrong side has the Jeffreys posterior Beta(k + 1/2,
    n - k + 1/2) from k of n measured, and the count in a sweep is then
    beta-binomial.
    """
    from scipy import stats

    x = np.asarray(values, dtype="float64")
    if end not in ("low", "high"):
        raise ValueError(f"end must be 'low' or 'high', got {end!r}")
    wrong = int(np.sum(x < threshold if end == "low" else x > threshold))
    need = (n_seeds + 1) // 2
    return float(stats.betabinom.sf(need - 1, n_seeds, wrong + 0.5, len(x) - wrong + 0.5))
