"""The README's reproduction table: published numbers next to ours, generated from the records.

One row per `PaperResult` an experiment declares (`Experiment.paper_results`):
the paper and its number; ours, the mean and 95% interval over the matching
finished trials of a robustness record (one trial per seed); the profile and
its overrides; the hardware and wall time per sweep; the time per epoch; and
the mean at an early epoch next to the final one, so a user can check a run
early. A record whose trials ran fewer epochs than their profile states (a
run cut short to fit the hardware) shows its learning curve and the projected
time of the whole protocol instead of a mean: a partial number is never the
result. Reads JSON and class attributes only; nothing here trains.
"""

import math
from pathlib import Path

from rnnexp.report.stats import mean_interval

__all__ = ["BEGIN", "END", "render", "rows"]

BEGIN = "<!-- reproduction-table:begin (generated: python -m rnnexp docs --write) -->"
END = "<!-- reproduction-table:end -->"
SWEEPS = 5  # seeds a reproduction reports: the projected time is for this many


def _number(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}%" if percent else f"{value:.4g}"


def _interval(values, percent: bool) -> str:
    iv = mean_interval(values, 0.95)
    if iv.n < 2:
        return f"{_number(iv.mean, percent)} (1 seed)"
    half = f"{100 * iv.half:.1f}%" if percent else f"{iv.half:.2g}"
    return f"{_number(iv.mean, percent)} ± {half} ({iv.n} seeds)"


def _minutes(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _trials(record: dict, paper) -> list[dict]:
    where = dict(paper.where)
    return [
        t
        for o in record["outcomes"]
        for t in o.get("trials") or []
        if t.get("status", "FINISHED") == "FINISHED"
        and all(t["trial"].get(k) == v for k, v in where.items())
        and paper.metric in t["metrics"]
    ]


def _protocol_epochs(exp, record: dict) -> int | None:
    """The epochs the record's profile states (without the record's overrides)."""
    try:
        cfg = exp.resolve(record["profile"])
    except Exception:  # a profile since renamed: no projection, the record still reads
        return None
    return getattr(getattr(cfg, "train", None), "epochs", None) or getattr(cfg, "epochs", None)


def _hardware(outcomes: list[dict]) -> str:
    devices = sorted({o.get("device") or "device not recorded" for o in outcomes})
    backends = sorted({o["backend"] for o in outcomes if o.get("backend")})
    wall = sum(o["wall_s"] for o in outcomes) / len(outcomes)
    where = "; ".join(devices) + (f", {'/'.join(backends)}" if backends else "")
    return f"{where}; {_minutes(wall)} per sweep"


def row(exp, paper, records_dir="robustness") -> list[str]:
    """The table's cells for one published number (`not measured` where its record is absent)."""
    from rnnexp.report.experiments_table import read_record

    stem = paper.record or f"{exp.name}-ci"
    path = Path(records_dir) / f"{stem}.json"
    published = "not checked" if paper.value is None else _number(paper.value, paper.percent)
    head = [f"`{exp.name}` {paper.label}", f"{paper.source}: {published}"]
    if not path.is_file():
        missing = f"not measured: no record `robustness/{stem}.json`"
        return [*head, missing, "–", "–", "–", "–"]
    record = read_record(path)
    overrides = ", ".join(f"{k}={v}" for k, v in sorted(record["overrides"].items()))
    profile = f"`{record['profile']}`" + (f" ({overrides})" if overrides else "")
    trials = _trials(record, paper)
    if not trials:
        older = "not recorded (a record older than its trials' metrics)"
        return [*head, older, profile, _hardware(record["outcomes"]), "–", "–"]
    # The hardware and wall time of the sweeps these trials come from.
    hardware = _hardware([o for o in record["outcomes"] if _trials({"outcomes": [o]}, paper)])
    curve_name = paper.curve_label or paper.curve
    curves = [(t.get("epochs") or {}).get(paper.curve) or [] for t in trials]
    seconds = [
        s
        for t in trials
        for s in (t.get("epochs") or {}).get("epoch_seconds") or []
        if s is not None
    ]
    per_epoch = f"{sum(seconds) / len(seconds):.1f} s" if seconds else "not recorded"
    ran = min((len(c) for c in curves), default=0)
    protocol = _protocol_epochs(exp, record)
    if protocol and ran and ran < protocol:  # cut short: the curve and the projection, no result
        by_epoch = " / ".join(
            _number(sum(c[k] for c in curves) / len(curves), paper.percent) for k in range(ran)
        )
        ours = (
            f"not run to the end: {ran} of {protocol} epochs, {len(trials)} seed(s); "
            f"{curve_name} by epoch {by_epoch}"
        )
        hours = sum(seconds) / len(seconds) * protocol * SWEEPS / 3600 if seconds else math.nan
        time = f"{per_epoch}; {protocol} epochs x {SWEEPS} seeds projected {hours:.1f} h"
        return [*head, ours, profile, hardware, time, "–"]
    ours = _interval([t["metrics"][paper.metric] for t in trials], paper.percent)
    if paper.note:
        ours += f"; {paper.note}"
    early = "–"
    if ran >= 2:
        k = ran // 2  # 1-based epoch number, about half way
        mean = sum(c[k - 1] for c in curves) / len(curves)
        final = sum(c[ran - 1] for c in curves) / len(curves)
        early = (
            f"{curve_name} at epoch {k}: {_number(mean, paper.percent)} "
            f"(epoch {ran}: {_number(final, paper.percent)})"
        )
    return [*head, ours, profile, hardware, per_epoch, early]


def rows(experiments: dict, records_dir="robustness") -> list[list[str]]:
    out = []
    for name in sorted(experiments):
        for paper in getattr(experiments[name], "paper_results", ()):
            out.append(row(experiments[name], paper, records_dir))
    return out


def render(experiments: dict, records_dir="robustness") -> str:
    """A markdown table, one row per published number the catalog declares."""
    lines = [
        "| experiment | paper: its number | ours: mean ± 95% interval | profile "
        "| hardware, wall time | time per epoch | an early epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for cells in rows(experiments, records_dir):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if len(lines) == 2:
        lines.append("| no record of a published result yet | | | | | | |")
    return "\n".join(lines)
