"""`python -m rnnexp compare NAME`: a recorded sweep's trials in the study's order, and its pivot.

Reads the runs back from the store (no training, no data): the trial's
parameters, its status and its final metrics, in the order the sweep planned
them (or sorted by one metric), the pivot the finding reads (the metric per
arm and value of the swept axis, mean and interval over seeds, and the gain
from the first value to the last), the parent run's finding and summary plots.
"""

import csv
import io
import json
from pathlib import Path

from rnnexp import console
from rnnexp.config import ConfigError
from rnnexp.names import plain

__all__ = ["compare", "find_sweep", "pivot", "render", "sweep_rows"]

COLUMN_AXES = ("length", "depth", "epochs")  # the swept quantity a pivot's columns show


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
    tracker, parent, metric: str | None, ascending=False, metric_given=True, sort=True, axes=()
) -> list[dict]:
    """One row per trial: parameters, status, final metrics.

    In the study's order (the order the sweep planned its trials) unless
    `sort`: then best first by `metric`, failures last. `metric` must be one
    the trials recorded; when no trial recorded any (all failed, or none ran)
    the rows keep the study's order, unless the user named the metric
    (`metric_given`), which is then refused. `axes`: the trial's keys in the
    study's order (the store keeps them sorted).
    """
    rows = []
    children = sorted(  # the planned position; runs recorded without one keep run order
        tracker.trial_runs(parent.run_id),
        key=lambda c: int(c.tags.get("rnnexp.trial_index", 1 << 30)),
    )
    for child in children:
        trial = json.loads(child.tags.get("rnnexp.trial", "{}"))
        trial = {**{k: trial[k] for k in axes if k in trial}, **trial}
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
    if not sort or metric is None:
        return rows

    def key(row):
        value = row.get(metric) if metric else None
        missing = not isinstance(value, float)
        return (
            row["status"] != "FINISHED",
            missing,
            0 if missing else (value if ascending else -value),
        )

    return sorted(rows, key=key)


def pivot(rows: list[dict], metric: str) -> tuple[list[dict], str] | None:
    """The table a finding reads: `metric` per arm (rows) and swept value (columns).

    Each cell is the mean and 95% interval over the seeds; `gain` is the last
    column minus the first, per seed, mean and 90% interval (the paired
    statistic findings assert on). The column axis is the first of
    `COLUMN_AXES` the trials vary, else their last varying axis. Returns
    `(rows, note)`, or None when the trials vary no axis besides the seed.
    """
    from rnnexp.report.stats import mean_interval, paired_interval

    done = [r for r in rows if r["status"] == "FINISHED" and isinstance(r.get(metric), float)]
    if not done:
        return None
    params = list(done[0])[: list(done[0]).index("status")]  # a row starts with its trial
    axes = [k for k in params if k != "seed" and len({str(r.get(k)) for r in done}) > 1]
    if not axes:
        return None
    column = next((a for a in COLUMN_AXES if a in axes), axes[-1])
    arms = [a for a in axes if a != column]
    values = list(dict.fromkeys(r[column] for r in done))
    cells: dict[tuple, dict] = {}  # arm -> {column value: {seed: metric}}
    for r in done:
        arm = tuple(r[a] for a in arms)
        cells.setdefault(arm, {}).setdefault(r[column], {})[r.get("seed")] = r[metric]

    def head(value):
        return f"L={value}" if column == "length" else f"{column} {plain(value)}"

    table = []
    for arm, by_value in cells.items():
        row = {a: plain(v) for a, v in zip(arms, arm)}
        for value in values:
            seeds = by_value.get(value, {})
            row[head(value)] = str(mean_interval(list(seeds.values()))) if seeds else "–"
        first, last = by_value.get(values[0], {}), by_value.get(values[-1], {})
        paired = sorted(set(first) & set(last), key=str)
        if len(values) > 1 and paired:
            gain = paired_interval([last[s] for s in paired], [first[s] for s in paired])
            row[f"gain {head(values[0])}→{head(values[-1])}"] = (
                f"{gain.mean:+.3f} (1 seed)"
                if gain.n < 2
                else f"{gain.mean:+.3f} ± {gain.half:.3f}"
            )
        table.append(row)
    note = f"{console.metric_name(metric)}: mean ± 95% interval over seeds" + (
        "; gain: last minus first per seed, mean ± 90% interval" if len(values) > 1 else ""
    )
    return table, note


def _planned_axes(exp, parent) -> tuple:
    """The trial keys of `parent`'s sweep in the order its experiment plans them."""
    try:
        overrides = json.loads(parent.tags.get("rnnexp.overrides", "{}"))
        cfg = exp.resolve(parent.tags.get("rnnexp.profile", "default"), overrides)
        return tuple(exp.trials(cfg)[0])
    except (ConfigError, ValueError, IndexError, TypeError):  # the experiment changed since
        return ()


def narrow(rows: list[dict], metric: str | None, width: int = 120) -> list[dict]:
    """The rows with the columns that fit `width`: the trial, status, `metric`, then the other
    metrics while they fit; a run id as its first 8 characters (the rest: `--wide`)."""
    if not rows:
        return rows
    columns = list(dict.fromkeys(k for row in rows for k in row))
    trial = columns[: columns.index("status") + 1]
    others = [c for c in columns if c not in trial and c not in ("run_id", "error")]
    if metric in others:
        others.remove(metric)
        others.insert(0, metric)
    ids = [{**r, "run_id": r["run_id"][:8]} if "run_id" in r else r for r in rows]
    keep = [*trial, *(["error"] if "error" in columns else []), "run_id"]
    for column in others:
        text = console.format_table(ids, [*keep, column])
        if max(len(line) for line in text.splitlines()) > width:
            break
        keep.insert(len(keep) - 1, column)
    return [{c: r[c] for c in keep if c in r} for r in ids]


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
    sort=False,
    exp=None,
    wide=False,
):
    """Print the trials (study order, or sorted by `metric` when `sort`), the pivot and the
    finding; download the sweep's summary plots. Returns the rows."""
    parent = find_sweep(tracker, run_id)
    axes = _planned_axes(exp, parent) if exp is not None else ()
    rows = sweep_rows(tracker, parent, metric, ascending, metric_given, sort=sort, axes=axes)
    ranked = sort and metric and any(r["status"] == "FINISHED" for r in rows)
    order = f"sorted by {metric}{' ascending' if ascending else ''}" if ranked else "study order"
    if fmt == "csv":
        print(render(rows, fmt), end="")
        return rows
    markdown = fmt == "markdown"
    shown = pivot(rows, metric) if metric else None
    finished = sum(r["status"] == "FINISHED" for r in rows)
    about = (
        f"sweep {parent.run_id} ({parent.name}, {parent.status}); {finished} of "
        f"{parent.tags.get('rnnexp.trials', '?')} planned trial(s) finished, "
        f"{len(rows)} run(s) recorded"
    )
    verdict = parent.tags.get("finding")
    finding = f"{verdict} - {parent.tags.get('finding.message', '')}" if verdict else None
    if markdown:
        print(f"## {parent.name}\n\n{console.markdown_text(about)}\n")
        if finding:
            print(f"**finding:** {console.markdown_text(finding)}\n")
        if shown:
            print(f"{console.format_table(shown[0], markdown=True)}\n\n_{shown[1]}_\n")
        print(f"Trials ({order}):\n\n{render(rows, fmt)}")
    else:
        print(render(rows if wide else narrow(rows, metric), fmt))
        print(f"\n{about}; {order}")
        if shown:
            print(f"\n{console.format_table(shown[0])}\n({shown[1]})")
        if finding:
            print(f"\nfinding: {finding}")
        from rnnexp.tracking.ui import browse_lines

        print("\n".join(browse_lines(tracker, parent.run_id, [r["run_id"] for r in rows])))
    if plots_dir:
        try:
            folder = tracker.download(parent.run_id, "summary", Path(plots_dir))
        except OSError as err:
            raise ConfigError(f"--plots {plots_dir}: cannot write there ({err.strerror})") from None
        pngs = sorted(folder.glob("*.png")) if folder else []
        if not markdown:
            print("plots: " + (", ".join(str(p) for p in pngs) or "none recorded"))
    return rows
