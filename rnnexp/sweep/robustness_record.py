"""A robustness record: one JSON file per experiment and profile, the findings' ledger.

`rnnexp.sweep.robustness` appends each seed's outcome as it ends (read, merge,
write atomically, under a lock); the README's tables, the experiment pages and
the false-alarm estimates are generated from these files. A record only ever
holds outcomes of sweeps that ran their trials: anything that cannot be read,
trusted or written is a `RecordError`, and the file is left as it was.

This module holds what a record is made of (`SeedOutcome`, `trial_record`) and
reading one back whole (`load_record`); merging outcomes into it is
`robustness_merge`'s, changing the file on disk `robustness_write`'s.
"""

import dataclasses
import json
import math
import os
import stat
from pathlib import Path

from rnnexp.config import ConfigError
from rnnexp.eta import duration, trial_cost

__all__ = [
    "RECORD_VERSION",
    "RecordError",
    "SeedOutcome",
    "check_record_path",
    "load_record",
    "recorded_estimate",
    "sweep_seed_span",
    "trial_record",
]

RECORD_VERSION = 1


class RecordError(ConfigError):
    """A robustness record that cannot be read, trusted or written; nothing was changed."""


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
    # What a page quotes besides the checks (absent from outcomes recorded before them):
    numbers: dict = dataclasses.field(default_factory=dict)  # the finding's numbers per arm
    backend: str | None = None  # the Keras backend
    device: str | None = None  # "CPU: <model> (N cores)" or "GPU: <name> (xN)"
    data: str | None = None  # the sweep's data source: "path" (real), "synthetic", "generated", ...
    cpu_s: float | None = None  # this process's CPU time: a cost that other jobs' load leaves alone
    # Each trial: its parameters, status, final metrics, per-epoch curves (`epoch_seconds`
    # among them, so a table can quote an early epoch) and small extras the study figure reads.
    trials: list = dataclasses.field(default_factory=list)

    @classmethod
    def of(
        cls,
        seed,
        finding,
        wall_s,
        parent_run_id=None,
        git_commit=None,
        layers=None,
        environment=None,
        data=None,
        cpu_s=None,
        results=(),
        keep_extras=None,
    ):
        checks = [
            {
                "label": c.label,
                "value": finite_or_none(c.value),
                "op": c.op,
                "threshold": float(c.threshold),
                "log": bool(c.log),
                "margin": finite_or_none(c.margin),
            }
            for c in finding.checks
        ]
        numbers = {str(k): finite_or_none(v) for k, v in finding.numbers.items() if _is_number(v)}
        environment = environment or {}
        return cls(
            seed,
            bool(finding.passed),
            round(wall_s, 1),
            checks,
            finding.message,
            parent_run_id,
            git_commit,
            layers,
            numbers,
            environment.get("keras.backend"),
            environment.get("device"),
            data,
            None if cpu_s is None else round(cpu_s, 1),
            [trial_record(r, keep_extras) for r in results],
        )


def _short(value):
    """A number kept to 6 significant digits (a record, not a checkpoint); None if not finite."""
    if isinstance(value, int) and not isinstance(value, bool):  # a count stays a count
        return value
    value = finite_or_none(value)
    return value if value is None else float(f"{value:.6g}")


MAX_EXTRA_NUMBERS = 5000  # a trial's extras a record keeps: curves yes, weights or samples no


def trial_record(result, keep=None) -> dict:
    """One trial as `{"trial", "status", ["error",] "metrics", "epochs", "extras"}`.

    `keep` (an experiment's `record_extras`) picks the extras kept; by default all.
    """
    from rnnexp.results import EPOCHS_EXTRA

    def plain_value(v):
        if getattr(v, "ndim", None) == 0:
            v = v.item()  # a NumPy scalar
        if isinstance(v, (str, bool, int)) or v is None:
            return v
        if isinstance(v, float):
            return _short(v)
        if isinstance(v, dict):
            return {str(k): plain_value(x) for k, x in v.items()}
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            return [plain_value(x) for x in v]
        raise TypeError(type(v).__name__)

    def size(v):
        if isinstance(v, (list, tuple)):
            return sum(size(x) for x in v)
        if isinstance(v, dict):
            return sum(size(x) for x in v.values())
        return 1

    chosen = {k: v for k, v in result.extras.items() if k != EPOCHS_EXTRA}  # kept as "epochs"
    extras = {}
    for key, value in (keep(chosen) if keep else chosen).items():
        try:
            kept = plain_value(value)
        except TypeError:
            continue  # a model, a tokenizer: not data a figure reads
        if size(kept) <= MAX_EXTRA_NUMBERS:
            extras[str(key)] = kept
    epochs = {
        str(k): [_short(v) if _is_number(v) else None for v in values]
        for k, values in (result.extras.get(EPOCHS_EXTRA) or {}).items()
    }
    return {
        "trial": {str(k): plain_value(v) for k, v in result.trial.items()},
        "status": result.status,
        **({"error": str(result.error)[:300]} if result.error else {}),  # a finding may read it
        "metrics": {str(k): _short(v) for k, v in result.metrics.items() if _is_number(v)},
        "epochs": epochs,
        "extras": extras,
    }


def sweep_seed_span(exp, cfg) -> int:
    """How many consecutive seeds one sweep uses (`seed`, `seed + 1`, ...; at least 1).

    exploding_clipping's sweep pools its seeds (36 in ci): robustness runs at seeds that far
    apart, so no two of its sweeps share a trial.
    """
    seeds = [t["seed"] for t in exp.trials(cfg) if "seed" in t]
    return max(seeds) - min(seeds) + 1 if seeds else 1


def _is_number(value) -> bool:
    """A scalar a record can hold (Python or NumPy number); strings and arrays are not."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def finite_or_none(value):
    """JSON has no inf/nan: a non-finite margin (a NaN value) is recorded as None."""
    value = float(value)
    return value if math.isfinite(value) else None


def check_record_path(path):
    """Refuse, before anything trains, a record path that cannot be read and replaced."""
    path = Path(path)
    fix = "name a .json file, or `--record -` for none"
    if path.exists():
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise RecordError(f"--record {path} is a folder; {fix}")
        if not stat.S_ISREG(mode):
            raise RecordError(f"--record {path} is not a regular file (a FIFO or device?); {fix}")
        if not os.access(path, os.R_OK):
            raise RecordError(f"--record {path} is not readable; fix its permissions or {fix}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders to create go under the first that exists
    if not folder.is_dir():
        raise RecordError(f"--record {path}: {folder} is a file, not a folder; {fix}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RecordError(f"--record {path}: the folder {folder} is not writable; {fix}")


def load_record(path) -> dict | None:
    """The record at `path`, checked whole; None when there is none yet.

    Raises:
        RecordError: the path is a folder or special file, the file is not
            JSON (truncated, hand-edited) or not a robustness record.
    """
    path = Path(path)
    check_record_path(path)
    if not path.exists():
        return None
    restore = f"restore it (`git checkout -- {path}`) or pass --record another file"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RecordError(f"{path} is not a robustness record (not UTF-8); {restore}") from None
    except json.JSONDecodeError as err:
        raise RecordError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}; "
            f"truncated?); {restore}"
        ) from None
    except OSError as err:
        raise RecordError(f"cannot read {path}: {err.strerror or err}") from None
    problem = _record_problem(record)
    if problem:
        raise RecordError(f"{path} is not a robustness record: {problem}; {restore}")
    return record


def recorded_estimate(exp, profile: str, cfg, overrides: dict, records=None) -> str:
    """A sweep's expected wall time from the recorded sweeps (`robustness/NAME-PROFILE.json`).

    The same profile without overrides: the recorded mean. Otherwise the `ci` record scaled
    by the sweeps' total trial cost (`trial_cost`). Says its basis, or that there is none.
    """
    import json
    from pathlib import Path

    from rnnexp.registry import SOURCE_EXPERIMENTS

    folders = (
        [Path(records)]
        if records
        else [Path("robustness"), SOURCE_EXPERIMENTS.parent / "robustness"]
    )

    def mean_wall(name):
        for folder in folders:
            path = folder / f"{exp.name}-{name}.json"
            try:
                summary = json.loads(path.read_text())["summary"]
                return summary["mean_wall_s"], len(summary["seeds"]), path
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    same = mean_wall(profile) if not overrides else None
    if same and same[0]:
        return f"~{duration(same[0])}, the mean of {same[1]} recorded sweep(s) ({same[2].name})"
    ci = mean_wall("ci")
    if not ci or not ci[0]:
        return "unknown (no recorded sweep of this experiment)"
    ci_cfg = exp.resolve("ci")
    ours = [trial_cost(cfg, t) for t in exp.trials(cfg)]
    theirs = [trial_cost(ci_cfg, t) for t in exp.trials(ci_cfg)]
    scale = sum(c for c, _ in ours) / sum(c for c, _ in theirs)
    return (
        f"~{duration(ci[0] * scale)}, the recorded ci sweeps ({ci[2].name}) scaled by trial "
        f"cost {ours[0][1]}"
    )


def _record_problem(record) -> str | None:
    """What makes `record` unusable as a robustness record, or None."""
    if not isinstance(record, dict):
        return f"expected an object, found {type(record).__name__}"
    for key, kind in (("experiment", str), ("profile", str), ("overrides", dict)):
        if not isinstance(record.get(key), kind):
            return f"{key!r} missing or not a {kind.__name__}"
    if not isinstance(record.get("outcomes"), list):
        return "'outcomes' missing or not a list"
    seen = set()
    for k, o in enumerate(record["outcomes"]):
        where = f"outcome {k + 1}"
        if not isinstance(o, dict):
            return f"{where} is not an object"
        seed = o.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            return f"{where} has no seed (an integer >= 0)"
        if seed in seen:
            return f"seed {seed} is recorded twice"
        seen.add(seed)
        if not isinstance(o.get("passed"), bool):
            return f"{where} (seed {seed}) has no 'passed' (true or false)"
        if not _is_plain_number(o.get("wall_s")):
            return f"{where} (seed {seed}) has no 'wall_s' (seconds)"
        if not isinstance(o.get("checks"), list):
            return f"{where} (seed {seed}) has no 'checks' list"
        for c in o["checks"]:
            if not (
                isinstance(c, dict)
                and isinstance(c.get("label"), str)
                and isinstance(c.get("op"), str)
                and _is_plain_number(c.get("threshold"))
                and isinstance(c.get("log"), bool)
                and (c.get("margin") is None or _is_plain_number(c.get("margin")))
            ):
                return f"{where} (seed {seed}) has a check without label/op/threshold/log/margin"
    return None


def _is_plain_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
