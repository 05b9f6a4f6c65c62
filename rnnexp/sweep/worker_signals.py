"""How a `--workers` process hears that it must stop, and notices that its parent died.

Its SIGTERM becomes a stop with its reason (the parent's Ctrl-C, or the parent gone),
and it gets that SIGTERM within a second of its parent's death (kill -9). The first
import of the store's SQL tables holds SIGTERM off, so a stop cannot half-define them.
"""

import os
import signal
import time

from rnnexp import stopping

__all__ = [
    "PARENT_DIED",
    "PARENT_POLL_S",
    "STATE",
    "die_with_parent",
    "import_store_models",
    "on_sigterm",
    "orphaned",
]

PARENT_POLL_S = 1.0  # how often a worker checks that the sweep's process is alive
PARENT_DIED = "the sweep's parent process died"


STATE = {"stopping": False, "busy": False, "judging": False}  # this worker process's


def on_sigterm(signum, frame):
    # Raised on every SIGTERM while a trial runs: library code with a bare
    # `except:` (TensorFlow's imports have some) may swallow one, and the parent
    # sends more. Once the worker is leaving, more would only break its exit.
    if (STATE["stopping"] and not STATE["busy"]) or STATE["judging"]:
        return  # while judging below, a second signal is the same stop: the first raises it
    STATE["stopping"] = STATE["judging"] = True
    try:
        # Reparented: PR_SET_PDEATHSIG or `die_with_parent`'s watch thread sent it, the
        # sweep's process is gone (kill -9).
        reason = PARENT_DIED if orphaned(wait_s=0.2) else "its sweep was stopped"
    finally:
        STATE["judging"] = False
    stopping.stop_requested(reason)
    stopping.interrupt(reason)


def orphaned(wait_s: float = 0.0) -> bool:
    """Whether the sweep's process is gone; waits up to `wait_s` for the reparenting.

    PR_SET_PDEATHSIG's signal can be handled before `getppid()` shows the new parent.
    """
    deadline = time.monotonic() + wait_s
    while os.getppid() == STATE.get("parent") and time.monotonic() < deadline:
        time.sleep(0.05)
    return os.getppid() != STATE.get("parent")


def die_with_parent():
    """Get SIGTERM when the parent dies (kill -9): stop, marking the trial KILLED.

    Linux's PR_SET_PDEATHSIG sends it at once; a thread polling `os.getppid()`
    sends it too (elsewhere, or when the parent died before the prctl).
    """
    import ctypes
    import threading

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the thread below notices within PARENT_POLL_S

    def watch():
        while not orphaned():
            time.sleep(PARENT_POLL_S)
        if not STATE["stopping"]:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="rnnexp-parent-watch", daemon=True).start()


def import_store_models() -> None:
    """Define MLflow's SQL tables before any trial, with SIGTERM held off meanwhile.

    A signal inside their first import leaves them half-defined, and the worker
    then cannot mark its runs KILLED ("Table 'experiments' is already defined").
    """
    held = {signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        from rnnexp.tracking import store  # its first import of mlflow is held off too

        store.import_sql_models()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
