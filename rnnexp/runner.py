"""Run an experiment: a parent MLflow run, one child run per trial, a summary.

Flow: resolve config -> plan trials -> for each trial a child run (params,
per-epoch metrics, final metrics, config artifact) -> parent summary (results
table as CSV and markdown, the experiment's plots) -> the finding, PASS/FAIL.
A failing trial is marked FAILED with its reason and the sweep goes on.
"""

import csv
import dataclasses
import io
import tempfile
import traceback
from pathlib import Path

from rnnexp import console
from rnnexp.catalog import Experiment, Finding, TrialResult
from rnnexp.config import flatten, to_dict

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


def run_experiment(exp: Experiment, cfg, *, profile: str, tracker, check=False) -> RunOutcome:
    """Run every trial of `exp` under `cfg`, tracked by `tracker`."""
    trials = plan(exp, cfg)
    data = exp.prepare(cfg)
    source = exp.data_source(cfg, data)
    run_name = f"{exp.name}-{profile}-{source}"
    common_tags = {"rnnexp.profile": profile, "data.source": source}
    progress = console.Progress(len(trials))
    results: list[TrialResult] = []
    console.say(f"rnnexp: {exp.name} (profile {profile}, data {source}), {len(trials)} trial(s)")
    console.say(f"rnnexp: tracking to {tracker.uri}")
    with tracker.run(run_name, tags={**common_tags, "rnnexp.role": "sweep"}) as parent:
        parent.log_params(flatten(cfg))
        parent.log_dict(to_dict(cfg), "config.json")
        for index, trial in enumerate(trials):
            name = exp.trial_name(trial)
            progress.begin(index, name)
            result = _run_trial(exp, cfg, trial, name, tracker, parent, common_tags, data)
            results.append(result)
            progress.end()
        rows = results_table(results)
        with tempfile.TemporaryDirectory(prefix="rnnexp-summary-") as tmp:
            tmp = Path(tmp)
            for path in _write_table(rows, tmp):
                parent.log_artifact(path, "summary")
            for path in exp.summarize(cfg, results, tmp):
                parent.log_artifact(path, "summary")
        finding = exp.finding(cfg, results)
        failed = [r for r in results if r.status != "FINISHED"]
        verdict = "PASS" if finding.passed else "FAIL"
        parent.set_tags(
            {
                "finding": verdict,
                "finding.message": finding.message[:4000],
                "trials.failed": len(failed),
            }
        )
        parent.log_metrics({"finding_passed": float(finding.passed)})
        parent.log_metrics({f"finding.{k}": v for k, v in finding.numbers.items()})
        parent.log_text(f"{verdict}: {finding.message}\n", "summary/finding.txt")

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
    return RunOutcome(parent.run_id, results, finding, rows)


def tracker_ui_hint(tracker) -> str:
    from rnnexp.tracking import ui_command

    return f"{ui_command(tracker.uri)}  (experiment {tracker.experiment_name!r})"


def _run_trial(exp, cfg, trial, name, tracker, parent, common_tags, data) -> TrialResult:
    trial_tags = {**common_tags, "rnnexp.role": "trial"}
    try:
        with tracker.run(name, parent=parent, tags=trial_tags) as child:
            child.log_params({**flatten(cfg), **{f"trial.{k}": v for k, v in trial.items()}})
            child.log_dict({"config": to_dict(cfg), "trial": trial}, "config.json")
            result = exp.run_trial(cfg, trial, TrialContext(reporter=child, label=name, data=data))
            result.run_id = child.run_id
            child.log_metrics({f"final.{k}": v for k, v in result.metrics.items()})
            return result
    except KeyboardInterrupt:
        raise
    except Exception as err:  # the sweep survives one failing trial
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        console.say(f"    trial FAILED: {reason}")
        console.say(traceback.format_exc(limit=3))
        return TrialResult(trial=trial, status="FAILED", error=reason)
