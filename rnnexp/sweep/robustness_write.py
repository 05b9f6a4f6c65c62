"""Changing a robustness record on disk: save outcomes, compact its trials, rejudge them.

One writer at a time (a lock on the record's folder), each write atomic, and the
file left as it was on any error.
"""

import contextlib
import dataclasses
import datetime
import json
import math
import os
import tempfile
import time
from pathlib import Path

from rnnexp import console
from rnnexp.sweep.robustness_merge import (
    finding_signature,
    config_signature,
    dropped_outcomes,
    merge_records,
    run_signature,
    seed_list,
)
from rnnexp.sweep.robustness_record import (
    RecordError,
    SeedOutcome,
    check_record_path,
    load_record,
    trial_record,
)

__all__ = ["compact_record", "rejudge_record", "save_outcomes"]

LOCK_WAIT_S = 30  # another run holds a record's lock for a write: milliseconds


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
    from rnnexp.results import TrialResult

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


def _rejudged(exp, cfg, outcome, where: str) -> dict | None:
    """`outcome` judged again from its trials: the fields that change, or None if none do.

    Raises:
        RecordError: the trials cannot give the finding, or give a check both
            findings share otherwise than recorded.
    """
    from rnnexp.results import EPOCHS_EXTRA, TrialResult

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
    if finding_signature(dataclasses.asdict(fresh)) == finding_signature(outcome):
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
