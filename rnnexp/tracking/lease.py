"""Who runs a sweep: an owner record on its parent run, so no sweep is run twice.

A sweep's parent run carries its owner (host, pid and the pid's start time,
so a recycled pid is not mistaken for the owner) and a heartbeat timestamp
that a thread refreshes every `HEARTBEAT_S` seconds while the sweep runs.

- `--resume` refuses a sweep whose owner is alive: on this host, a process
  with that pid and start time that is not a zombie (a SIGSTOPped one counts:
  it would wake up and record its trials a second time); on another host, a
  heartbeat younger than `STALE_S`.
- A sweep left RUNNING by a dead owner is marked KILLED by the next `run`
  (and finished by `--resume`).
- A process whose sweep was taken over anyway (a stale heartbeat from a host
  that was only paused) notices before each trial starts and before it
  records one as finished, and stops without touching the sweep.
"""

import math
import os
import socket
import threading
import time

from rnnexp.config import ConfigError

__all__ = [
    "HEARTBEAT",
    "HEARTBEAT_S",
    "Heartbeat",
    "STALE_S",
    "SweepBusy",
    "SweepTakenOver",
    "dead_owner",
    "live_owner",
    "owner_tags",
    "owner_token",
]

HOST, PID, STARTED, HEARTBEAT = (
    "rnnexp.owner.host",
    "rnnexp.owner.pid",
    "rnnexp.owner.started",
    "rnnexp.heartbeat",
)


def _heartbeat_s() -> float:
    """`$RNNEXP_HEARTBEAT_S` (default 20): seconds, at least 1 (0 would be a busy loop)."""
    text = os.environ.get("RNNEXP_HEARTBEAT_S", "20")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 1 <= value <= 3600):
        from rnnexp.config import ConfigError

        raise ConfigError(f"RNNEXP_HEARTBEAT_S={text!r}: expected seconds from 1 to 3600")
    return value


HEARTBEAT_S = _heartbeat_s()
# A process on another host is presumed dead after this long without a beat:
# several missed beats, so one slow store write does not hand its sweep away.
STALE_S = 6 * HEARTBEAT_S


class SweepBusy(ConfigError):
    """`--resume` of a sweep that a live process is running."""


class SweepTakenOver(ConfigError):
    """This process lost its sweep to a `--resume`; it must record nothing more."""


def _proc_stat(pid: int) -> list[str] | None:
    """`/proc/PID/stat` fields after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str:
    stat = _proc_stat(pid)
    return stat[19] if stat and len(stat) > 19 else ""  # field 22: start time in ticks


def owner_tags() -> dict[str, str]:
    """This process as a sweep's owner, with a fresh heartbeat."""
    pid = os.getpid()
    return {
        HOST: socket.gethostname(),
        PID: str(pid),
        STARTED: _start_time(pid),
        HEARTBEAT: f"{time.time():.0f}",
    }


def owner_token(tags: dict) -> tuple:
    return tags.get(HOST), tags.get(PID), tags.get(STARTED)


def _process_state(pid: int, started: str) -> str | None:
    """Say "running" or "stopped", or None when that process no longer exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # someone else's process: it exists
        pass
    stat = _proc_stat(pid)
    if stat is None:  # no /proc: trust kill(0)
        return "running"
    if stat[0] in ("Z", "X") or (started and len(stat) > 19 and stat[19] != started):
        return None  # a zombie, or the pid now belongs to another process
    return "stopped" if stat[0] in ("T", "t") else "running"


def live_owner(tags: dict, now: float | None = None) -> str | None:
    """Who still runs the sweep with these parent tags, in words; None if nobody.

    Sweeps recorded before owners were (no owner tags) count as not running.
    """
    host, pid = tags.get(HOST), tags.get(PID)
    if not host or not pid:
        return None
    age = (now or time.time()) - float(tags.get(HEARTBEAT) or 0)
    if host == socket.gethostname():
        if int(pid) == os.getpid():
            return None
        state = _process_state(int(pid), tags.get(STARTED, ""))
        if state is None:
            return None
        return f"pid {pid} on {host} ({state}, last heartbeat {age:.0f} s ago)"
    if age < STALE_S:
        return f"pid {pid} on {host} (last heartbeat {age:.0f} s ago)"
    return None


def dead_owner(tags: dict, now: float | None = None) -> str | None:
    """Why a RUNNING sweep's owner is known to be gone, or None (alive or unknown)."""
    host, pid = tags.get(HOST), tags.get(PID)
    if not host or not pid or live_owner(tags, now) is not None:
        return None
    return f"its process (pid {pid} on {host}) is gone"


class Heartbeat:
    """Call `beat()` every `HEARTBEAT_S` seconds on a thread until `stop()`.

    A failed beat (a store hiccup) is skipped: the next one may succeed, and
    one missed beat is far from `STALE_S`.
    """

    def __init__(self, beat, interval: float = HEARTBEAT_S):
        self._beat, self._interval = beat, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rnnexp-heartbeat", daemon=True)

    def _loop(self):
        while not self._stopped.wait(self._interval):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - the next beat may succeed
                continue

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopped.set()
        self._thread.join(timeout=5)
