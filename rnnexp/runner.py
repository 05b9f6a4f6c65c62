"""Run an experiment: a parent MLflow run, one child run per trial, a summary.

Flow: resolve config -> plan trials -> for each trial a child run (params,
per-epoch metrics, final metrics, config artifact) -> parent summary (results
table as CSV and markdown, the experiment's plots) -> the finding, PASS/FAIL.
A failing trial is marked FAILED with its reason and the sweep goes on.
"""

import contextlib
import csv
import dataclasses
import io
import json
import tempfile
import time
from pathlib import Path

from rnnexp import console, lease
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.config import ConfigError, flatten, to_dict
from rnnexp.trial import (
    TRIAL,
    TRIAL_HASH,
    SweepSetup,
    TrialContext,
    TrialHost,
    recorded_result,
    trial_hash,
    trial_key,
)

__all__ = ["EXECUTORS", "RunOutcome", "TrialContext", "plan", "run_experiment"]

EXECUTORS = ("local", "ray")  # local: this process, or --workers N processes on this machine


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
    executor: str = "local",
    address: str | None = None,
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
        executor: `local` (this process, or `workers` processes) or `ray`
            (each trial a Ray task; `workers` > 1 caps how many run at once).
        address: the Ray cluster to use (`ray start --head` prints it); None
            starts a local Ray for this sweep.
    """
    overrides = dict(overrides or {})
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
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
    with (
        _store_faults_stop_the_sweep(tracker, parent_cm, exp.name) as parent,
        lease.Heartbeat(lambda: parent.set_tags(_beat())),
    ):
        setup = SweepSetup(
            exp.name,
            profile,
            overrides,
            tracker.uri,
            parent.run_id,
            common_tags,
            lease.owner_token(owner),
            distribute,
        )
        host = TrialHost(exp, cfg, data, tracker, setup)
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
            for card in _sweep_datasets(exp, cfg, trials, data):
                parent.log_dataset(card)  # the parent's row in the runs table names its data
        todo = [i for i, r in enumerate(results) if r is None]
        progress = console.Progress(len(todo))
        if executor == "ray":
            from rnnexp.ray_executor import run_on_ray

            run_on_ray(setup, tracker, trials, todo, results, workers, address)
        elif workers > 1 and len(todo) > 1:
            from rnnexp.parallel import run_parallel

            run_parallel(setup, tracker, trials, todo, results, workers)
        else:
            for k, index in enumerate(todo):
                progress.begin(k, exp.trial_name(trials[index]))
                results[index] = host.run(index, trials[index])
                progress.end()
        # A sweep taken over while its last trial ran gets one summary: the new owner's.
        host.check()
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


@contextlib.contextmanager
def _store_faults_stop_the_sweep(tracker, parent_cm, name: str):
    """A store fault once the sweep has begun: it ends FAILED, and the error says how to finish it.

    (A fault before its parent run exists is the store refused: `StoreError`, as it was.)
    """
    from rnnexp.tracking import SweepStoreError

    parent = None
    try:
        with parent_cm as parent:  # ends it FAILED with the store's own words
            yield parent
    except Exception as err:
        fault = tracker.store_fault(err) if parent is not None else None
        if fault is None:
            raise
        raise SweepStoreError(
            f"{fault} (the sweep stopped; then `python -m rnnexp run {name} --resume "
            f"{parent.run_id}` finishes it)"
        ) from None


def _sweep_datasets(exp, cfg, trials, data, most=10) -> list:
    """The distinct data sets of a sweep's trials (by name and digest), at most `most`."""
    cards = {}
    for trial in trials:
        card = exp.dataset(cfg, trial, data)
        if card is not None:
            cards.setdefault((card.name, card.digest), card)
    return list(cards.values())[:most]


def _beat() -> dict:
    return {lease.HEARTBEAT: f"{time.time():.0f}"}


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


def tracker_ui_hint(tracker) -> str:
    from rnnexp.tracking import ui_command

    return f"{ui_command(tracker.uri)}  (experiment {tracker.experiment_name!r})"
