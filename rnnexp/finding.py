"""A finding evaluated on a sweep's results: `Finding`, and the `Check`s behind its verdict.

Each check knows its margin (how far the value is from failing), which
`rnnexp robustness` reads across seeds.
"""

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Check", "Finding"]


@dataclass(frozen=True)
class Check:
    """One asserted comparison of a measured value with its threshold.

    `margin` says how far the value is from failing, in the value's units
    (positive: holds, negative: fails), or in orders of magnitude when
    `log=True` (for ratios that span many decades, such as gradient norms).
    """

    label: str  # what was measured, e.g. "gated accuracy gain at L=500"
    value: float
    op: Literal[">=", "<="]  # holds when value >= or <= threshold
    threshold: float
    log: bool = False

    def __post_init__(self):
        if self.op not in (">=", "<="):
            raise ValueError(f"Check.op must be '>=' or '<=', got {self.op!r}")

    @property
    def margin(self) -> float:
        value, threshold = float(self.value), float(self.threshold)
        if self.log:
            floor = 1e-300  # a value of exactly 0 is "very far below", not an error
            value, threshold = math.log10(max(value, floor)), math.log10(max(threshold, floor))
        if math.isnan(value):
            return -math.inf
        return value - threshold if self.op == ">=" else threshold - value

    @property
    def passed(self) -> bool:
        return self.margin >= 0

    def __str__(self) -> str:
        return f"{self.label} {self.value:.3g} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Finding:
    """The expected result, evaluated: `passed`, a sentence, and its numbers.

    `checks` are the structured comparisons behind `passed` (empty when the
    finding could not be evaluated, e.g. trials missing): their margins say
    how close a run came to failing, across seeds (`rnnexp robustness`).
    """

    passed: bool
    message: str
    numbers: dict = field(default_factory=dict)
    checks: tuple = ()

    @classmethod
    def from_checks(cls, context: str, checks, numbers=None) -> "Finding":
        """Pass when every check holds; the message lists them, or the failed ones.

        Args:
            context: what was measured, e.g. "at L=400: gru=0.80, lstm=0.82".
            checks: a list of `Check`s, or (older form, no margins)
                `{sentence with its numbers and threshold: holds}`.
        """
        if isinstance(checks, dict):
            verdicts = {text: bool(ok) for text, ok in checks.items()}
            structured = ()
        else:
            structured = tuple(checks)
            verdicts = {str(c): c.passed for c in structured}
        failed = [text for text, ok in verdicts.items() if not ok]
        verdict = "; ".join(verdicts) if not failed else "NOT MET: " + "; ".join(failed)
        return cls(not failed, f"{context}; {verdict}", dict(numbers or {}), structured)

    @classmethod
    def require(cls, table, keys=(), what="results") -> "Finding | None":
        """None when `table` holds every one of `keys`; else the failing Finding that says why.

        The guard a `finding()` starts with, its message naming what is missing:

            if missing := Finding.require(acc, [(c, "bi") for c in cfg.sweep.cells]):
                return missing

        Args:
            table: what the finding reads, keyed by arm (e.g. `group_mean`'s dict).
                Empty, it fails as "no finished trials".
            keys: the arms the finding compares; with none, only an empty table fails.
            what: what the keys are, for the message: "missing results: gru, lstm".
        """
        if not table:
            return cls(False, "no finished trials", {})
        missing = [str(k) for k in keys if k not in table]
        return cls(False, f"missing {what}: {', '.join(missing)}", {}) if missing else None

    @property
    def margins(self) -> dict[str, float]:
        """`{check label: margin}`; positive where the check holds."""
        return {c.label: c.margin for c in self.checks}
