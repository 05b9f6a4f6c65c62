"""How robust is a finding to the seed: run one profile at several seeds.

`python -m rnnexp robustness NAME --seeds K --start S` runs the profile's
normal tracked sweep at K absolute seeds S, S+n, S+2n, ... -- n is how many
seeds one sweep uses (1 for most `ci` profiles), so sweeps never share a
trial and each seed is a fresh draw -- and collects,
per seed, PASS/FAIL and every check's margin (`catalog.Check.margin`: how far
the measured value is from its threshold; in decades for `log` checks). The
summary -- pass rate, the smallest margin of each check, margins per seed --
goes to an MLflow run (`rnnexp.role=robustness`) and to a JSON record that
the README's robustness table is generated from (`rnnexp.robustness_table`).
"""

import dataclasses
import datetime
import hashlib
import json
import math
import re
import tempfile
import time
from pathlib import Path

from rnnexp import console, false_alarm
from rnnexp.config import flatten

__all__ = [
    "SeedOutcome",
    "config_signature",
    "merge_records",
    "run_robustness",
    "summarize",
    "sweep_seed_span",
]

RECORD_VERSION = 1


@dataclasses.dataclass
class SeedOutcome:
    """One seed's sweep, reduced to what robustness needs (JSON-ready)."""

    seed: int
    passed: bool
    wall_s: float
    checks: list[dict]  # label, value, op, threshold, log, margin
    message: str = ""
    parent_run_id: str | None = None
    git_commit: str | None = None
    layers: str | None = None  # what computed the layers: "tensorflow, step (r2)"

    @classmethod
    def of(cls, seed, finding, wall_s, parent_run_id=None, git_commit=None, layers=None):
        checks = [
            {
                "label": c.label,
                "value": _finite_or_none(c.value),
                "op": c.op,
                "threshold": float(c.threshold),
                "log": bool(c.log),
                "margin": _finite_or_none(c.margin),
            }
            for c in finding.checks
        ]
        passed = bool(finding.passed)
        return cls(
            seed,
            passed,
            round(wall_s, 1),
            checks,
            finding.message,
            parent_run_id,
            git_commit,
            layers,
        )


def sweep_seed_span(exp, cfg) -> int:
    """How many consecutive seeds one sweep uses (`seed`, `seed + 1`, ...; at least 1).

    exploding_clipping's sweep pools 12 seeds: robustness runs at seeds 12
    apart, so no two of its sweeps share a trial.
    """
    seeds = [t["seed"] for t in exp.trials(cfg) if "seed" in t]
    return max(seeds) - min(seeds) + 1 if seeds else 1


def _finite_or_none(value):
    """JSON has no inf/nan: a non-finite margin (a NaN value) is recorded as None."""
    value = float(value)
    return value if math.isfinite(value) else None


def summarize(outcomes: list[dict]) -> dict:
    """Pass rate and, per check label, the smallest margin and the seed it came from.

    Args:
        outcomes: `SeedOutcome`s as dicts (from a record file or this run).
    """
    smallest: dict[str, dict] = {}
    for o in outcomes:
        for c in o["checks"]:
            margin = -math.inf if c["margin"] is None else c["margin"]
            best = smallest.get(c["label"])
            if best is None or margin < best["margin"]:
                smallest[c["label"]] = {"margin": margin, "seed": o["seed"], "log": c["log"]}
    passed = sum(o["passed"] for o in outcomes)
    return {
        "seeds": sorted(o["seed"] for o in outcomes),
        "passed": passed,
        "pass_rate": passed / len(outcomes) if outcomes else float("nan"),
        "smallest_margins": smallest,
        "mean_wall_s": sum(o["wall_s"] for o in outcomes) / len(outcomes) if outcomes else None,
    }


def merge_records(old: dict | None, new: dict) -> dict:
    """`new`'s seeds over `old`'s (same experiment, profile and overrides), re-summarized.

    Robustness runs can be done a few seeds at a time; a seed run again
    replaces its older outcome. A record for other overrides, for sweeps of
    another number of seeds, or for another resolved config (a profile or a
    default that changed: `config_signature`; a record older than the digest
    is taken to match) is replaced, and
    so are outcomes judged by another finding (other checks or thresholds):
    a restated finding starts its record afresh. So do outcomes measured on
    other layers (another Keras backend, time loop or layers revision:
    `rnnexp.layers.recurrent.layers_label`): their floating-point order
    differs, and the record is the evidence for what runs now.
    """
    keep = []
    # Defaults for records written before a key was recorded: one seed per
    # sweep, and a config taken on trust (no digest to compare).
    default = {"seeds_per_sweep": 1, "config": new.get("config")}
    same = ("experiment", "profile", "overrides", "seeds_per_sweep", "config")
    if old and all(old.get(k, default.get(k)) == new.get(k) for k in same):
        fresh = {o["seed"] for o in new["outcomes"]}
        finding = {_finding_signature(o) for o in new["outcomes"] if o["checks"]}
        layers = {o.get("layers") for o in new["outcomes"]}
        keep = [
            o
            for o in old.get("outcomes", [])
            if o["seed"] not in fresh
            and (not finding or _finding_signature(o) in finding)
            and o.get("layers") in layers
        ]
    outcomes = sorted(keep + new["outcomes"], key=lambda o: o["seed"])
    summary = summarize(outcomes)
    for item in summary["smallest_margins"].values():  # JSON has no -inf
        item["margin"] = _finite_or_none(item["margin"])
    return {**new, "outcomes": outcomes, "summary": summary}


def config_signature(cfg) -> str:
    """A digest of the resolved config a sweep ran, its base seed left out."""
    settings = {k: v for k, v in flatten(cfg).items() if k != "seed"}
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _finding_signature(outcome: dict) -> tuple:
    """What an outcome was judged by: its checks' labels, operators and thresholds."""
    return tuple(sorted((c["label"], c["op"], c["threshold"]) for c in outcome["checks"]))


def _metric_key(label: str) -> str:
    """An MLflow-safe metric name for a check label."""
    return re.sub(r"[^\w.\- /]", "_", label).strip()[:200]


def _margins_figure(outcomes: list[dict], title: str):
    from rnnexp import plots

    labels = list(dict.fromkeys(c["label"] for o in outcomes for c in o["checks"]))
    series = {}
    for label in labels:
        points = [
            (o["seed"], c["margin"] if c["margin"] is not None else math.nan)
            for o in outcomes
            for c in o["checks"]
            if c["label"] == label
        ]
        logged = any(c["log"] for o in outcomes for c in o["checks"] if c["label"] == label)
        unit = " (decades)" if logged else ""
        series[f"{label}{unit}"] = ([s for s, _ in points], [m for _, m in points], None)
    return plots.lines_with_spread(
        series,
        xlabel="seed",
        ylabel="margin (check's units; > 0 holds)",
        title=title,
        hline=0.0,
        hline_label="threshold",
    )


def run_robustness(
    exp,
    *,
    profile: str,
    seeds: list[int],
    tracker,
    overrides: dict | None = None,
    record_path: Path | None = None,
) -> dict:
    """Run `exp`'s `profile` once per absolute seed; log and return the record.

    Each seed is the normal tracked sweep (`runner.run_experiment`). A sweep
    that raises counts as a FAIL with no margins, and the next seed runs.

    Returns:
        The record: experiment, profile, overrides, `outcomes` (one per seed,
        merged with those already in `record_path`) and `summary`.
    """
    from rnnexp import runner
    from rnnexp.layers.recurrent import layers_label
    from rnnexp.tracking import git_tags

    overrides = {k: v for k, v in (overrides or {}).items() if k != "seed"}
    commit = git_tags().get("git.commit")
    layers = layers_label(impl=overrides.get("model.impl", "rnnexp"))
    outcomes = []
    for seed in seeds:
        seed_overrides = {**overrides, "seed": seed}
        cfg = exp.resolve(profile, seed_overrides)
        console.say(f"robustness: {exp.name} ({profile}) at seed {seed}")
        start = time.monotonic()
        try:
            outcome = runner.run_experiment(
                exp, cfg, profile=profile, tracker=tracker, overrides=seed_overrides
            )
        except Exception as err:  # one broken seed is a finding too; go on
            from rnnexp.catalog import Finding

            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            console.say(f"robustness: seed {seed} raised {reason}")
            wall = time.monotonic() - start
            result = SeedOutcome.of(seed, Finding(False, reason), wall, None, commit, layers)
        else:
            result = SeedOutcome.of(
                seed,
                outcome.finding,
                time.monotonic() - start,
                outcome.parent_run_id,
                commit,
                layers,
            )
        outcomes.append(dataclasses.asdict(result))
        _print_seed(outcomes[-1])

    first = exp.resolve(profile, {**overrides, "seed": seeds[0]})
    record = {
        "version": RECORD_VERSION,
        "experiment": exp.name,
        "profile": profile,
        "overrides": overrides,
        "seeds_per_sweep": sweep_seed_span(exp, first),
        "config": config_signature(first),
        "updated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "outcomes": outcomes,
    }
    this_run = merge_records(None, record)
    if record_path is not None:
        old = json.loads(record_path.read_text()) if record_path.exists() else None
        record = merge_records(old, record)
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=1) + "\n")
    else:
        record = this_run
    _log_summary(exp, profile, tracker, this_run, seeds)
    _print_summary(this_run["summary"], record_path, record)
    for label, (estimate, _) in false_alarm.record_estimates(record, record_path).items():
        console.say(f"    chance a fresh ci run fails {label}: {estimate}")
    return record


def _print_seed(o: dict):
    verdict = "PASS" if o["passed"] else "FAIL"
    console.say(f"robustness: seed {o['seed']}: {verdict} ({o['wall_s']:.0f}s)")
    for c in o["checks"]:
        value = "nan" if c["value"] is None else f"{c['value']:.3g}"
        margin = "nan" if c["margin"] is None else f"{c['margin']:+.3g}"
        unit = " decades" if c["log"] else ""
        console.say(
            f"    {c['label']}: {value} {c['op']} {c['threshold']:g}, margin {margin}{unit}"
        )


def _print_summary(summary: dict, record_path, record):
    console.say(
        f"robustness: {summary['passed']}/{len(summary['seeds'])} seeds passed "
        f"(seeds {', '.join(map(str, summary['seeds']))})"
    )
    for label, s in summary["smallest_margins"].items():
        unit = " decades" if s["log"] else ""
        console.say(f"    smallest margin of {label}: {s['margin']:+.3g}{unit} (seed {s['seed']})")
    if record_path is not None:
        total = record["summary"]
        console.say(
            f"robustness: record {record_path}: {total['passed']}/{len(total['seeds'])} seeds "
            "passed over every run recorded there"
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
                from rnnexp import plots

                fig = _margins_figure(record["outcomes"], f"{exp.name} ({profile}): margin by seed")
                path = plots.save(fig, Path(tmp) / "margins_by_seed.png")
                run.log_artifact(path, "summary")
        run.set_tags({"robustness.pass_rate": f"{summary['passed']}/{len(seeds)}"})
