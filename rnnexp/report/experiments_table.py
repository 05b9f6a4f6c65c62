"""The README's findings table: one line per experiment, generated from the catalog and records.

Each row holds the experiment's claim (its class's `description`), its headline
check measured over the recorded seeds of its `ci` record (mean and 95% interval,
`rnnexp.report.stats.mean_interval`), the finding's robustness (seeds passed, tightest
margin) and a link to its generated page. No number here is typed by hand: they
come from `robustness/NAME-ci.json`, which `python -m rnnexp robustness NAME`
writes. `python -m rnnexp docs --write` rewrites the table between its markers
(with the pages and figures), and a test keeps the README in step. Reads class
attributes and JSON only: nothing here trains or imports a framework.
"""

import json
import math
import re
from pathlib import Path

from rnnexp.config import ConfigError
from rnnexp.names import plain_label
from rnnexp.report.robustness_table import margin_text, seeds_text, write_between_markers

__all__ = [
    "BEGIN",
    "CELL_LIMIT",
    "END",
    "hand_typed_measurements",
    "headline_cell",
    "headline_label",
    "values_interval_text",
    "outcome_unit",
    "read_record",
    "render",
    "robustness_cell",
    "row",
    "write",
]

BEGIN = "<!-- experiments-table:begin (generated: python -m rnnexp docs --write) -->"
END = "<!-- experiments-table:end -->"
PROFILE = "ci"  # the profile CI asserts, and the one whose record the table quotes
CELL_LIMIT = 120  # characters: a row a person reads at a glance


def read_record(path: Path) -> dict:
    """The robustness record at `path`; a broken one is one clear `ConfigError`."""
    try:
        record = json.loads(Path(path).read_text())
        fault = _record_fault(record)
    except ValueError as err:
        fault = f"{type(err).__name__}: {err}"
    if fault:
        name = Path(path).name.rsplit("-", 1)[0]
        raise ConfigError(
            f"{path} is not a robustness record ({fault}); "
            f"restore it from git or rerun `python -m rnnexp robustness {name}`"
        )
    return record


def _record_fault(record) -> str | None:
    """What a page needs and `record` lacks, or None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    summary = record.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("seeds"), list):
        return "no summary.seeds"
    if not isinstance(record.get("outcomes"), list):
        return "no outcomes"
    return None


# A decimal number in a class's prose is a measurement typed by hand (settings are
# config values, constants are named): it belongs in a record, and its page quotes it.
_DECIMAL = re.compile(r"\d\.\d")
# Attributes that held hand-typed results before the records did.
RETIRED = ("expected", "runtime")


def hand_typed_measurements(exp) -> list[str]:
    """What in `exp`'s class reads as a hand-typed measured number; empty when none does."""
    faults = []
    for klass in type(exp).__mro__:
        for attr in RETIRED:
            if attr in vars(klass):
                faults.append(
                    f"{klass.__name__}.{attr}: measured results live in robustness/*.json; "
                    "its page is generated from them"
                )
    for attr in ("description", "shows", "headline"):
        text = getattr(exp, attr, "") or ""
        for match in _DECIMAL.finditer(text):
            around = text[max(0, match.start() - 25) : match.end() + 25]
            faults.append(f"{exp.name}.{attr}: a decimal number, {around!r}")
    return faults


def _ci_record(name: str, records_dir) -> dict | None:
    path = Path(records_dir) / f"{name}-{PROFILE}.json"
    return read_record(path) if path.is_file() else None


def robustness_cell(name: str, records_dir="robustness") -> str:
    """`passed/seeds at seeds ...; smallest margin ...: check` from `name`'s ci record.

    Records are read from `records_dir` (`robustness/` under the working directory,
    where `python -m rnnexp robustness` writes them); no record: "not measured".
    """
    record = _ci_record(name, records_dir)
    if record is None:
        return "not measured"
    summary = record["summary"]
    try:
        seeds = seeds_text(summary["seeds"], record.get("seeds_per_sweep", 1))
        text = f"{summary['passed']}/{len(summary['seeds'])} at seeds {seeds}"
        margins = summary["smallest_margins"]
    except (KeyError, TypeError) as err:
        raise ConfigError(
            f"{Path(records_dir) / f'{name}-{PROFILE}.json'} is not a robustness record "
            f"({type(err).__name__}: {err}); restore it from git or rerun "
            f"`python -m rnnexp robustness {name}`"
        ) from None
    if not margins:
        return text
    # The tightest check; margins of `log` checks are in decades, the others in the value's units.
    label, item = min(margins.items(), key=lambda kv: _sort_key(kv[1]))
    full = f"{text}; smallest margin {margin_text(item)}: {plain_label(label)}"
    return full if len(full) <= CELL_LIMIT else f"{text}; smallest margin {margin_text(item)}"


def _sort_key(item) -> float:
    return float("-inf") if item["margin"] is None else item["margin"]


def headline_label(exp, record: dict) -> str | None:
    """The check a row quotes: the class's `headline` where the record has it, else the first."""
    labels = list(dict.fromkeys(c["label"] for o in record["outcomes"] for c in o["checks"]))
    if not labels:
        return None
    wanted = getattr(exp, "headline", "")
    return wanted if wanted in labels else labels[0]


def check_values(record: dict, label: str) -> list[dict]:
    """`[{seed, value, op, threshold, log, margin, passed}]` of one check, seed by seed."""
    out = []
    for o in record["outcomes"]:
        for c in o["checks"]:
            if c["label"] == label:
                out.append({**c, "seed": o["seed"]})
    return out


def values_interval_text(values, log: bool = False, unit: str = "seed") -> str:
    """`0.151 ± 0.003 (5 seeds)`; for a `log` check, of log10(value): `10^(-3.2 ± 0.4)`.

    `unit` is what each value came from: a `seed`, or a `sweep` of several seeds.
    """
    from rnnexp.report.stats import mean_interval

    finite = [v for v in values if v is not None and math.isfinite(v)]
    if log:
        finite = [math.log10(max(v, 1e-300)) for v in finite]
    lost = len(values) - len(finite)
    suffix = f", {lost} NaN" if lost else ""
    if not finite:
        return f"no finite value ({len(values)} {unit}s)"
    iv = mean_interval(finite)
    if iv.n < 2:
        number = f"10^{iv.mean:.2g}" if log else f"{iv.mean:.3g}"
        return f"{number} (1 {unit}{suffix})"
    if log:
        return f"10^({iv.mean:.2g} ± {iv.half:.2g}) ({iv.n} {unit}s{suffix})"
    return f"{iv.mean:.3g} ± {iv.half:.2g} ({iv.n} {unit}s{suffix})"


def outcome_unit(record: dict) -> str:
    """What one outcome of `record` is: a `sweep` of several seeds, or one `seed`."""
    return "sweep" if record.get("seeds_per_sweep", 1) > 1 else "seed"


def headline_cell(exp, records_dir="robustness") -> str:
    """The headline check of the ci record: `label: mean ± interval (n seeds; asserted op thr)`."""
    record = _ci_record(exp.name, records_dir)
    if record is None:
        return "not measured"
    label = headline_label(exp, record)
    if label is None:
        return "no checks recorded"
    checks = check_values(record, label)
    log = any(c["log"] for c in checks)
    first = checks[0]
    claim = f"{first['op']} {first['threshold']:g}"
    values = values_interval_text([c["value"] for c in checks], log, outcome_unit(record))
    # The whole label; else up to its first comma (the claim beside it says the statistic).
    for name in (plain_label(label), plain_label(label).split(", ")[0]):
        text = f"{name}: {values}, asserted {claim}"
        if len(text) <= CELL_LIMIT:
            return text
    return f"{values}, asserted {claim}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def page_link(name: str) -> str:
    return f"[`{name}`](docs/experiments/{name}.md)"


def row(exp, records_dir="robustness") -> dict[str, str]:
    """`exp`'s row as `{column: text}` (`python -m rnnexp show NAME` prints it)."""
    return {
        "claim": exp.description,
        "headline": headline_cell(exp, records_dir),
        "robustness": robustness_cell(exp.name, records_dir),
        "page": f"docs/experiments/{exp.name}.md",
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
        f"| experiment | claim | headline check (`{PROFILE}`, mean ± 95% interval over runs) "
        f"| robustness (`{PROFILE}`, fresh seeds) |",
        "|---|---|---|---|",
    ]
    for name in sorted(experiments):
        cells = row(experiments[name], records_dir)
        texts = [page_link(name), cells["claim"], cells["headline"], cells["robustness"]]
        lines.append("| " + " | ".join(_cell(c) or "–" for c in texts) + " |")
    return "\n".join(lines)


def write(path, table: str):
    """Replace the findings table between its markers in `path` (the README)."""
    write_between_markers(path, table, BEGIN, END)
