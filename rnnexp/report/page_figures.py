"""The figures the generated docs show, drawn from the records.

`docs/findings.png` (every finding's tightest margin across seeds), each record's
`docs/experiments/NAME-PROFILE-margins.png`, and each experiment's study figure
drawn from the trials its record kept.
"""

import math
from pathlib import Path

from rnnexp.names import plain_label
from rnnexp.report import experiments_table
from rnnexp.report.experiment_page import (
    check_labels,
    answer_path,
    figure_path,
    recorded_results,
    records_of,
)
from rnnexp.report.experiments_table import check_values, read_record
from rnnexp.report.robustness_table import seeds_text

__all__ = ["FOREST", "write_figures"]

FOREST = "docs/findings.png"


def _forest_rows(experiments: dict, records_dir) -> list[tuple]:
    """One row per finding: its tightest check in the ci record, every seed's margin."""
    from rnnexp.report.stats import mean_interval

    rows = []
    for name in sorted(experiments):
        path = Path(records_dir) / f"{name}-{experiments_table.PROFILE}.json"
        if not path.is_file():
            continue
        record = read_record(path)
        worst = None
        for label in check_labels(record):
            checks = check_values(record, label)
            lowest = min(-math.inf if c["margin"] is None else c["margin"] for c in checks)
            if worst is None or lowest < worst[0]:
                worst = (lowest, label, checks)
        if worst is None:
            continue
        _, label, checks = worst
        margins = [c["margin"] for c in checks]
        unit = ", decades" if any(c["log"] for c in checks) else ""
        finite = [m for m in margins if m is not None]
        text = f"{name}: {plain_label(label)}{unit}"
        rows.append((text, margins, mean_interval(finite) if finite else None))
    return rows


def _check_rows(record: dict) -> list[tuple]:
    from rnnexp.report.stats import mean_interval

    rows = []
    for label in check_labels(record):
        checks = check_values(record, label)
        margins = [c["margin"] for c in checks]
        unit = " (decades)" if any(c["log"] for c in checks) else ""
        finite = [m for m in margins if m is not None]
        interval = mean_interval(finite) if finite else None
        rows.append((f"{plain_label(label)}{unit}", margins, interval))
    return rows


def write_figures(experiments: dict, root: Path, records_dir) -> list[Path]:
    """Draw the forest plot and every record's margins figure under `root`; return their paths."""
    from rnnexp.report import plots

    written = []
    rows = _forest_rows(experiments, records_dir)
    if rows:
        fig = plots.margins_forest(
            rows,
            title="Every finding's tightest check across recorded seeds (ci profile)",
            xlabel="margin, in each check's own units (symmetric log axis); > 0 holds",
            symlog=True,
        )
        (root / FOREST).parent.mkdir(parents=True, exist_ok=True)
        written.append(plots.save(fig, root / FOREST))
    for name in sorted(experiments):
        for record in records_of(name, records_dir):
            written += _write_study_figure(experiments[name], record, root)
            rows = _check_rows(record)
            if not rows:
                continue
            seeds = seeds_text(record["summary"]["seeds"], record.get("seeds_per_sweep", 1))
            fig = plots.margins_forest(
                rows,
                title=f"{name} ({record['profile']}): margin of each check, seeds {seeds}",
                xlabel="margin, in the check's units (decades where marked); > 0 holds",
                symlog=_spans_decades(rows),
            )
            path = root / figure_path(name, record["profile"])
            path.parent.mkdir(parents=True, exist_ok=True)
            written.append(plots.save(fig, path))
    return written


def _write_study_figure(exp, record: dict, root: Path) -> list[Path]:
    """The experiment's own study figure (`answer_figure`), from the trials the record kept."""
    from rnnexp.report import plots
    from rnnexp.config import ConfigError

    results = recorded_results(record)
    if not results:
        return []
    try:
        cfg = exp.resolve(record["profile"], record.get("overrides") or {})
        fig = exp.answer_figure(cfg, results)
    except Exception as err:  # the page links this figure: a record it cannot draw is a fault
        raise ConfigError(
            f"{exp.name} ({record['profile']}): the study figure cannot be drawn from the "
            f"record's trials ({type(err).__name__}: {err}); rerun "
            f"`python -m rnnexp robustness {exp.name} --profile {record['profile']}`"
        ) from None
    path = root / answer_path(exp.name, record["profile"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return [plots.save(fig, path)]


def _spans_decades(rows) -> bool:
    """Whether one linear axis would squash some rows (their margins differ > 100x in size)."""
    sizes = [abs(m) for _, margins, _ in rows for m in margins if m]
    return bool(sizes) and max(sizes) > 100 * min(sizes)
