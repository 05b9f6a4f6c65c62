"""How a trial's child run is known in the store: its tags, and reading a finished one back.

A child run carries its trial's parameters (`rnnexp.trial`, canonical JSON) and
a short hash of them (`rnnexp.trial_hash`); `--resume` and the ETA read them to
match the runs of an earlier sweep with the trials of this one.
"""

import hashlib
import json

from rnnexp.results import TrialResult

__all__ = [
    "TRIAL",
    "TRIAL_HASH",
    "TRIAL_INDEX",
    "WORKER",
    "recorded_result",
    "trial_hash",
    "trial_key",
]

TRIAL, TRIAL_HASH, TRIAL_INDEX = "rnnexp.trial", "rnnexp.trial_hash", "rnnexp.trial_index"
WORKER = "rnnexp.worker"


def trial_key(trial: dict) -> str:
    """The trial's parameters as canonical JSON (the `rnnexp.trial` tag)."""
    return json.dumps(trial, sort_keys=True, default=str)


def trial_hash(trial: dict) -> str:
    """A short, stable hash of the trial's parameters (the `rnnexp.trial_hash` tag)."""
    return hashlib.sha256(trial_key(trial).encode()).hexdigest()[:16]


def recorded_result(tracker, child, trial: dict) -> TrialResult:
    """The result a FINISHED child run recorded (final metrics, extras)."""
    extras = tracker.load_dict(child.run_id, "extras.json") or {}
    metrics = {k[len("final.") :]: v for k, v in child.metrics.items() if k.startswith("final.")}
    return TrialResult(trial, "FINISHED", metrics, extras, run_id=child.run_id)
