"""Run one trial of a sweep as a child run: the one code path every executor uses.

The serial loop, the `--workers` processes and the Ray tasks all call
`run_trial` (through a `TrialHost`, which builds the experiment, its config,
its data and the tracker once per process). A trial's failure (NaN loss, bad
shapes) is its result, FAILED with the reason; store failures and a sweep taken
over by `--resume` end the sweep.

Each child run is tagged with its trial (`rnnexp.trial`, the parameters as
JSON) and a short hash of them (`rnnexp.trial_hash`). Before a trial runs, the
sweep is asked for a FINISHED child with that hash: one that exists is
returned as it was recorded, never run and recorded a second time (a retried
Ray task, a worker that outlived its sweep).
"""

import contextlib
import dataclasses
import json
import os
import socket
import traceback

from rnnexp import console
from rnnexp.results import EPOCHS_EXTRA, TrialResult
from rnnexp.config import flatten, to_dict
from rnnexp.stopping import stop_reason
from rnnexp.sweep.trial_tags import (
    TRIAL,
    TRIAL_HASH,
    TRIAL_INDEX,
    WORKER,
    recorded_result,
    trial_hash,
    trial_key,
)
from rnnexp.tracking import lease

__all__ = [
    "DoneCounter",
    "STOP_GRACE_S",
    "SweepSetup",
    "TrialContext",
    "TrialHost",
    "guard",
    "run_trial",
    "set_threads",
]

# The executors' shared pieces (local and ray import these, never each other)
STOP_GRACE_S = 4  # after Ctrl-C, how long a worker may take to mark its trial KILLED


@contextlib.contextmanager
def _stopped_is_interrupted():
    try:
        yield
    except Exception as err:
        if stop_reason() is None:
            raise
        raise KeyboardInterrupt(stop_reason()) from err


@dataclasses.dataclass
class TrialContext:
    """What `Experiment.run_trial` gets besides the config.

    Attributes:
        reporter: where the trial's metrics, tags and artifacts go.
        label: a short name for console lines.
        data: what `Experiment.prepare` returned.
    """

    reporter: object
    label: str
    data: object = None


@dataclasses.dataclass(frozen=True)
class SweepSetup:
    """Everything a process needs to run a sweep's trials; small and picklable.

    A worker process or a Ray task rebuilds the experiment and its config from
    `name`, `profile` and `overrides`, exactly as `--resume` does.
    """

    name: str
    profile: str
    overrides: dict
    uri: str
    parent_id: str
    common_tags: dict
    owner: tuple
    distribute: str = "auto"


class EpochLog:
    """A reporter that also keeps what is logged at each step: `{metric: [v0, v1, ...]}`.

    `rnnexp.training.fit` logs one step per epoch, so these are the trial's learning
    curves (and `epoch_seconds`); everything else passes through to `reporter`.
    """

    def __init__(self, reporter):
        self._reporter, self.curves = reporter, {}

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        self._reporter.log_metrics(metrics, step=step)
        if step is None:
            return
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                curve = self.curves.setdefault(key, [])
                curve.extend([None] * (step + 1 - len(curve)))
                curve[step] = float(value)

    def __getattr__(self, name):
        return getattr(self._reporter, name)


def guard(tracker, parent_id: str, token: tuple):
    """A check that this process still owns sweep `parent_id` (see `rnnexp.tracking.lease`)."""

    def check():
        tags = tracker.run_tags(parent_id)
        if lease.owner_token(tags) != token:
            raise lease.SweepTakenOver(
                f"sweep {parent_id} was taken over by pid {tags.get(lease.PID)} on "
                f"{tags.get(lease.HOST)} (--resume); this process stops and records nothing more"
            )

    return check


@dataclasses.dataclass(frozen=True)
class _Parent:
    run_id: str


def run_trial(
    exp, cfg, trial, index, tracker, parent_id, common_tags, data, distribute="auto", check=None
) -> TrialResult:
    """One trial as a child run of `parent_id`; a failure is its result, not the sweep's end.

    `check()` raises `lease.SweepTakenOver` when another process took the
    sweep: asked before the trial starts and before it is recorded FINISHED,
    so no trial is recorded twice. Store failures end the sweep (every later
    trial would fail the same way).
    """
    import rnnexp.layers.kernels as kernels  # imports the framework: only to train
    from rnnexp.distribute import strategy_scope

    check = check or (lambda: None)
    check()
    digest = trial_hash(trial)
    for child in tracker.trial_runs(parent_id, tags={TRIAL_HASH: digest}, status="FINISHED"):
        console.say(f"    {exp.trial_name(trial)}: already recorded FINISHED ({child.run_id})")
        return recorded_result(tracker, child, trial)
    trial_tags = {
        **common_tags,
        "rnnexp.role": "trial",
        TRIAL: trial_key(trial),
        TRIAL_HASH: digest,
        TRIAL_INDEX: index,
        WORKER: this_process(),  # which process ran it
    }
    from rnnexp.tracking.naming import params_that_apply, trial_run_name

    short = trial_run_name(trial, exp.trials(cfg))
    child = None
    try:
        run = tracker.run(short, parent=_Parent(parent_id), tags=trial_tags)
        with run as child, _stopped_is_interrupted():  # the latter first: KILLED, not FAILED
            card = exp.dataset(cfg, trial, data)
            params = params_that_apply(flatten(cfg), card is not None and card.real)
            child.log_params({**params, **{f"trial.{k}": v for k, v in trial.items()}})
            child.log_dict({"config": to_dict(cfg), "trial": trial}, "config.json")
            if card is not None:
                child.log_dataset(card)
            scope, described = strategy_scope(distribute)
            child.set_tags({"distribute": described})
            kernels.reset()
            with scope:
                epochs = EpochLog(child)
                context = TrialContext(reporter=epochs, label=short, data=data)
                result = exp.run_trial(cfg, trial, context)
            if epochs.curves and EPOCHS_EXTRA not in result.extras:
                result.extras[EPOCHS_EXTRA] = epochs.curves
            child.set_tags({"model.kernel": kernels.ran()})  # what ran, not what was asked
            result.run_id = child.run_id
            check()
            child.log_metrics({f"final.{k}": v for k, v in result.metrics.items()})
            if exp.metric in result.metrics:  # the headline under its own name, for the UI
                child.log_metrics({exp.metric: result.metrics[exp.metric]})
            if result.extras:  # what the summary needs, kept for --resume
                child.log_dict(_jsonable(result.extras), "extras.json")
            return result
    except (KeyboardInterrupt, lease.SweepTakenOver):
        raise
    except Exception as err:  # the sweep survives one failing trial
        fault = tracker.store_fault(err)
        if fault is not None:
            raise fault from None
        if child is not None:  # what ran before the failure
            child.set_tags({"model.kernel": kernels.ran()})
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        console.say(f"    trial FAILED: {reason}")
        if os.environ.get("RNNEXP_DEBUG") == "1":  # the reason is recorded; the stack is noise
            console.say(traceback.format_exc(limit=3))
        # An error may carry what the trial recorded before failing (see
        # `gradients.NonFiniteLoss`): the summary can still plot it.
        extras = getattr(err, "extras", None)
        return TrialResult(trial=trial, status="FAILED", error=reason, extras=dict(extras or {}))


class TrialHost:
    """A process's means to run a sweep's trials: experiment, config, data, tracker.

    `TrialHost.build(setup)` makes them once per process from a `SweepSetup`
    (a worker process, a Ray worker); the serial executor passes its own.
    """

    def __init__(self, exp, cfg, data, tracker, setup: SweepSetup):
        self.exp, self.cfg, self.data, self.tracker, self.setup = exp, cfg, data, tracker, setup
        self.check = guard(tracker, setup.parent_id, setup.owner)

    @classmethod
    def build(cls, setup: SweepSetup) -> "TrialHost":
        from rnnexp import registry
        from rnnexp.tracking.tracker import Tracker

        exp = registry.get(setup.name)
        cfg = exp.resolve(setup.profile, setup.overrides)
        tracker = Tracker(exp.name, setup.uri)
        return cls(exp, cfg, exp.prepare(cfg), tracker, setup)

    def run(self, index: int, trial: dict) -> TrialResult:
        s = self.setup
        return run_trial(
            self.exp,
            self.cfg,
            trial,
            index,
            self.tracker,
            s.parent_id,
            s.common_tags,
            self.data,
            s.distribute,
            self.check,
        )


_HOSTS: dict[str, TrialHost] = {}  # by the setup's JSON


def host_for(setup: SweepSetup) -> TrialHost:
    """The `TrialHost` of `setup` in this process, built on first use (data prepared once)."""
    key = json.dumps(dataclasses.asdict(setup), sort_keys=True, default=str)
    if key not in _HOSTS:
        _HOSTS.clear()  # one sweep per worker process at a time: free the last one's data
        _HOSTS[key] = TrialHost.build(setup)
    return _HOSTS[key]


def this_process() -> str:
    """`host:pid`: the `WORKER` tag of the trials this process runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def end_mine(tracker, parent_id: str, reason: str) -> list[str]:
    """Mark KILLED this process's trials of `parent_id` still RUNNING; their run ids.

    Found by tag, since a stop signal may land before a run's own clean-up is in place.
    """
    mine = tracker.trial_runs(parent_id, tags={WORKER: this_process()}, status="RUNNING")
    for child in mine:
        tracker.mark_killed(child.run_id, reason)
    return [child.run_id for child in mine]


def end_orphans(tracker, parent_id: str, indices: set, reason: str):
    """Mark KILLED the child runs of trials `indices` that a dead process left RUNNING."""
    if not indices:
        return
    for child in tracker.trial_runs(parent_id, status="RUNNING"):
        if int(child.tags.get(TRIAL_INDEX, -1)) in indices:
            tracker.mark_killed(child.run_id, reason)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return value


def set_threads(threads: int, keep_set: bool = False):
    """Give this process's TensorFlow (and OpenMP) `threads` threads; before TF starts.

    With `keep_set`, a count already in the environment (the user's) stays.
    """
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        if not (keep_set and var in os.environ):
            os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class DoneCounter:
    """Prints `[k/n done] trial: STATUS (reason)` as an executor's trials come back."""

    def __init__(self, exp_name: str, total: int):
        from rnnexp import registry

        self.exp, self.total, self.done = registry.get(exp_name), total, 0

    def __call__(self, result: TrialResult):
        self.done += 1
        console.say(
            f"[{self.done}/{self.total} done] {console.trial_label(result.trial)}: "
            + console.trial_result_text(result, self.exp.metric)
        )
