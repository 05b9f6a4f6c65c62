"""The README's experiments table, generated from the catalog and the robustness records.

Each experiment class states its row once (`shows`, `runtime`, `expected`);
the last column quotes `robustness/NAME-ci.json`, the record `python -m rnnexp
robustness NAME` writes. `python -m rnnexp list --format markdown` prints the
table, `--write README.md` replaces it between its markers, and a test keeps the
README in step. Reads class attributes only: nothing here trains or imports a
framework.
"""

import json
from pathlib import Path

from rnnexp.config import ConfigError
from rnnexp.robustness_table import margin_text, seeds_text, write_between_markers

__all__ = ["BEGIN", "END", "render", "robustness_cell", "row", "write"]

BEGIN = "<!-- experiments-table:begin (generated: python -m rnnexp list --format markdown) -->"
END = "<!-- experiments-table:end -->"
PROFILE = "ci"  # the profile CI asserts, and the one whose robustness is quoted


def robustness_cell(name: str, records_dir="robustness") -> str:
    """`passed/seeds at seeds ...; smallest margin ...: check` from `name`'s ci record.

    Records are read from `records_dir` (`robustness/` under the working directory,
    where `python -m rnnexp robustness` writes them); no record: "not measured".
    """
    path = Path(records_dir) / f"{name}-{PROFILE}.json"
    if not path.is_file():
        return "not measured"
    try:
        record = json.loads(path.read_text())
        summary = record["summary"]
        seeds = seeds_text(summary["seeds"], record.get("seeds_per_sweep", 1))
        text = f"{summary['passed']}/{len(summary['seeds'])} at seeds {seeds}"
        margins = summary["smallest_margins"]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(
            f"{path} is not a robustness record ({type(err).__name__}: {err}); "
            f"restore it from git or rerun `python -m rnnexp robustness {name}`"
        ) from None
    if not margins:
        return text
    # The tightest check; margins of `log` checks are in decades, the others in the value's units.
    label, item = min(margins.items(), key=lambda kv: _sort_key(kv[1]))
    return f"{text}; smallest margin {margin_text(item)}: {label}"


def _sort_key(item) -> float:
    return float("-inf") if item["margin"] is None else item["margin"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def row(exp, records_dir="robustness") -> dict[str, str]:
    """`exp`'s row as `{column: text}` (`python -m rnnexp show NAME` prints it)."""
    return {
        "shows": exp.shows,
        "runtime": exp.runtime,
        "expected": exp.expected,
        "robustness": robustness_cell(exp.name, records_dir),
    }


def render(experiments: dict, records_dir="robustness") -> str:
    """A markdown table, one row per experiment, in catalog (name) order.

    Raises:
        ConfigError: `records_dir` holds no record of any of them (run from
            elsewhere than the checkout's root): a table of "not measured"
            rows would wipe the README's evidence.
    """
    if not any((Path(records_dir) / f"{name}-{PROFILE}.json").is_file() for name in experiments):
        raise ConfigError(
            f"no robustness records in {Path(records_dir).resolve()}; run this from the "
            "checkout's root, where robustness/ holds them"
        )
    lines = [
        "| name | what it shows | runtime on 2 CPU cores | expected result "
        f"| robustness (`{PROFILE}`, fresh seeds) |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(experiments):
        cells = [f"`{name}`", *row(experiments[name], records_dir).values()]
        lines.append("| " + " | ".join(_cell(c) or "–" for c in cells) + " |")
    return "\n".join(lines)


def write(path, table: str):
    """Replace the experiments table between its markers in `path` (the README)."""
    write_between_markers(path, table, BEGIN, END)
