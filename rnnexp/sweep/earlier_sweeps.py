"""What the store says of earlier sweeps: trials finished, sweeps left by a dead process, times.

`--resume` keeps the trials a sweep finished; a new sweep first marks KILLED the sweeps a
dead process left RUNNING; the ETA reads the same trials' times in the last sweeps.
"""

from rnnexp import console
from rnnexp.results import TrialResult
from rnnexp.sweep.trial_tags import TRIAL, TRIAL_HASH, recorded_result, trial_hash, trial_key
from rnnexp.tracking import lease

__all__ = ["SAME_SWEEP_TAGS", "end_dead_sweeps", "finished_trials", "last_times"]

# tags on which an earlier sweep counts as the same one (for its trials' times)
SAME_SWEEP_TAGS = ("rnnexp.profile", "rnnexp.overrides", "data.source")


def last_times(tracker, setup, trials, sweeps=5) -> list[float | None]:
    """Each trial's wall time in the newest earlier sweep of the same profile, overrides and data.

    Up to `sweeps` earlier sweeps are read; a trial none of them finished gets None.
    """
    hashes = {trial_hash(t): i for i, t in enumerate(trials)}
    times: list[float | None] = [None] * len(trials)
    here = tracker.run_tags(setup.parent_id)
    earlier = [
        s
        for s in tracker.sweeps()
        if s.run_id != setup.parent_id
        and all(s.tags.get(k) == here.get(k) for k in SAME_SWEEP_TAGS)
    ]
    for sweep in earlier[:sweeps]:
        for child in tracker.trial_runs(sweep.run_id, status="FINISHED"):
            index = hashes.get(child.tags.get(TRIAL_HASH))
            if index is not None and times[index] is None and child.seconds:
                times[index] = child.seconds
        if all(t is not None for t in times):
            break
    return times


def end_dead_sweeps(tracker):
    """Mark KILLED the sweeps (and their trials) left RUNNING by a process that is gone."""
    for sweep in tracker.sweeps():
        why = sweep.status == "RUNNING" and lease.dead_owner(sweep.tags)
        if not why:
            continue
        for child in tracker.trial_runs(sweep.run_id):
            if child.status == "RUNNING":
                tracker.mark_killed(child.run_id, f"its sweep's process died ({why})")
        tracker.mark_killed(sweep.run_id, f"{why}; `--resume {sweep.run_id}` finishes it")
        console.say(f"rnnexp: sweep {sweep.run_id} was left RUNNING ({why}): marked KILLED")


def finished_trials(tracker, parent_id, trials) -> dict[int, TrialResult]:
    """Results of the trials a sweep already finished, by index in `trials`.

    A child is matched by its trial hash (by its parameters for sweeps
    recorded before the hash was); a second FINISHED child of one trial,
    should the store hold one, is not counted twice.
    """
    hashes = [trial_hash(t) for t in trials]
    keys = [trial_key(t) for t in trials]
    done: dict[int, TrialResult] = {}
    for child in tracker.trial_runs(parent_id):
        if child.status == "RUNNING":
            tracker.mark_killed(
                child.run_id, "its process died while it ran (found RUNNING by --resume)"
            )
            continue
        digest, key = child.tags.get(TRIAL_HASH), child.tags.get(TRIAL)
        index = hashes.index(digest) if digest in hashes else None
        if index is None and digest is None and key in keys:
            index = keys.index(key)
        if child.status != "FINISHED" or index is None or index in done:
            continue
        done[index] = recorded_result(tracker, child, trials[index])
    return done
