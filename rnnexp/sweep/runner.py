"""Run an experiment: a parent MLflow run, one child run per trial, a summary.

Flow: resolve config -> plan trials -> for each trial a child run (params,
per-epoch metrics, final metrics, config artifact) -> parent summary (results
table as CSV and markdown, the experiment's plots) -> the finding, PASS/FAIL.
A failing trial is marked FAILED with its reason and the sweep goes on.

What the parent run is left with is `sweep_summary`'s; what the store says of
earlier sweeps (to resume one, or time its trials) `earlier_sweeps`'.
"""

import contextlib
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from rnnexp.report import card as finding_card
from rnnexp import console
from rnnexp.eta import EtaModel, duration, trial_cost
from rnnexp.tracking import lease
from rnnexp.catalog import Experiment
from rnnexp.finding import Finding
from rnnexp.results import TrialResult
from rnnexp.config import ConfigError, flatten, to_dict
from rnnexp.training import EPOCHS_RUN_TAG, STOPPED_TAG
from rnnexp.sweep.earlier_sweeps import end_dead_sweeps, finished_trials, last_times
from rnnexp.sweep.sweep_summary import (
    describe_sweep,
    log_answer_figure,
    log_partial_summary,
    results_table,
    write_table,
)
from rnnexp.sweep.trial import SweepSetup, TrialContext, TrialHost, end_mine

__all__ = ["EXECUTORS", "RunOutcome", "TrialContext", "plan", "run_experiment"]

EXECUTORS = ("local", "ray")  # local: this process, or --workers N processes on this machine


@dataclasses.dataclass
class RunOutcome:
    parent_run_id: str | None
    results: list[TrialResult]
    finding: Finding | None
    table: list[dict]
    lost: int = 0  # trials lost with a dead worker process: --resume runs them
    data_source: str | None = None  # what the trials read: "path", "synthetic", "generated", ...


def plan(exp: Experiment, cfg) -> list[dict]:
    return exp.trials(cfg)


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
    wide: bool = False,
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
        distribute: `rnnexp.distribute.strategy_scope` mode for every trial.
        executor: `local` (this process, or `workers` processes) or `ray`
            (each trial a Ray task; `workers` > 1 caps how many run at once).
        address: the Ray cluster to use (`ray start --head` prints it); None
            starts a local Ray for this sweep.
        wide: print every column of the results table (default: what fits 120).
    """
    overrides = dict(overrides or {})
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    trials = plan(exp, cfg)
    data = exp.prepare(cfg)  # bad data is refused before the store is touched
    source = exp.data_source(cfg, data)
    from rnnexp.tracking import naming, ui

    first_card = exp.dataset(cfg, trials[0], data) if trials else None
    data_label = naming.data_label(first_card, source)  # "real IMDB", not the config's `path`
    run_name = naming.sweep_run_name(exp.name, profile, data_label)
    real_data = first_card is not None and first_card.real
    common_tags = {"rnnexp.profile": profile, "data.source": source}
    results: list[TrialResult | None] = [None] * len(trials)
    seed = f", seed {cfg.seed}" if hasattr(cfg, "seed") else ""  # the absolute seed it starts at
    console.say(
        f"rnnexp: {exp.name} (profile {profile}{seed}, {data_label}), {len(trials)} trial(s)"
    )
    console.say(f"rnnexp: tracking to {tracker.uri}")
    owner = lease.owner_tags()
    if resume:
        parent_cm = tracker.reopen(resume, tags=owner, busy=lease.live_owner)
    else:
        end_dead_sweeps(tracker)
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
            done = finished_trials(tracker, resume, trials)
            for index, result in done.items():
                results[index] = result
            console.say(
                f"rnnexp: resuming sweep {resume}: {len(done)} of {len(trials)} trial(s) "
                f"finished, running the other {len(trials) - len(done)}"
            )
        else:
            parent.log_params(naming.params_that_apply(flatten(cfg), real_data))
            tracker.describe(finding_card.experiment_markdown(exp))
            parent.log_dict(to_dict(cfg), "config.json")
            for card in _sweep_datasets(exp, cfg, trials, data):
                parent.log_dataset(card)  # the parent's row in the runs table names its data
        todo = [i for i, r in enumerate(results) if r is None]
        started = time.monotonic()
        try:
            if executor == "ray":
                from rnnexp.sweep.ray import run_on_ray

                run_on_ray(setup, tracker, trials, todo, results, workers, address)
            elif workers > 1 and len(todo) > 1:
                from rnnexp.sweep.local import run_parallel

                run_parallel(setup, tracker, trials, todo, results, workers)
            else:
                _run_serial(exp, cfg, host, tracker, setup, trials, todo, results)
        except KeyboardInterrupt:
            log_partial_summary(exp, cfg, parent, tracker, trials, results)
            raise
        # A sweep taken over while its last trial ran gets one summary: the new owner's.
        host.check()
        rows = results_table(results)
        log_answer_figure(exp, cfg, results, parent)
        with tempfile.TemporaryDirectory(prefix="rnnexp-summary-") as tmp:
            tmp = Path(tmp)
            for path in write_table(rows, tmp):
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
                **({"summary.partial": "no: every trial"} if resume else {}),
            }
        )
        parent.log_metrics({"finding_passed": float(finding.passed)})
        parent.log_metrics({f"finding.{k}": v for k, v in finding.numbers.items()})
        parent.log_text(f"{verdict}: {finding.message}\n", "summary/finding.txt")
        parent.log_table(rows, "summary/results.json")
        describe_sweep(exp, tracker, parent.run_id, run_name, finding, results, failed)
        if lost:  # unfinished, so a plain --resume finds it and runs what was lost
            parent.end_as("FAILED", f"{len(lost)} trial(s) lost with their worker process")

    console.say("")
    console.say(
        finding_card.results_text(rows, list(trials[0]) if trials else [], exp.metric, wide=wide)
    )
    console.say("")
    if failed:
        console.say(
            f"{len(failed)} trial(s) FAILED: "
            + "; ".join(f"{exp.trial_name(r.trial)}: {r.error}" for r in failed)
        )
    for line in finding_card.console_lines(exp, finding):
        console.say(line)
    console.say(f"finding: {verdict} (the whole message: the parent's summary/finding.txt)")
    console.say(f"done in {duration(time.monotonic() - started)}; parent run {parent.run_id}")
    children = [r.run_id for r in results if r.run_id]
    for line in ui.browse_lines(tracker, parent.run_id, children):
        console.say(line)
    return RunOutcome(parent.run_id, results, finding, rows, lost=len(lost), data_source=source)


def _run_serial(exp, cfg, host, tracker, setup, trials, todo, results):
    """Run `todo` in this process: a line per finished trial, an ETA, a bar in a terminal."""
    costs = [trial_cost(cfg, t) for t in trials]
    basis = costs[0][1] if costs else ""
    epochs = getattr(getattr(cfg, "train", None), "epochs", None) if "epochs" in basis else None
    last = last_times(tracker, setup, trials)
    eta = EtaModel([c for c, _ in costs], basis, last, epochs)
    names = [console.trial_label(t) for t in trials]
    with console.SweepProgress(todo, names, eta, metric=exp.metric) as progress:
        for index in todo:
            progress.begin(index)
            try:
                results[index] = result = host.run(index, trials[index])
            except KeyboardInterrupt as err:  # its run may be created but not yet guarded
                from rnnexp.tracking.tracker import interrupted_reason

                with contextlib.suppress(Exception):
                    end_mine(tracker, setup.parent_id, interrupted_reason(err))
                raise
            tags = tracker.run_tags(result.run_id) if result.run_id else {}
            run = tags.get(EPOCHS_RUN_TAG)
            progress.finish(index, result, tags.get(STOPPED_TAG), epochs_run=run and int(run))


@contextlib.contextmanager
def _store_faults_stop_the_sweep(tracker, parent_cm, name: str):
    """A store fault once the sweep has begun: it ends FAILED, and the error says how to finish it.

    (A fault before its parent run exists is the store refused: `StoreError`, as it was.)
    """
    from rnnexp.tracking.store import SweepStoreError

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
