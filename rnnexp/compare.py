"""`python -m rnnexp compare NAME`: a recorded sweep's trials, best first.

Reads the runs back from the store (no training, no data): the trial's
parameters, its status and its final metrics, sorted by one metric, plus the
parent run's finding and summary plots.
"""

import csv
import io
import json
from pathlib import Path

from rnnexp import console
from rnnexp.config import ConfigError

__all__ = ["compare", "find_sweep", "render", "sweep_rows"]


def find_sweep(tracker, run_id: str | None = None, *, unfinished: bool = False):
    """The parent run `run_id`, else the newest (unfinished) sweep of the experiment."""
    sweeps = tracker.sweeps()
    if run_id:
        for s in sweeps:
            if s.run_id.startswith(run_id):
                return s
        raise ConfigError(
            f"no sweep {run_id!r} of {tracker.experiment_name} in {tracker.uri}; "
            f"recent sweeps: {', '.join(s.run_id for s in sweeps[:5]) or 'none'}"
        )
    candidates = [s for s in sweeps if s.status != "FINISHED"] if unfinished else sweeps
    if not candidates:
        kind = "unfinished sweep" if unfinished else "sweep"
        raise ConfigError(f"no {kind} of {tracker.experiment_name} in {tracker.uri}")
    return candidates[0]


def sweep_rows(
    tracker, parent, metric: str | None, ascending=False, metric_given=True
) -> list[dict]:
    """One row per trial: parameters, status, final metrics; best first, failures last.

    `metric` must be one the trials recorded; when no trial recorded any (all
    failed, or none ran) the rows come in run order, unless the user named
    the metric (`metric_given`), which is then refused.
    """
    rows = []
    for child in tracker.trial_runs(parent.run_id):
        trial = json.loads(child.tags.get("rnnexp.trial", "{}"))
        row = {**trial, "status": child.status}
        for k, v in sorted(child.metrics.items()):
            if k.startswith("final."):
                row[k[len("final.") :]] = int(v) if k == "final.params" else v
        if child.tags.get("failure_reason"):
            row["error"] = child.tags["failure_reason"]
        row["run_id"] = child.run_id
        rows.append(row)
    known = sorted({k for r in rows for k in r if isinstance(r.get(k), float)})
    if metric is not None and metric not in known:
        if known:
            raise ConfigError(f"unknown metric {metric!r}; choose one of {', '.join(known)}")
        if metric_given:
            raise ConfigError(
                f"--metric {metric}: no trial of sweep {parent.run_id} recorded final metrics "
                f"({len(rows)} run(s), none FINISHED); drop --metric to see why"
            )
        metric = None

    def key(row):
        value = row.get(metric) if metric else None
        missing = not isinstance(value, float)
        return (
            row["status"] != "FINISHED",
            missing,
            0 if missing else (value if ascending else -value),
        )

    return sorted(rows, key=key)


def render(rows: list[dict], fmt: str) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    return console.format_table(rows, columns, markdown=fmt == "markdown")


def compare(
    tracker,
    *,
    run_id=None,
    metric=None,
    ascending=False,
    fmt="table",
    plots_dir=None,
    metric_given=True,
):
    """Print the table; download the sweep's summary plots. Returns the rows."""
    parent = find_sweep(tracker, run_id)
    rows = sweep_rows(tracker, parent, metric, ascending, metric_given)
    if not any(r["status"] == "FINISHED" for r in rows):
        metric = None  # nothing was ranked: say run order
    print(render(rows, fmt), end="" if fmt == "csv" else "\n")
    if fmt == "table":
        print(
            f"\nsweep {parent.run_id} ({parent.name}, {parent.status}); "
            f"{sum(r['status'] == 'FINISHED' for r in rows)} of "
            f"{parent.tags.get('rnnexp.trials', '?')} planned trial(s) finished, "
            f"{len(rows)} run(s) recorded; "
            f"sorted by {metric or 'run order'}{' ascending' if ascending else ''}"
        )
        if parent.tags.get("finding"):
            print(f"finding: {parent.tags['finding']} - {parent.tags.get('finding.message', '')}")
        from rnnexp.tracking import browse_lines

        print("\n".join(browse_lines(tracker, parent.run_id, [r["run_id"] for r in rows])))
    if plots_dir:
        try:
            folder = tracker.download(parent.run_id, "summary", Path(plots_dir))
        except OSError as err:
            raise ConfigError(f"--plots {plots_dir}: cannot write there ({err.strerror})") from None
        pngs = sorted(folder.glob("*.png")) if folder else []
        if fmt == "table":
            print("plots: " + (", ".join(str(p) for p in pngs) or "none recorded"))
    return rows
