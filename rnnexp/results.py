"""What the trials of a sweep produced, and their metrics grouped by arm.

A trial returns a `TrialResult`; a finding, a summary and a robustness record
read a list of them. Nothing here imports a framework.
"""

from dataclasses import dataclass, field

__all__ = ["EPOCHS_EXTRA", "TrialResult", "group_mean", "group_metric"]


EPOCHS_EXTRA = "epochs"  # the extras key of a trial's per-epoch curves


@dataclass
class TrialResult:
    """What one trial of a sweep produced.

    `metrics` are final scalars (they become the results table); `extras` hold
    anything else the summary needs (curves, gradient norms), unlogged.
    """

    trial: dict
    status: str = "FINISHED"  # or FAILED
    metrics: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    error: str | None = None
    run_id: str | None = None


def group_metric(results, key: str, by: tuple[str, ...]) -> dict[tuple, list]:
    """`{(trial[by[0]], ...): [metric over finished trials]}`, e.g. seeds of a cell."""
    out: dict[tuple, list] = {}
    for r in results:
        if r.status == "FINISHED":
            out.setdefault(tuple(r.trial[b] for b in by), []).append(r.metrics[key])
    return out


def group_mean(results, key: str, *by: str) -> dict:
    """Mean of metric `key` over the finished trials of each group (e.g. the seeds of a cell).

    Keys are the value of `by[0]` when grouping by one field, else tuples:
    `group_mean(results, "bleu4", "cell")` -> `{"gru": 91.2, ...}`.
    """
    import numpy as np

    groups = group_metric(results, key, tuple(by))
    return {(k[0] if len(by) == 1 else k): float(np.mean(v)) for k, v in groups.items()}
