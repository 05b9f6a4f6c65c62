"""How often a `ci` check fails by chance: estimated from its robustness record.

A check's margin (positive: holds) varies with the seed. From the margins a
record holds, one per seed (or per sweep, when a `ci` run spans several seeds),
`fresh_failure` estimates the probability that a fresh seed's margin is
negative, with a two-component model, because the outcomes seen here are
often two-mode (a run that did or did not take off):

- the margins split into a low and a high mode where a gap between sorted
  margins is wider than `GAP_RATIO` pooled within-mode standard deviations and
  at least half the median |margin| (`split_modes`);
- the chance of landing in the low mode is the mean of its Jeffreys posterior,
  Beta(k + 1/2, n - k + 1/2) for k of n outcomes there;
- within each mode the margin of a fresh outcome follows the posterior
  predictive of a normal model with unknown mean and variance (reference
  prior): a Student t with n - 1 degrees of freedom, centred on the mode's mean
  and scaled by s * sqrt(1 + 1/n), so few seeds mean heavy tails, not false
  confidence. A mode of one outcome borrows the other mode's spread.

A mode never seen is not modelled: ten seeds that all took off say little
about a stall at one seed in fifty, and the t tails are the only stand-in.

`median_check_failure` does the same for a median over a sweep's seeds, from
how many measured seeds lay past the threshold (beta-binomial).

`interval_check_failure` estimates the chance that a check on the interval of
a mean over seeds (`rnnexp.report.stats.mean_interval`, `paired_interval`) fails at
a fresh sweep, from per-seed values measured earlier: for a one-mode sample
it averages the exact non-central t probability over the posterior of the
mean and spread; for a two-mode sample it simulates sweeps.

    python -m rnnexp.report.false_alarm                    # the table, to the console
    python -m rnnexp docs --write          # writes docs/false-alarm.md, with the other pages
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from rnnexp.report.chance_failure import (
    Estimate,
    percent,
    fresh_failure,
    interval_check_failure,
    median_check_failure,
)

__all__ = ["design_estimates", "per_seed_values", "record_estimates", "statistic", "table"]

TARGET = 1e-3  # issue 30: every check at most 0.1% per ci run


def record_estimates(record: dict, path: Path | None = None) -> dict[str, tuple[Estimate, float]]:
    """`{check label: (estimate for a fresh ci run, measured pass rate)}` for one record.

    With the record's `path`, an interval check described in its design file
    (`design/NAME-PROFILE.json` beside it) is estimated from that file's per-seed values.
    """
    design = {}
    design_path = Path(path).parent / "design" / Path(path).name if path is not None else None
    if design_path is not None and design_path.exists():
        design = design_estimates(json.loads(design_path.read_text()), record)
    margins: dict[str, list] = {}
    for o in record.get("outcomes", []):
        for c in o.get("checks", []):
            margins.setdefault(c["label"], []).append(c.get("margin"))
    out = {}
    for label, ms in margins.items():
        finite = [m for m in ms if m is not None]
        passed = sum(m >= 0 for m in finite) / len(ms) if ms else math.nan
        out[label] = (design.get(label) or fresh_failure(finite), passed)
    return out


def design_estimates(design: dict, record: dict | None = None) -> dict[str, Estimate]:
    """`{check label: estimate}` for the interval checks a design file describes.

    A design file (`robustness/design/NAME-PROFILE.json`) holds, per check on an
    interval over seeds, the per-seed values its level was set from, with their
    seeds, the level, the seeds a ci run has, the threshold and which end is
    checked; the estimate is `interval_check_failure` on those values. Where
    the check says how a seed's value is made of its trials (`per_seed`, see
    `per_seed_values`), the values of every seed `record` kept join them: the
    estimate rests on every seed measured, not on the few the level was set from.
    """
    out = {}
    for label, d in design.get("checks", {}).items():
        values, seeds = list(d["values"]), list(d.get("seeds", []))
        if record is not None and d.get("per_seed"):
            for seed, value in per_seed_values(record, d["per_seed"]).items():
                if seed not in seeds:
                    values.append(value)
                    seeds.append(seed)
        if len(values) < 2:  # nothing measured under this protocol yet
            out[label] = Estimate(math.nan, len(values), 0, unit="seeds")
            continue
        if d.get("statistic") == "median":
            p = median_check_failure(values, d["n_seeds"], d.get("threshold", 0.0), d["end"])
            method = f"beta-binomial count of seeds past the threshold, seeds {_span(seeds)}"
        else:
            p = interval_check_failure(
                values, d["n_seeds"], d["level"], d.get("threshold", 0.0), d.get("end", "low")
            )
            method = f"non-central t over the posterior of seeds {_span(seeds)}"
        out[label] = Estimate(p, len(values), 0, method, "seeds")
    return out


def per_seed_values(record: dict, spec: dict) -> dict[int, float]:
    """`{seed: value}` of one interval check, from the trials `record` kept.

    `spec` says how a seed's value is made of its trials' `metric`: a weighted
    sum over arms, `{"metric": "test_accuracy", "terms": [[1, {"variant": "bi1"}],
    [-1, {"variant": "uni1"}]]}` (an arm: the trial parameters it fixes), of
    the metric's log10 with `"log10": true` (a check on a geometric mean), raised
    to `"floor"` first where the check does so (a ratio that underflowed to 0).
    A seed counts only when every arm finished there.
    """
    by_seed: dict[int, list] = {}
    for o in record.get("outcomes", []):
        for t in o.get("trials") or []:
            if "seed" in t["trial"]:
                by_seed.setdefault(int(t["trial"]["seed"]), []).append(t)
    values = {}
    for seed, trials in by_seed.items():
        total = 0.0
        for weight, arm in spec["terms"]:
            found = [
                t["metrics"].get(spec["metric"])
                for t in trials
                if t.get("status", "FINISHED") == "FINISHED"
                and all(t["trial"].get(k) == v for k, v in arm.items())
            ]
            if len(found) != 1 or found[0] is None:
                break
            value = max(found[0], spec.get("floor", -math.inf))
            if spec.get("log10") and value <= 0:
                break
            total += weight * (math.log10(value) if spec.get("log10") else value)
        else:
            values[seed] = total
    return values


def _span(seeds) -> str:
    """`[60, 61, 62, 5000, 5001]` -> "60–62, 5000–5001": runs of consecutive seeds."""
    runs: list[list[int]] = []
    for s in sorted(seeds):
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _claims() -> dict[str, str]:
    try:
        from rnnexp import registry

        return {name: exp.description for name, exp in registry.load_catalog().items()}
    except Exception:  # the table stays useful without the registry
        return {}


def statistic(label: str, per_run: int, log: bool = False) -> str:
    """What a check compares with its threshold, as its label and record say it."""
    if "interval" in label:
        return "interval of a mean over seeds"
    if per_run <= 1:
        return "one seed's value vs a threshold"
    if "median" in label:
        return "median over the run's seeds vs a threshold"
    if "geometric mean" in label or log:  # a log-scale ratio is pooled as a geometric mean
        return "geometric mean over the run's seeds vs a threshold"
    if "fraction" in label:
        return "fraction of the run's trials vs a threshold"
    return "mean over the run's seeds vs a threshold"


def table(records_dir: Path = Path("robustness")) -> str:
    """Markdown: one row per ci check, its estimated chance failure and measured pass rate.

    Only the `ci` records (`NAME-ci.json`, no overrides) count: a `full` record's checks
    are not what CI asserts.
    """
    from rnnexp.names import plain_label
    from rnnexp.report.robustness_table import seeds_text

    claims = _claims()
    rows, estimates = [], []
    for path in sorted(records_dir.glob("*-ci.json")):
        record = json.loads(path.read_text())
        if record.get("profile", "ci") != "ci" or record.get("overrides"):
            continue
        name, per_run = record.get("experiment", path.stem), record.get("seeds_per_sweep", 1)
        starts = [o["seed"] for o in record.get("outcomes", [])]
        span = seeds_text(starts, per_run) if starts else "none"
        logs = {
            c["label"]
            for o in record.get("outcomes", [])
            for c in o.get("checks", [])
            if c.get("log")
        }
        for label, (est, passed) in record_estimates(record, path).items():
            estimates.append(est.p)
            flag = " **over 0.1%**" if est.p > TARGET else ""
            runs = len(record.get("outcomes", []))
            claim, shown = (
                t.replace("|", "\\|") for t in (claims.get(name, "?"), plain_label(label))
            )
            rows.append(
                f"| {name} | {claim} | {shown} | {per_run} | "
                f"{statistic(label, per_run, label in logs)} | "
                f"{est}{flag} | {passed:.0%} of {runs} ci runs (seeds {span}) |"
            )
    known = [p for p in estimates if np.isfinite(p)]
    ci_wide = 1 - float(np.prod([1 - p for p in known])) if known else math.nan
    over = sum(p > TARGET for p in known)
    head = [
        "# False-alarm rate of every `ci` check",
        "",
        "Generated by `python -m rnnexp docs --write` from "
        "`robustness/*.json`; the model is `rnnexp/report/false_alarm.py`'s docstring. A check on "
        "an interval over seeds is estimated from every seed's value measured: those its level "
        "was set from (`robustness/design/*.json`) and those of the trials its record kept; "
        "every other check from its record's margins. "
        "A ci run is one sweep: one seed, or `seeds per ci run` seeds whose statistic is checked.",
        "",
        f"CI-wide: the chance that at least one of the {len(known)} checks fails by chance in a "
        f"ci run is **{percent(ci_wide)}** (independent checks: 1 − ∏(1 − p)); {over} "
        f"{'check is' if over == 1 else 'checks are'} above the {percent(TARGET)} target.",
        "",
        "| experiment | claim (`list`) | what ci asserts | seeds per ci run | statistic | "
        "estimated chance failure per ci run | measured pass rate |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rnnexp.report.false_alarm", description=__doc__
    )
    parser.add_argument("--records", type=Path, default=Path("robustness"))
    parser.add_argument("--out", type=Path, help="write the markdown here (default: print)")
    args = parser.parse_args(argv)
    if not args.records.is_dir():
        print(f"error: no records folder {args.records}; run from the repository root")
        return 2
    text = table(args.records)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
