"""How robust is a finding to the seed: run one profile at several seeds.

`python -m rnnexp robustness NAME --seeds K --start S` runs the profile's
normal tracked sweep at K absolute seeds S, S+n, S+2n, ... -- n is how many
seeds one sweep uses (1 for most `ci` profiles), so sweeps never share a
trial and each seed is a fresh draw -- and collects,
per seed, PASS/FAIL and every check's margin (`catalog.Check.margin`: how far
the measured value is from its threshold; in decades for `log` checks). The
summary -- pass rate, the smallest margin of each check, margins per seed --
goes to an MLflow run (`rnnexp.role=robustness`) and to a JSON record that
the README's robustness table is generated from (`rnnexp.report.robustness_table`).
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from rnnexp import console
from rnnexp.report import false_alarm
from rnnexp.config import ConfigError, flatten
from rnnexp.names import plain_label

__all__ = [
    "RecordError",
    "SeedOutcome",
    "check_record_path",
    "config_signature",
    "load_record",
    "merge_records",
    "rejudge_record",
    "run_robustness",
    "summarize",
    "sweep_seed_span",
]

RECORD_VERSION = 1
LOCK_WAIT_S = 30  # another run holds a record's lock for a write: milliseconds


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
                "value": _finite_or_none(c.value),
                "op": c.op,
                "threshold": float(c.threshold),
                "log": bool(c.log),
                "margin": _finite_or_none(c.margin),
            }
            for c in finding.checks
        ]
        numbers = {str(k): _finite_or_none(v) for k, v in finding.numbers.items() if _is_number(v)}
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
    value = _finite_or_none(value)
    return value if value is None else float(f"{value:.6g}")


MAX_EXTRA_NUMBERS = 5000  # a trial's extras a record keeps: curves yes, weights or samples no


def trial_record(result, keep=None) -> dict:
    """One trial as `{"trial", "status", ["error",] "metrics", "epochs", "extras"}`.

    `keep` (an experiment's `record_extras`) picks the extras kept; by default all.
    """
    from rnnexp.catalog import EPOCHS_EXTRA

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


def _finite_or_none(value):
    """JSON has no inf/nan: a non-finite margin (a NaN value) is recorded as None."""
    value = float(value)
    return value if math.isfinite(value) else None


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
        finding = {_finding_signature(o) for o in new["outcomes"] if o["checks"]}
        layers = {o.get("layers") for o in new["outcomes"]}
        keep = [
            o
            for o in old.get("outcomes", [])
            if o["seed"] not in fresh
            and (not finding or _finding_signature(o) in finding)
            and o.get("layers") in layers
        ]
    outcomes = sorted(keep + new["outcomes"], key=lambda o: o["seed"])
    summary = summarize(outcomes)
    for item in summary["smallest_margins"].values():  # JSON has no -inf
        item["margin"] = _finite_or_none(item["margin"])
    return {**new, "outcomes": outcomes, "summary": summary}


def config_signature(cfg) -> str:
    """A digest of the resolved config a sweep ran, its base seed left out."""
    settings = {k: v for k, v in flatten(cfg).items() if k != "seed"}
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _finding_signature(outcome: dict) -> tuple:
    """What an outcome was judged by: its checks' labels, operators and thresholds."""
    return tuple(sorted((c["label"], c["op"], c["threshold"]) for c in outcome["checks"]))


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


_HEADER = ("experiment", "profile", "overrides", "seeds_per_sweep", "config")


def _drops(old: dict | None, new: dict) -> tuple[list[dict], str]:
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


def _seed_list(outcomes) -> str:
    from rnnexp.report.robustness_table import seed_ranges

    return seed_ranges(o["seed"] for o in outcomes)


@contextlib.contextmanager
def _records_locked(folder: Path):
    """One writer at a time in `folder`: a read-merge-write of a record is not interleaved.

    `flock` on the folder itself: no lock file is left among the records, and
    the kernel releases the lock when its process dies, however it dies.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one writer at a time is on the user
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        deadline, said = time.monotonic() + LOCK_WAIT_S, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    console.say(f"robustness: waiting for another process writing to {folder}")
                    said = True
                if time.monotonic() > deadline:
                    raise RecordError(
                        f"another process has held the lock on {folder} for {LOCK_WAIT_S} s; "
                        "see which (`fuser -v` on the folder) and try again"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_atomically(path: Path, record: dict):
    """Replace `path` by `record` in one step: a reader sees the old file or the new, never half."""
    text = json.dumps(record, indent=1) + "\n"
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            why = err.strerror or err
            raise RecordError(f"cannot write {path}: {why}; it is left as it was") from None
        raise


def save_outcomes(path, new: dict, replace: bool = False) -> dict:
    """Merge `new` into the record at `path` under its folder's lock, atomically.

    Outcomes already recorded are dropped or replaced only with `replace`,
    and then said; otherwise `RecordError`, and the file is left as it was.

    Returns:
        The merged record, as written.
    """
    path = Path(path)
    check_record_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _records_locked(path.parent):
        old = load_record(path)
        gone, why = _drops(old, new)
        if gone and not replace:
            raise RecordError(
                f"{path} holds {len(gone)} outcome(s) (seeds {_seed_list(gone)}) this run would "
                f"drop: {why}; nothing was written. --replace drops them, or --record another file"
            )
        if gone:
            dropped = _seed_list(gone)
            console.say(f"robustness: --replace: dropped seeds {dropped} from {path} ({why})")
        record = merge_records(old, new)
        _write_atomically(path, record)
    return record


def compact_record(path, exp) -> tuple[int, int, list[str]]:
    """Apply `exp.record_extras` to every trial the record at `path` kept, in place.

    For a record written before its experiment kept less of each trial: the
    outcomes and their checks stay as they are; only extras a figure does not
    read are dropped. Atomic, under the folder's lock.

    Returns:
        `(bytes before, bytes after, the extras keys dropped)`.
    """
    from rnnexp.catalog import TrialResult

    path = Path(path)
    with _records_locked(path.parent):
        record = load_record(path)
        if record is None:
            raise RecordError(f"no record at {path}")
        before, dropped = path.stat().st_size, set()
        for outcome in record["outcomes"]:
            for trial in outcome.get("trials") or []:
                extras = trial.get("extras") or {}
                kept = trial_record(TrialResult(trial["trial"], extras=extras), exp.record_extras)
                dropped |= set(extras) - set(kept["extras"])
                trial["extras"] = kept["extras"]
        if dropped:
            _write_atomically(path, record)
    return before, path.stat().st_size, sorted(dropped)


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


def _rejudged(exp, cfg, outcome, where: str) -> dict | None:
    """`outcome` judged again from its trials: the fields that change, or None if none do.

    Raises:
        RecordError: the trials cannot give the finding, or give a check both
            findings share otherwise than recorded.
    """
    from rnnexp.catalog import EPOCHS_EXTRA, TrialResult

    try:
        results = [
            TrialResult(
                t["trial"],
                t["status"],
                t["metrics"],
                {**t.get("extras", {}), EPOCHS_EXTRA: t.get("epochs", {})},
                t.get("error"),
            )
            for t in outcome.get("trials") or []
        ]
    except (KeyError, TypeError) as err:
        raise RecordError(f"{where} has a trial without {err}") from None
    if not results:
        raise RecordError(f"{where} kept no trials to judge")
    try:
        fresh = SeedOutcome.of(outcome["seed"], exp.finding(cfg, results), 0.0)
    except Exception as err:  # noqa: BLE001 - a finding reading what the record lacks
        raise RecordError(
            f"{where}: the finding cannot be computed from the trials the record kept "
            f"({type(err).__name__}: {err})"
        ) from None
    recorded = {(c["label"], c["op"], c["threshold"]): c for c in outcome["checks"]}
    checks = []
    for c in fresh.checks:
        kept = recorded.get((c["label"], c["op"], c["threshold"]))
        checks.append(kept or c)  # a check both findings share keeps its recorded value
        if kept is None:
            continue
        was, now = kept["value"], c["value"]
        same = (was is None and now is None) or (
            was is not None
            and now is not None
            and math.isclose(was, now, rel_tol=1e-4, abs_tol=1e-6)
            and ((kept["margin"] or 0) >= 0) == ((c["margin"] or 0) >= 0)
        )
        if not same:
            raise RecordError(
                f"{where}: its check {c['label']!r} comes out {now}, recorded {was}: the "
                "record lacks what the finding reads"
            )
    if _finding_signature(dataclasses.asdict(fresh)) == _finding_signature(outcome):
        if fresh.passed != outcome["passed"]:
            raise RecordError(f"{where}: judged as recorded, yet its verdict comes out otherwise")
        return None  # judged as now already: kept as recorded, unrounded
    return {
        "passed": fresh.passed,
        "checks": checks,
        "message": fresh.message,
        "numbers": fresh.numbers,
    }


def rejudge_record(path, exp) -> list[tuple[int, bool, bool]]:
    """Judge every outcome of the record at `path` again by `exp`'s finding, in place.

    For a finding restated (another statistic or threshold) while its sweeps
    stay as they were: each outcome's checks, verdict, message and numbers are
    computed again from the trials the record kept, and it is stamped
    `rejudged`. Refused, with the record left as it was, where the sweeps now
    run otherwise (`run_signature`; a record written before it must match
    `config_signature`, and then is stamped with it), or where the trials
    cannot give the finding. Atomic, under the folder's lock.

    Returns:
        `(seed, passed before, passed now)` per outcome.
    """
    from rnnexp.tracking.provenance import git_tags

    path = Path(path)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    tags = git_tags()
    stamp = {"at": now, "git_commit": tags.get("git.commit"), "git_dirty": tags.get("git.dirty")}
    with _records_locked(path.parent):
        record = load_record(path)
        if record is None:
            raise RecordError(f"no record at {path}")
        if not record["outcomes"]:
            raise RecordError(f"{path} holds no outcome to judge")
        overrides, reads = record["overrides"], exp.trial_reads_finding
        cfg = exp.resolve(record["profile"], {**overrides, "seed": record["outcomes"][0]["seed"]})
        ran = record.get("run_config")
        if (ran or run_signature(cfg, reads)) != run_signature(cfg, reads) or (
            ran is None and record.get("config") != config_signature(cfg)
        ):
            raise RecordError(
                f"{path}: its sweeps ran another config than `{record['profile']}` runs now; "
                "rejudging judges the same sweeps only. Run the seeds again instead"
            )
        verdicts, changed = [], {}
        for outcome in record["outcomes"]:
            seed = outcome["seed"]
            cfg = exp.resolve(record["profile"], {**overrides, "seed": seed})
            try:
                update = _rejudged(exp, cfg, outcome, f"{path}: seed {seed}")
            except RecordError as err:
                raise RecordError(f"{err}; nothing was changed") from None
            if update is not None:
                changed[seed] = {**update, "rejudged": stamp}  # the checks are this late
            verdicts.append((seed, outcome["passed"], (update or outcome)["passed"]))
        for outcome in record["outcomes"]:
            outcome.update(changed.get(outcome["seed"], {}))
        header = {"config": config_signature(cfg), "run_config": run_signature(cfg, reads)}
        record = merge_records(
            None, {**record, **header, "updated": now if changed else record.get("updated")}
        )
        _write_atomically(path, record)
    return verdicts


def _metric_key(label: str) -> str:
    """An MLflow-safe metric name for a check label."""
    return re.sub(r"[^\w.\- /]", "_", label).strip()[:200]


def _margins_figure(outcomes: list[dict], title: str):
    from rnnexp.report import plots

    labels = list(dict.fromkeys(c["label"] for o in outcomes for c in o["checks"]))
    series = {}
    for label in labels:
        points = [
            (o["seed"], c["margin"] if c["margin"] is not None else math.nan)
            for o in outcomes
            for c in o["checks"]
            if c["label"] == label
        ]
        logged = any(c["log"] for o in outcomes for c in o["checks"] if c["label"] == label)
        unit = " (decades)" if logged else ""
        series[f"{plain_label(label)}{unit}"] = (
            [s for s, _ in points],
            [m for _, m in points],
            None,
        )
    return plots.lines_with_spread(
        series,
        xlabel="seed",
        ylabel="margin (check's units; > 0 holds)",
        title=title,
        hline=0.0,
        hline_label="threshold",
    )


def run_robustness(
    exp,
    *,
    profile: str,
    seeds: list[int],
    tracker,
    overrides: dict | None = None,
    record_path: Path | None = None,
    replace: bool = False,
) -> dict:
    """Run `exp`'s `profile` once per absolute seed; log and return the record.

    Each seed is the normal tracked sweep (`runner.run_experiment`). Its
    outcome is merged into `record_path` as soon as it is known (atomically,
    under a lock), so an interrupted run keeps every seed it finished. Only
    sweeps that ran their trials are outcomes: a sweep that raises (a store
    or data fault), loses a trial or finishes none stops the run with the
    record as it was. The record is read and checked before anything trains;
    seeds it holds are skipped, and outcomes it holds for another config,
    finding or layers are refused, unless `replace` (which says what it drops).

    Returns:
        The record: experiment, profile, overrides, `outcomes` (one per seed,
        merged with those already in `record_path`) and `summary`.
    """
    from rnnexp.layers.recurrent import layers_label
    from rnnexp.tracking.provenance import environment_tags, git_tags

    overrides = {k: v for k, v in (overrides or {}).items() if k != "seed"}
    commit = git_tags().get("git.commit")
    layers = layers_label(impl=overrides.get("model.impl", "rnnexp"))
    first = exp.resolve(profile, {**overrides, "seed": seeds[0]})
    header = {
        "version": RECORD_VERSION,
        "experiment": exp.name,
        "profile": profile,
        "overrides": overrides,
        "seeds_per_sweep": sweep_seed_span(exp, first),
        "config": config_signature(first),
        "run_config": run_signature(first, exp.trial_reads_finding),
    }
    record = None
    if record_path is not None:
        record_path = Path(record_path)
        record = load_record(record_path)  # a broken record is refused before training
        nothing_yet = {"seed": -1, "passed": False, "wall_s": 0, "checks": [], "layers": layers}
        gone, why = _drops(record, {**header, "outcomes": [nothing_yet]})
        if gone and not replace:
            raise RecordError(
                f"{record_path} holds {len(gone)} outcome(s) (seeds {_seed_list(gone)}) this run "
                f"would drop: {why}. --replace drops them, or --record another file"
            )
        recorded = {o["seed"] for o in (record or {}).get("outcomes", [])}
        if recorded & set(seeds) and not replace:
            console.say(
                f"robustness: seeds {_seed_list({'seed': s} for s in recorded & set(seeds))} are "
                f"recorded in {record_path} already: skipped (--replace runs them again)"
            )
            seeds = [s for s in seeds if s not in recorded]
    outcomes = []
    for seed in seeds:
        finding, wall_s, cpu_s, parent_run_id, data, results = _run_seed(
            exp, profile, overrides, seed, tracker, record_path
        )
        result = dataclasses.asdict(
            SeedOutcome.of(
                seed,
                finding,
                wall_s,
                parent_run_id,
                commit,
                layers,
                environment_tags(),
                data,
                cpu_s,
                results,
                exp.record_extras,
            )
        )
        outcomes.append(result)
        _print_seed(result, header.get("seeds_per_sweep", 1))
        if record_path is not None:
            stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            new = {**header, "updated": stamp, "outcomes": [result]}
            record = save_outcomes(record_path, new, replace)

    this_run = merge_records(None, {**header, "outcomes": outcomes})
    if not outcomes:
        console.say("robustness: no seed to run")
        return record or this_run
    _log_summary(exp, profile, tracker, this_run, seeds)
    _print_summary(this_run["summary"], record_path, record, header.get("seeds_per_sweep", 1))
    kept = record if record_path is not None else this_run
    for label, (estimate, _) in false_alarm.record_estimates(kept, record_path).items():
        console.say(f"    chance a fresh ci run fails {label}: {estimate}")
    return kept


def _run_seed(exp, profile, overrides, seed, tracker, record_path):
    """`(finding, wall_s, cpu_s, parent_run_id, data source, results)` of one seed's sweep.

    Raises:
        The sweep's own error, or `RecordError` for a sweep that lost a trial
        or finished none: a fault, not a finding, so nothing is recorded.
    """
    from rnnexp.sweep import runner

    seed_overrides = {**overrides, "seed": seed}
    cfg = exp.resolve(profile, seed_overrides)
    console.say(f"robustness: {exp.name} ({profile}) at seed {seed}")
    start, cpu_start = time.monotonic(), time.process_time()
    kept = f"; {record_path} keeps the seeds finished before" if record_path else ""
    try:
        outcome = runner.run_experiment(
            exp, cfg, profile=profile, tracker=tracker, overrides=seed_overrides
        )
    except Exception:
        console.say(
            f"robustness: seed {seed}'s sweep stopped before it finished: not recorded{kept}"
        )
        raise
    finished = [r for r in outcome.results if r.status == "FINISHED"]
    if outcome.lost or not finished:
        first = next((r.error for r in outcome.results if r.error), "no reason recorded")
        what = f"lost {outcome.lost} trial(s)" if outcome.lost else "finished no trial"
        raise RecordError(
            f"seed {seed}'s sweep {what} ({first}): a fault, not a finding, so it is not "
            f"recorded{kept}"
        )
    wall_s, cpu_s = time.monotonic() - start, time.process_time() - cpu_start
    return (
        outcome.finding,
        wall_s,
        cpu_s,
        outcome.parent_run_id,
        outcome.data_source,
        outcome.results,
    )


def _print_seed(o: dict, per_sweep: int = 1):
    verdict = "PASS" if o["passed"] else "FAIL"
    s = o["seed"]
    which = f"seed {s}" if per_sweep <= 1 else f"sweep of seeds {s}–{s + per_sweep - 1}"
    console.say(f"robustness: {which}: {verdict} ({o['wall_s']:.0f}s)")
    for c in o["checks"]:
        value = "nan" if c["value"] is None else f"{c['value']:.3g}"
        margin = "nan" if c["margin"] is None else f"{c['margin']:+.3g}"
        unit = " decades" if c["log"] else ""
        check = f"{plain_label(c['label'])}: {value} {c['op']} {c['threshold']:g}"
        console.say(f"    {check}, margin {margin}{unit}")


def _print_summary(summary: dict, record_path, record, per_sweep: int = 1):
    unit = "seeds" if per_sweep <= 1 else f"sweeps of {per_sweep} seeds"
    starts = "seeds" if per_sweep <= 1 else "starting at seeds"
    console.say(
        f"robustness: {summary['passed']}/{len(summary['seeds'])} {unit} passed "
        f"({starts} {', '.join(map(str, summary['seeds']))})"
    )
    for label, s in summary["smallest_margins"].items():
        decades = " decades" if s["log"] else ""
        console.say(
            f"    smallest margin of {plain_label(label)}: {s['margin']:+.3g}{decades} "
            f"(seed {s['seed']})"
        )
    if record_path is not None:
        total = record["summary"]
        console.say(
            f"robustness: record {record_path}: {total['passed']}/{len(total['seeds'])} "
            f"{unit} passed over every run recorded there"
        )


def _log_summary(exp, profile, tracker, record, seeds):
    """One MLflow run: pass rate, smallest margins, margins per seed (step = seed)."""
    summary = record["summary"]
    tags = {
        "rnnexp.role": "robustness",
        "rnnexp.profile": profile,
        "rnnexp.overrides": json.dumps(record["overrides"], default=list),
        "robustness.seeds": ",".join(map(str, seeds)),
        "robustness.sweeps": ",".join(o["parent_run_id"] or "-" for o in record["outcomes"]),
    }
    name = f"{exp.name}-{profile}-robustness-seeds{seeds[0]}-{seeds[-1]}"
    with tracker.run(name, tags=tags) as run:
        run.log_params({"seeds": len(seeds), "start": seeds[0]})
        run.log_metrics({"pass_rate": summary["pass_rate"], "passed": summary["passed"]})
        run.log_metrics(
            {
                f"min_margin.{_metric_key(label)}": s["margin"]
                for label, s in summary["smallest_margins"].items()
                if s["margin"] is not None
            }
        )
        for o in record["outcomes"]:
            run.log_metrics({"seed_passed": float(o["passed"])}, step=o["seed"])
            run.log_metrics(
                {
                    f"margin.{_metric_key(c['label'])}": c["margin"]
                    for c in o["checks"]
                    if c["margin"] is not None
                },
                step=o["seed"],
            )
        run.log_dict(record, "robustness.json")
        if any(o["checks"] for o in record["outcomes"]):
            with tempfile.TemporaryDirectory(prefix="rnnexp-robustness-") as tmp:
                from rnnexp.report import plots

                fig = _margins_figure(record["outcomes"], f"{exp.name} ({profile}): margin by seed")
                path = plots.save(fig, Path(tmp) / "margins_by_seed.png")
                run.log_artifact(path, "summary")
        run.set_tags({"robustness.pass_rate": f"{summary['passed']}/{len(seeds)}"})
