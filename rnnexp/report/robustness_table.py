"""The robustness table of `docs/robustness.md`, generated from `robustness/*.json` records.

Numbers measured by `python -m rnnexp robustness` live in its records; the
page quotes them through this table (`python -m rnnexp docs --write`, or
`python -m rnnexp robustness-table --write FILE` for this table alone), so they
are never typed by hand. A test keeps the two in step.
"""

import json
from pathlib import Path

from rnnexp.names import plain_label

__all__ = [
    "BEGIN",
    "END",
    "layers_text",
    "margin_text",
    "render",
    "seed_ranges",
    "seeds_text",
    "write_between_markers",
]

BEGIN = "<!-- robustness-table:begin (generated: python -m rnnexp robustness-table) -->"
END = "<!-- robustness-table:end -->"


def seed_ranges(seeds) -> str:
    """`[10, 11, 12, 20]` -> `"10–12, 20"`."""
    seeds = sorted(set(seeds))
    parts, start = [], None
    for i, s in enumerate(seeds):
        start = s if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != s + 1:
            parts.append(str(s) if s == start else f"{start}–{s}")
            start = None
    return ", ".join(parts)


def seeds_text(starts, per_sweep: int) -> str:
    """The seeds trained: each sweep's start, or every seed of sweeps that pool several."""
    if per_sweep <= 1:
        return seed_ranges(starts)
    trained = [s + k for s in starts for k in range(per_sweep)]
    sweeps = "1 sweep" if len(starts) == 1 else f"{len(starts)} sweeps"
    return f"{seed_ranges(trained)} ({sweeps} of {per_sweep})"


def margin_text(item) -> str:
    """A check's smallest margin from a record's summary: `+0.204 (seed 13)`."""
    if item["margin"] is None:
        return "nan (seed {})".format(item["seed"])
    unit = " dec" if item["log"] else ""
    return f"{item['margin']:+.3g}{unit} (seed {item['seed']})"


def layers_text(outcomes) -> str:
    """The Keras backend and time loop the outcomes ran on: `tensorflow, step`."""
    return "; ".join(sorted({o.get("layers") or "not recorded" for o in outcomes})) or "–"


def _median_wall(outcomes) -> float | None:
    """The median wall time of the recorded sweeps (a mean would let one slow machine lead)."""
    import statistics

    walls = [o["wall_s"] for o in outcomes if o.get("wall_s") is not None]
    return statistics.median(walls) if walls else None


def _minutes(seconds) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f} min"


def render(records_dir="robustness") -> str:
    """A markdown table: one row per check of every recorded finding.

    Raises:
        ConfigError: `records_dir` holds no record, or one that is not JSON.
    """
    from rnnexp.config import ConfigError

    paths = sorted(Path(records_dir).glob("*.json"))
    if not paths:
        raise ConfigError(
            f"no robustness records in {Path(records_dir).resolve()}; run this from the "
            "checkout's root, or name the folder with --records"
        )
    records = []
    for path in paths:
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError) as err:
            raise ConfigError(
                f"{path} is not a robustness record ({err}); restore it (`git checkout -- "
                f"{path}`) or move it out of {records_dir}"
            ) from None
    lines = [
        "| experiment | profile | layers | seeds | passed | check | smallest margin "
        "| wall time per sweep (median) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in sorted(records, key=lambda r: (r["experiment"], r["profile"])):
        summary = record["summary"]
        head = [
            f"`{record['experiment']}`",
            record["profile"] + (" +overrides" if record["overrides"] else ""),
            layers_text(record["outcomes"]),
            seeds_text(summary["seeds"], record.get("seeds_per_sweep", 1)),
            f"{summary['passed']}/{len(summary['seeds'])}",
        ]
        checks = list(summary["smallest_margins"].items()) or [("(no checks)", None)]
        for k, (label, item) in enumerate(checks):
            cells = head if k == 0 else [""] * len(head)
            margin = margin_text(item) if item else "–"
            wall = _minutes(_median_wall(record["outcomes"])) if k == 0 else ""
            lines.append("| " + " | ".join([*cells, plain_label(label), margin, wall]) + " |")
    return "\n".join(lines)


def write_between_markers(path, table: str, begin: str = BEGIN, end: str = END):
    """Replace what lies between the markers `begin` and `end` in `path` with `table`."""
    from rnnexp.config import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file to write the table into")
    text = path.read_text()
    if begin not in text or end not in text:
        raise ConfigError(f"{path} has no table markers; put {begin!r} and {end!r} where it goes")
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{begin}\n{table}\n{end}{after}")
