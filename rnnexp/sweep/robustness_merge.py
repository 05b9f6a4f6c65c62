"""Merging a sweep's outcomes into a robustness record, and the record's summary.

Which outcomes survive a merge and why others are dropped, the summary (pass rate,
smallest margins), and the digests that say what a sweep ran and was judged by.
"""

import hashlib
import json
import math

from rnnexp.config import flatten
from rnnexp.sweep.robustness_record import finite_or_none

__all__ = [
    "config_signature",
    "dropped_outcomes",
    "merge_records",
    "run_signature",
    "seed_list",
    "summarize",
]

_HEADER = ("experiment", "profile", "overrides", "seeds_per_sweep", "config")


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
        finding = {finding_signature(o) for o in new["outcomes"] if o["checks"]}
        layers = {o.get("layers") for o in new["outcomes"]}
        keep = [
            o
            for o in old.get("outcomes", [])
            if o["seed"] not in fresh
            and (not finding or finding_signature(o) in finding)
            and o.get("layers") in layers
        ]
    outcomes = sorted(keep + new["outcomes"], key=lambda o: o["seed"])
    summary = summarize(outcomes)
    for item in summary["smallest_margins"].values():  # JSON has no -inf
        item["margin"] = finite_or_none(item["margin"])
    return {**new, "outcomes": outcomes, "summary": summary}


def config_signature(cfg) -> str:
    """A digest of the resolved config a sweep ran, its base seed left out."""
    settings = {k: v for k, v in flatten(cfg).items() if k != "seed"}
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_signature(cfg, trial_reads=()) -> str:
    """`config_signature` less the finding's settings: what the sweep ran, not how it is judged.

    `trial_reads`: the finding settings that trials read too (`Experiment.trial_reads_finding`).
    """
    kept = {f"finding.{k}" for k in trial_reads}
    settings = {
        k: v
        for k, v in flatten(cfg).items()
        if k != "seed" and (not k.startswith("finding.") or k in kept)
    }
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finding_signature(outcome: dict) -> tuple:
    """What an outcome was judged by: its checks' labels, operators and thresholds."""
    return tuple(sorted((c["label"], c["op"], c["threshold"]) for c in outcome["checks"]))


def dropped_outcomes(old: dict | None, new: dict) -> tuple[list[dict], str]:
    """The outcomes of `old` that merging `new` into it drops or replaces, and why."""
    if not old:
        return [], ""
    kept = merge_records(old, new)["outcomes"]
    gone = [o for o in old["outcomes"] if o not in kept]
    if not gone:
        return [], ""
    default = {"seeds_per_sweep": 1, "config": new.get("config")}
    for key in _HEADER:
        if old.get(key, default.get(key)) != new.get(key):
            was, now = old.get(key), new.get(key)
            return gone, f"they were recorded for another {key} ({was!r}, here {now!r})"
    fresh = {o["seed"] for o in new["outcomes"]}
    if all(o["seed"] in fresh for o in gone):
        return gone, "those seeds ran again"
    layers = {o.get("layers") for o in new["outcomes"]}
    if any(o.get("layers") not in layers for o in gone):
        return gone, f"they ran on other layers, not {', '.join(sorted(map(str, layers)))}"
    return gone, "they were judged by other checks or thresholds (a restated finding)"


def seed_list(outcomes) -> str:
    from rnnexp.report.robustness_table import seed_ranges

    return seed_ranges(o["seed"] for o in outcomes)
