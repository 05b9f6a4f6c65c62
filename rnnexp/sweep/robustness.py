"""How robust is a finding to the seed: run one profile at several seeds.

`python -m rnnexp robustness NAME --seeds K --start S` runs the profile's
normal tracked sweep at K absolute seeds S, S+n, S+2n, ... -- n is how many
seeds one sweep uses (1 for most `ci` profiles), so sweeps never share a
trial and each seed is a fresh draw -- and collects,
per seed, PASS/FAIL and every check's margin (`finding.Check.margin`: how far
the measured value is from its threshold; in decades for `log` checks). The
summary -- pass rate, the smallest margin of each check, margins per seed --
goes to an MLflow run (`rnnexp.role=robustness`) and to a JSON record that
the README's robustness table is generated from (`rnnexp.report.robustness_table`).
"""

import dataclasses
import datetime
import json
import re
import tempfile
import time
from pathlib import Path

from rnnexp import console
from rnnexp.names import plain_label
from rnnexp.report import false_alarm
from rnnexp.sweep.robustness_merge import (
    config_signature,
    dropped_outcomes,
    merge_records,
    run_signature,
    seed_list,
)
from rnnexp.sweep.robustness_record import (
    RECORD_VERSION,
    RecordError,
    SeedOutcome,
    load_record,
    sweep_seed_span,
)
from rnnexp.sweep.robustness_write import save_outcomes

__all__ = ["run_robustness"]


def _metric_key(label: str) -> str:
    """An MLflow-safe metric name for a check label."""
    return re.sub(r"[^\w.\- /]", "_", label).strip()[:200]


def run_robustness(
    exp,
    *,
    profile: str,
    seeds: list[int],
    tracker,
    overrides: dict | None = None,
    record_path: Path | None = None,
    replace: bool = False,
) -> dict:
    """Run `exp`'s `profile` once per absolute seed; log and return the record.

    Each seed is the normal tracked sweep (`runner.run_experiment`). Its
    outcome is merged into `record_path` as soon as it is known (atomically,
    under a lock), so an interrupted run keeps every seed it finished. Only
    sweeps that ran their trials are outcomes: a sweep that raises (a store
    or data fault), loses a trial or finishes none stops the run with the
    record as it was. The record is read and checked before anything trains;
    seeds it holds are skipped, and outcomes it holds for another config,
    finding or layers are refused, unless `replace` (which says what it drops).

    Returns:
        The record: experiment, profile, overrides, `outcomes` (one per seed,
        merged with those already in `record_path`) and `summary`.
    """
    from rnnexp.layers.recurrent import layers_label
    from rnnexp.tracking.provenance import environment_tags, git_tags

    overrides = {k: v for k, v in (overrides or {}).items() if k != "seed"}
    commit = git_tags().get("git.commit")
    layers = layers_label(impl=overrides.get("model.impl", "rnnexp"))
    first = exp.resolve(profile, {**overrides, "seed": seeds[0]})
    header = {
        "version": RECORD_VERSION,
        "experiment": exp.name,
        "profile": profile,
        "overrides": overrides,
        "seeds_per_sweep": sweep_seed_span(exp, first),
        "config": config_signature(first),
        "run_config": run_signature(first, exp.trial_reads_finding),
    }
    record = None
    if record_path is not None:
        record_path = Path(record_path)
        record = load_record(record_path)  # a broken record is refused before training
        nothing_yet = {"seed": -1, "passed": False, "wall_s": 0, "checks": [], "layers": layers}
        gone, why = dropped_outcomes(record, {**header, "outcomes": [nothing_yet]})
        if gone and not replace:
            raise RecordError(
                f"{record_path} holds {len(gone)} outcome(s) (seeds {seed_list(gone)}) this run "
                f"would drop: {why}. --replace drops them, or --record another file"
            )
        recorded = {o["seed"] for o in (record or {}).get("outcomes", [])}
        if recorded & set(seeds) and not replace:
            console.say(
                f"robustness: seeds {seed_list({'seed': s} for s in recorded & set(seeds))} are "
                f"recorded in {record_path} already: skipped (--replace runs them again)"
            )
            seeds = [s for s in seeds if s not in recorded]
    outcomes = []
    for seed in seeds:
        finding, wall_s, cpu_s, parent_run_id, data, results = _run_seed(
            exp, profile, overrides, seed, tracker, record_path
        )
        result = dataclasses.asdict(
            SeedOutcome.of(
                seed,
                finding,
                wall_s,
                parent_run_id,
                commit,
                layers,
                environment_tags(),
                data,
                cpu_s,
                results,
                exp.record_extras,
            )
        )
        outcomes.append(result)
        _print_seed(result, header.get("seeds_per_sweep", 1))
        if record_path is not None:
            stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            new = {**header, "updated": stamp, "outcomes": [result]}
            record = save_outcomes(record_path, new, replace)

    this_run = merge_records(None, {**header, "outcomes": outcomes})
    if not outcomes:
        console.say("robustness: no seed to run")
        return record or this_run
    _log_summary(exp, profile, tracker, this_run, seeds)
    _print_summary(this_run["summary"], record_path, record, header.get("seeds_per_sweep", 1))
    kept = record if record_path is not None else this_run
    for label, (estimate, _) in false_alarm.record_estimates(kept, record_path).items():
        console.say(f"    chance a fresh ci run fails {label}: {estimate}")
    return kept


def _run_seed(exp, profile, overrides, seed, tracker, record_path):
    """`(finding, wall_s, cpu_s, parent_run_id, data source, results)` of one seed's sweep.

    Raises:
        The sweep's own error, or `RecordError` for a sweep that lost a trial
        or finished none: a fault, not a finding, so nothing is recorded.
    """
    from rnnexp.sweep import runner

    seed_overrides = {**overrides, "seed": seed}
    cfg = exp.resolve(profile, seed_overrides)
    console.say(f"robustness: {exp.name} ({profile}) at seed {seed}")
    start, cpu_start = time.monotonic(), time.process_time()
    kept = f"; {record_path} keeps the seeds finished before" if record_path else ""
    try:
        outcome = runner.run_experiment(
            exp, cfg, profile=profile, tracker=tracker, overrides=seed_overrides
        )
    except Exception:
        console.say(
            f"robustness: seed {seed}'s sweep stopped before it finished: not recorded{kept}"
        )
        raise
    finished = [r for r in outcome.results if r.status == "FINISHED"]
    if outcome.lost or not finished:
        first = next((r.error for r in outcome.results if r.error), "no reason recorded")
        what = f"lost {outcome.lost} trial(s)" if outcome.lost else "finished no trial"
        raise RecordError(
            f"seed {seed}'s sweep {what} ({first}): a fault, not a finding, so it is not "
            f"recorded{kept}"
        )
    wall_s, cpu_s = time.monotonic() - start, time.process_time() - cpu_start
    return (
        outcome.finding,
        wall_s,
        cpu_s,
        outcome.parent_run_id,
        outcome.data_source,
        outcome.results,
    )


def _print_seed(o: dict, per_sweep: int = 1):
    verdict = "PASS" if o["passed"] else "FAIL"
    s = o["seed"]
    which = f"seed {s}" if per_sweep <= 1 else f"sweep of seeds {s}–{s + per_sweep - 1}"
    console.say(f"robustness: {which}: {verdict} ({o['wall_s']:.0f}s)")
    for c in o["checks"]:
        value = "nan" if c["value"] is None else f"{c['value']:.3g}"
        margin = "nan" if c["margin"] is None else f"{c['margin']:+.3g}"
        unit = " decades" if c["log"] else ""
        check = f"{plain_label(c['label'])}: {value} {c['op']} {c['threshold']:g}"
        console.say(f"    {check}, margin {margin}{unit}")


def _print_summary(summary: dict, record_path, record, per_sweep: int = 1):
    unit = "seeds" if per_sweep <= 1 else f"sweeps of {per_sweep} seeds"
    starts = "seeds" if per_sweep <= 1 else "starting at seeds"
    console.say(
        f"robustness: {summary['passed']}/{len(summary['seeds'])} {unit} passed "
        f"({starts} {', '.join(map(str, summary['seeds']))})"
    )
    for label, s in summary["smallest_margins"].items():
        decades = " decades" if s["log"] else ""
        console.say(
            f"    smallest margin of {plain_label(label)}: {s['margin']:+.3g}{decades} "
            f"(seed {s['seed']})"
        )
    if record_path is not None:
        total = record["summary"]
        console.say(
            f"robustness: record {record_path}: {total['passed']}/{len(total['seeds'])} "
            f"{unit} passed over every run recorded there"
        )


def _log_summary(exp, profile, tracker, record, seeds):
    """One MLflow run: pass rate, smallest margins, margins per seed (step = seed)."""
    summary = record["summary"]
    tags = {
        "rnnexp.role": "robustness",
        "rnnexp.profile": profile,
        "rnnexp.overrides": json.dumps(record["overrides"], default=list),
        "robustness.seeds": ",".join(map(str, seeds)),
        "robustness.sweeps": ",".join(o["parent_run_id"] or "-" for o in record["outcomes"]),
    }
    name = f"{exp.name}-{profile}-robustness-seeds{seeds[0]}-{seeds[-1]}"
    with tracker.run(name, tags=tags) as run:
        run.log_params({"seeds": len(seeds), "start": seeds[0]})
        run.log_metrics({"pass_rate": summary["pass_rate"], "passed": summary["passed"]})
        run.log_metrics(
            {
                f"min_margin.{_metric_key(label)}": s["margin"]
                for label, s in summary["smallest_margins"].items()
                if s["margin"] is not None
            }
        )
        for o in record["outcomes"]:
            run.log_metrics({"seed_passed": float(o["passed"])}, step=o["seed"])
            run.log_metrics(
                {
                    f"margin.{_metric_key(c['label'])}": c["margin"]
                    for c in o["checks"]
                    if c["margin"] is not None
                },
                step=o["seed"],
            )
        run.log_dict(record, "robustness.json")
        if any(o["checks"] for o in record["outcomes"]):
            with tempfile.TemporaryDirectory(prefix="rnnexp-robustness-") as tmp:
                from rnnexp.report import plots

                title = f"{exp.name} ({profile}): margin by seed"
                fig = plots.margins_by_seed(record["outcomes"], title)
                path = plots.save(fig, Path(tmp) / "margins_by_seed.png")
                run.log_artifact(path, "summary")
        run.set_tags({"robustness.pass_rate": f"{summary['passed']}/{len(seeds)}"})
