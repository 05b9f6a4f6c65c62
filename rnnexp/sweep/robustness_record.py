"""A robustness record: one JSON file per experiment and profile, the findings' ledger.

`rnnexp.sweep.robustness` appends each seed's outcome as it ends (read, merge,
write atomically, under a lock); the README's tables, the experiment pages and
the false-alarm estimates are generated from these files. A record only ever
holds outcomes of sweeps that ran their trials: anything that cannot be read,
trusted or written is a `RecordError`, and the file is left as it was.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import stat
import tempfile
import time
from pathlib import Path

from rnnexp import console
from rnnexp.config import ConfigError, flatten
from rnnexp.eta import duration, trial_cost

__all__ = [
    "RecordError",
    "SeedOutcome",
    "check_record_path",
    "compact_record",
    "config_signature",
    "dropped_outcomes",
    "load_record",
    "recorded_estimate",
    "merge_records",
    "rejudge_record",
    "run_signature",
    "save_outcomes",
    "seed_list",
    "summarize",
    "sweep_seed_span",
    "trial_record",
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


def recorded_estimate(exp, profile: str, cfg, overrides: dict, records=None) -> str:
    """A sweep's expected wall time from the recorded sweeps (`robustness/NAME-PROFILE.json`).

    The same profile without overrides: the recorded mean. Otherwise the `ci` record scaled
    by the sweeps' total trial cost (`trial_cost`). Says its basis, or that there is none.
    """
    import json
    from pathlib import Path

    from rnnexp.catalog import SOURCE_EXPERIMENTS

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


_HEADER = ("experiment", "profile", "overrides", "seeds_per_sweep", "config")


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
        gone, why = dropped_outcomes(old, new)
        if gone and not replace:
            raise RecordError(
                f"{path} holds {len(gone)} outcome(s) (seeds {seed_list(gone)}) this run would "
                f"drop: {why}; nothing was written. --replace drops them, or --record another file"
            )
        if gone:
            dropped = seed_list(gone)
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
