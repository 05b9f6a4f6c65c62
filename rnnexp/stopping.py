"""How a command stops: Ctrl-C, SIGTERM and SIGHUP end it as an interrupt, never mid-write.

A stop raised inside a database write leaves the write half done: sqlite's lock
stays with a connection nothing can close (its cursor lives on in the traceback),
and every later write fails "database is locked", the ones that mark the runs
KILLED included. So a store call runs in `deferred()`, and a stop that arrives
then is raised as the call returns. Framework-free: the CLI installs it first.
"""

import contextlib
import signal
import sys
import threading
import time

__all__ = [
    "STOP_SIGNALS",
    "Uninterrupted",
    "deferred",
    "interrupt",
    "on_stop_signals",
    "stops_outlive_finalizers",
    "stop_reason",
    "stop_requested",
]

# A terminal can end a command with these besides Ctrl-C: kill and schedulers'
# timeouts send SIGTERM, a closed terminal or a dropped ssh session SIGHUP.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")

_STOP = {"reason": None}  # why this process is being stopped, once a stop came
_PENDING: list[tuple] = []  # a stop that came during a store write: raised after it
_DEPTH = threading.local()  # store calls under way on this thread


def stop_requested(reason: str) -> None:
    """Note that this process is being stopped; a stop-signal handler calls it, then raises.

    Library code may turn the `KeyboardInterrupt` into another error (a `SystemError`
    or a Keras `TypeError` from inside TensorFlow): a trial that fails after this
    was interrupted, and is recorded KILLED, not FAILED with that error.
    """
    _STOP["reason"] = reason


def stop_reason() -> str | None:
    """Why this process is being stopped (`Ctrl-C`, `SIGTERM`, ...), or None."""
    return _STOP["reason"]


def interrupt(*args) -> None:
    """Raise `KeyboardInterrupt(*args)` now, or as the store write under way returns.

    Called from a signal handler, so on the main thread.
    """
    if getattr(_DEPTH, "n", 0) > 0:
        if not _PENDING:
            _PENDING.append(args)
        return
    _PENDING.clear()  # one landing just after a write ended: that stop is this one
    raise KeyboardInterrupt(*args)


@contextlib.contextmanager
def deferred():
    """Hold a stop that arrives inside this block until the block ends."""
    _DEPTH.n = getattr(_DEPTH, "n", 0) + 1
    try:
        yield
    finally:
        _DEPTH.n -= 1
        if _DEPTH.n == 0 and _PENDING and threading.current_thread() is threading.main_thread():
            raise KeyboardInterrupt(*_PENDING.pop())


class Uninterrupted:
    """`target` whose method calls a stop does not cut in half (see `deferred`)."""

    def __init__(self, target):
        self._target = target

    def __getattr__(self, name):
        target = self.__dict__.get("_target")  # unset while copy or pickle rebuilds one
        if target is None:
            raise AttributeError(name)
        attr = getattr(target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with deferred():
                return attr(*args, **kwargs)

        return call


def _raise_again(unraisable) -> bool:
    """Raise a stop that a finalizer dropped again, just after it; False if it is not ours.

    A signal handler runs wherever the main thread is, a weakref callback or a
    `__del__` included, and Python prints and drops what those raise: the stop
    would be lost. A one-shot SIGTERM handler raises it again, sent from a thread
    so that it lands once the unraisable hook has returned.
    """
    stop = unraisable.exc_value
    ours = isinstance(stop, KeyboardInterrupt) and _STOP["reason"] is not None
    if not ours or threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    restore = getattr(current, "restores", current)  # dropped again: still restore the first

    def once(signum, frame):
        if _IN_HOOK.is_set():  # landed in the hook, where a raise is dropped too
            _send_soon()
            return
        signal.signal(signal.SIGTERM, restore)
        interrupt(*stop.args)

    once.restores = restore
    _IN_HOOK.set()
    try:
        signal.signal(signal.SIGTERM, once)
        _send_soon()
    finally:
        _IN_HOOK.clear()
    return True


def _send_soon() -> None:
    def send():
        time.sleep(0.005)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    threading.Thread(target=send, name="rnnexp-stop-again", daemon=True).start()


_IN_HOOK = threading.Event()  # `_raise_again` is under way on the main thread


@contextlib.contextmanager
def stops_outlive_finalizers():
    """Inside this block a stop that lands in a finalizer is not lost (see `_raise_again`)."""
    previous = sys.unraisablehook

    def hook(unraisable):
        if not _raise_again(unraisable):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


@contextlib.contextmanager
def on_stop_signals():
    """End a command on a stop signal as on Ctrl-C (runs marked KILLED), naming the signal."""
    signums = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]

    def on_signal(signum, frame):
        for s in signums:  # once: let the cleanup finish
            signal.signal(s, signal.SIG_IGN)
        # Once only, so a trial that TensorFlow turns this into another error must
        # still end as interrupted, or the sweep would go on deaf to more signals.
        stop_requested(signal.Signals(signum).name)
        interrupt(signal.Signals(signum).name)

    def on_ctrl_c(signum, frame):  # every press: a second cuts a slow clean-up short
        stop_requested("Ctrl-C")
        interrupt()

    handlers = {s: on_signal for s in signums} | {signal.SIGINT: on_ctrl_c}
    # A signal ignored when we started stays ignored: `nohup` ignores SIGHUP, and
    # a shell's background job SIGINT, so that the run outlives the terminal.
    previous = {s: signal.getsignal(s) for s in handlers}
    for s, handler in handlers.items():
        if previous[s] != signal.SIG_IGN:
            signal.signal(s, handler)
    try:
        with stops_outlive_finalizers():
            yield
    except KeyboardInterrupt as err:
        if not err.args and _STOP["reason"] not in (None, "Ctrl-C"):
            # library code (Ray's wait) raised a bare interrupt for our named one
            raise KeyboardInterrupt(_STOP["reason"]) from None
        raise
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)
        _PENDING.clear()
        _STOP["reason"] = None
