"""Run an experiment: a parent MLflow run, one child run per trial, a summary.

Flow: resolve config -> plan trials -> for each trial a child run (params,
per-epoch metrics, final metrics, config artifact) -> parent summary (results
table as CSV and markdown, the experiment's plots) -> the finding, PASS/FAIL.
A failing trial is marked FAILED with its reason and the sweep goes on.
"""

import csv
import dataclasses
import io
import json
import os
import tempfile
import time
import traceback
from pathlib import Path

from rnnexp import console, lease
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.config import flatten, to_dict
from rnnexp.parallel import run_parallel
from rnnexp.training import strategy_scope

__all__ = ["RunOutcome", "TrialContext", "plan", "run_experiment"]


@dataclasses.dataclass
class TrialContext:
    """What `Experiment.run_trial` gets besides the config.

    Attributes:
        reporter: where the trial's metrics, tags and artifacts go.
        label: a short name for console lines.
    """

    reporter: object
    label: str
    data: object = None


@dataclasses.dataclass
class RunOutcome:
    parent_run_id: str | None
    results: list[TrialResult]
    finding: Finding | None
    table: list[dict]
    lost: int = 0  # trials lost with a dead worker process: --resume runs them


def plan(exp: Experiment, cfg) -> list[dict]:
    return exp.trials(cfg)


def results_table(results: list[TrialResult]) -> list[dict]:
    rows = []
    for r in results:
        row = {**r.trial, "status": r.status}
        row.update(r.metrics)
        if r.error:
            row["error"] = r.error
        rows.append(row)
    return rows


def _write_table(rows, directory: Path) -> list[Path]:
    csv_path, md_path = directory / "results.csv", directory / "results.md"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    csv_path.write_text(buf.getvalue())
    md_path.write_text(console.format_table(rows, columns, markdown=True) + "\n")
    return [csv_path, md_path]


def run_experiment(
    exp: Experiment,
    cfg,
    *,
    profile: str,
    tracker,
    overrides: dict | None = None,
    workers: int = 1,
    resume: str | None = None,
    distribute: str = "auto",
) -> RunOutcome:
    """Run every trial of `exp` under `cfg`, tracked by `tracker`.

    Args:
        overrides: the dotted overrides that made `cfg` (recorded on the
            parent run so `--resume` and worker processes rebuild it).
        workers: trials run in this many processes at once (1 = in this one).
        resume: a parent run id: finish that sweep instead of starting one.
            Trials it finished are kept, the others run again; children its
            dead process left RUNNING are marked KILLED. A sweep whose
            process is alive is refused (`lease.SweepBusy`).
        distribute: `rnnexp.training.strategy_scope` mode for every trial.
    """
    overrides = dict(overrides or {})
    trials = plan(exp, cfg)
    data = exp.prepare(cfg)  # bad data is refused before the store is touched
    source = exp.data_source(cfg, data)
    run_name = f"{exp.name}-{profile}-{source}"
    common_tags = {"rnnexp.profile": profile, "data.source": source}
    results: list[TrialResult | None] = [None] * len(trials)
    seed = f", seed {cfg.seed}" if hasattr(cfg, "seed") else ""  # the absolute seed it starts at
    console.say(
        f"rnnexp: {exp.name} (profile {profile}{seed}, data {source}), {len(trials)} trial(s)"
    )
    console.say(f"rnnexp: tracking to {tracker.uri}")
    owner = lease.owner_tags()
    if resume:
        parent_cm = tracker.reopen(resume, tags=owner, busy=lease.live_owner)
    else:
        _end_dead_sweeps(tracker)
        sweep_tags = {
            **common_tags,
            **owner,
            "rnnexp.role": "sweep",
            "rnnexp.overrides": json.dumps(overrides, default=list),
            "rnnexp.trials": len(trials),
        }
        parent_cm = tracker.run(run_name, tags=sweep_tags)
    with parent_cm as parent, lease.Heartbeat(lambda: parent.set_tags(_beat())):
        guard = _guard(tracker, parent.run_id, lease.owner_token(owner))
        if resume:
            done = _finished_trials(tracker, resume, trials)
            for index, result in done.items():
                results[index] = result
            console.say(
                f"rnnexp: resuming sweep {resume}: {len(done)} of {len(trials)} trial(s) "
                f"finished, running the other {len(trials) - len(done)}"
            )
        else:
            parent.log_params(flatten(cfg))
            parent.log_dict(to_dict(cfg), "config.json")
        todo = [i for i, r in enumerate(results) if r is None]
        progress = console.Progress(len(todo))
        if workers > 1 and len(todo) > 1:
            run_parallel(
                exp,
                profile,
                overrides,
                tracker,
                parent,
                common_tags,
                trials,
                todo,
                results,
                workers,
                distribute,
                lease.owner_token(owner),
            )
        else:
            for k, index in enumerate(todo):
                name = exp.trial_name(trials[index])
                progress.begin(k, name)
                results[index] = _run_trial(
                    exp,
                    cfg,
                    trials[index],
                    index,
                    name,
                    tracker,
                    parent,
                    common_tags,
                    data,
                    distribute,
                    guard,
                )
                progress.end()
        guard()  # a sweep taken over while its last trial ran gets one summary: the new owner's
        rows = results_table(results)
        with tempfile.TemporaryDirectory(prefix="rnnexp-summary-") as tmp:
            tmp = Path(tmp)
            for path in _write_table(rows, tmp):
                parent.log_artifact(path, "summary")
            for path in exp.summarize(cfg, results, tmp):
                parent.log_artifact(path, "summary")
        finding = exp.finding(cfg, results)
        failed = [r for r in results if r.status != "FINISHED"]
        lost = [r for r in results if r.status == "KILLED"]
        verdict = "PASS" if finding.passed else "FAIL"
        parent.set_tags(
            {
                "finding": verdict,
                "finding.message": finding.message[:4000],
                "trials.failed": len(failed),
                "trials.failed_names": "; ".join(exp.trial_name(r.trial) for r in failed)[:4000],
            }
        )
        parent.log_metrics({"finding_passed": float(finding.passed)})
        parent.log_metrics({f"finding.{k}": v for k, v in finding.numbers.items()})
        parent.log_text(f"{verdict}: {finding.message}\n", "summary/finding.txt")
        if lost:  # unfinished, so a plain --resume finds it and runs what was lost
            parent.end_as("FAILED", f"{len(lost)} trial(s) lost with their worker process")

    console.say("")
    console.say(console.format_table(rows))
    console.say("")
    if failed:
        console.say(
            f"{len(failed)} trial(s) FAILED: "
            + "; ".join(f"{exp.trial_name(r.trial)}: {r.error}" for r in failed)
        )
    console.say(f"finding: {verdict} - {finding.message}")
    console.say(f"done in {progress.elapsed()}; parent run {parent.run_id}")
    console.say(f"browse: {tracker_ui_hint(tracker)}")
    return RunOutcome(parent.run_id, results, finding, rows, lost=len(lost))


def _beat() -> dict:
    return {lease.HEARTBEAT: f"{time.time():.0f}"}


def _guard(tracker, parent_id: str, token: tuple):
    """A check that this process still owns sweep `parent_id` (see `rnnexp.lease`)."""

    def check():
        tags = tracker.run_tags(parent_id)
        if lease.owner_token(tags) != token:
            raise lease.SweepTakenOver(
                f"sweep {parent_id} was taken over by pid {tags.get(lease.PID)} on "
                f"{tags.get(lease.HOST)} (--resume); this process stops and records nothing more"
            )

    return check


def _end_dead_sweeps(tracker):
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


def _finished_trials(tracker, parent_id, trials) -> dict[int, TrialResult]:
    """Results of the trials a sweep already finished, by index in `trials`."""
    keys = [_trial_key(t) for t in trials]
    done: dict[int, TrialResult] = {}
    for child in tracker.trial_runs(parent_id):
        key = child.tags.get("rnnexp.trial")
        if child.status == "RUNNING":
            tracker.mark_killed(
                child.run_id, "its process died while it ran (found RUNNING by --resume)"
            )
            continue
        if child.status != "FINISHED" or key not in keys or keys.index(key) in done:
            continue
        index = keys.index(key)
        extras = tracker.load_dict(child.run_id, "extras.json") or {}
        metrics = {
            k[len("final.") :]: v for k, v in child.metrics.items() if k.startswith("final.")
        }
        done[index] = TrialResult(trials[index], "FINISHED", metrics, extras, run_id=child.run_id)
    return done


def _trial_key(trial: dict) -> str:
    return json.dumps(trial, sort_keys=True, default=str)


def tracker_ui_hint(tracker) -> str:
    from rnnexp.tracking import ui_command

    return f"{ui_command(tracker.uri)}  (experiment {tracker.experiment_name!r})"


def _run_trial(
    exp, cfg, trial, index, name, tracker, parent, common_tags, data, distribute="auto", guard=None
) -> TrialResult:
    """One trial as a child run of `parent`; a failure is its result, not the sweep's end.

    `guard()` raises `lease.SweepTakenOver` when another process took the
    sweep: asked before the trial starts and before it is recorded FINISHED,
    so no trial is recorded twice. Store failures end the sweep (every later
    trial would fail the same way).
    """
    from rnnexp.layers import kernels

    guard = guard or (lambda: None)
    guard()
    trial_tags = {
        **common_tags,
        "rnnexp.role": "trial",
        "rnnexp.trial": _trial_key(trial),
        "rnnexp.trial_index": index,
    }
    child = None
    try:
        with tracker.run(name, parent=parent, tags=trial_tags) as child:
            child.log_params({**flatten(cfg), **{f"trial.{k}": v for k, v in trial.items()}})
            child.log_dict({"config": to_dict(cfg), "trial": trial}, "config.json")
            scope, described = strategy_scope(distribute)
            child.set_tags({"distribute": described})
            kernels.reset()
            with scope:
                context = TrialContext(reporter=child, label=name, data=data)
                result = exp.run_trial(cfg, trial, context)
            child.set_tags({"model.kernel": kernels.ran()})  # what ran, not what was asked
            result.run_id = child.run_id
            guard()
            child.log_metrics({f"final.{k}": v for k, v in result.metrics.items()})
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
        # `training.NonFiniteLoss`): the summary can still plot it.
        extras = getattr(err, "extras", None)
        return TrialResult(trial=trial, status="FAILED", error=reason, extras=dict(extras or {}))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return value
