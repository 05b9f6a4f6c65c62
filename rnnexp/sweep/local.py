"""Run a sweep's trials in several processes on one machine (`run --workers N`).

Each worker is a fresh (spawned) Python process: it rebuilds the experiment
and its config from the name, profile and overrides, prepares the data once,
and runs trials as child runs of the sweep's parent run in the same MLflow
store (the store's creation is already serialised by `Tracker`). The CPU
cores are shared out: each worker's TensorFlow gets `cores // N` threads.

The parent hands out one trial at a time over a pipe to each worker, and the
worker says when it takes one, so the parent always knows which trial a worker
holds. A worker that dies (kill -9, out of memory) loses only that trial: it is
recorded KILLED with the reason (said once), a new worker takes the next trial,
and the sweep ends FAILED so a plain `--resume` runs what was lost. A worker
that dies before it took its trial (while it starts, or between two trials)
lost nothing: a fresh worker runs that trial.

On Ctrl-C (or SIGTERM or SIGHUP to the parent) no trial starts any more; the
workers' running trials are marked KILLED and the workers stop within seconds.
Workers ignore the terminal's SIGINT and SIGHUP, so the parent decides.
If the parent dies (kill -9), the workers notice within a second and mark their
trials and the sweep KILLED ("the sweep's parent process died").

Workers run trials through `rnnexp.sweep.trial` like every executor; for more
than one machine see `rnnexp.sweep.ray` (`--executor ray`). How a worker hears
a stop or its parent's death is `worker_signals`'.
"""

import contextlib
import dataclasses
import fcntl
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path

from rnnexp import console, stopping
from rnnexp.results import TrialResult
from rnnexp.sweep.worker_signals import (
    PARENT_DIED,
    PARENT_POLL_S,
    STATE,
    die_with_parent,
    import_store_models,
    on_sigterm,
    orphaned,
)
from rnnexp.sweep.trial import (
    STOP_GRACE_S,
    DoneCounter,
    end_orphans,
    host_for,
    set_threads,
)

__all__ = ["plan_workers", "run_parallel", "worker_threads"]

LOCK_WAIT_S = 10.0  # how long an orphaned worker waits for its siblings to mark the sweep
ORPHAN_MARK_S = 45.0  # how long it tries a store busy with its siblings' last writes
HANDOVERS = 2  # workers a trial is sent to that die before taking it, before it is KILLED
TOOK, DONE = "took", "done"  # a worker's messages: (TOOK, index), (DONE, index, result)


def worker_threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def plan_workers(workers: int, trials: int) -> tuple[int, int]:
    """`(processes, threads each)`: no more processes than trials, the cores shared by those."""
    workers = max(1, min(workers, trials))  # --workers 8 for 2 trials: 2 workers, 4x the threads
    return workers, worker_threads(workers)


def _end_orphaned_sweep(setup):
    """The sweep's process died (kill -9): mark its sweep, and this worker's trial, KILLED.

    Every worker of the sweep comes here; under a lock the sweep's workers
    share, the first one that finds the sweep RUNNING marks it and says so in
    one line (the terminal has nobody else left to say it). The others mark only
    what they held, quietly: the loss is said once. The trial is found by this
    worker's tag, since the interrupt may land before its run's own clean-up is in place.
    """
    import warnings

    from rnnexp.tracking.tracker import Tracker, interrupted_reason
    from rnnexp.sweep.trial import end_mine

    reason = interrupted_reason(KeyboardInterrupt(PARENT_DIED))
    with _orphans_lock(setup.parent_id):
        marked, sweep = [], False
        deadline = time.monotonic() + ORPHAN_MARK_S
        while True:  # the store may be busy with the other workers' last writes
            try:
                with warnings.catch_warnings():
                    # An interrupted import is imported again here; SQLAlchemy warns of it.
                    warnings.simplefilter("ignore")
                    tracker = Tracker(setup.name, setup.uri)
                    marked += [f"trial {i}" for i in end_mine(tracker, setup.parent_id, reason)]
                    if tracker.client.get_run(setup.parent_id).info.status == "RUNNING":
                        tracker.mark_killed(setup.parent_id, reason)
                        marked.append(f"sweep {setup.parent_id}")
                        sweep = True
                break
            except Exception as err:  # noqa: BLE001 - the store may be gone too: the next run marks them
                if time.monotonic() < deadline:
                    time.sleep(1.0)
                    continue
                _tell(
                    f"rnnexp: worker {os.getpid()}: {PARENT_DIED}; could not mark its runs "
                    f"KILLED ({type(err).__name__}: {str(err).splitlines()[0][:200]}); the "
                    f"next `run {setup.name}` marks them"
                )
                return
    if sweep:  # the sibling that marked the sweep said it; a later trial is covered by it
        _tell(
            f"rnnexp: worker {os.getpid()}: {PARENT_DIED}; marked {' and '.join(marked)} "
            f"KILLED; `python -m rnnexp run {setup.name} --resume {setup.parent_id}` finishes it"
        )


@contextlib.contextmanager
def _orphans_lock(parent_id: str):
    """Held by one orphaned worker of sweep `parent_id` at a time.

    A file lock, not a `multiprocessing.Lock`: the dead parent's resource tracker
    would warn of that semaphore as leaked. Each holder removes the file as it
    leaves (a later sibling, finding the sweep marked, makes and removes its own),
    so none is left behind. A sibling stuck holding it delays the others
    `LOCK_WAIT_S` at most.
    """
    path = Path(tempfile.gettempdir()) / f"rnnexp-orphans-{parent_id}.lock"
    try:
        file = open(path, "a")
    except OSError:  # no lock to be had: the store shows a sibling's marks, nearly always
        yield
        return
    with file:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _tell(line: str):
    # stderr: the sweep's stdout may be a pipe whose reader died with it.
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr, flush=True)


def _worker_main(conn, setup, threads: int):
    """A worker process: run the trials the parent sends until it sends None."""
    STATE["parent"] = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into SIGTERM
    if hasattr(signal, "SIGHUP"):  # and a closed terminal's SIGHUP too
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_sigterm)
    with stopping.stops_outlive_finalizers():
        try:
            die_with_parent()
            set_threads(threads)
            from rnnexp import startup

            startup.configure_logging()
            startup.import_backend()  # each worker imports TensorFlow, its start-up lines quiet
            import_store_models()
            while (job := conn.recv()) is not None:
                index, trial = job
                conn.send((TOOK, index))  # from here on, this worker's death loses the trial
                STATE["busy"] = True
                try:
                    conn.send((DONE, index, host_for(setup).run(index, trial)))
                except Exception as err:  # noqa: BLE001 - the parent decides; it ends the sweep
                    conn.send((DONE, index, err))
                finally:
                    STATE["busy"] = False
        except (KeyboardInterrupt, EOFError, BrokenPipeError):
            pass  # stopped, or the parent is gone; the trial's run is already ended
        else:
            return
    _leave(setup)  # outside the handler: the interrupted frames and store connections are freed


def _leave(setup):
    """End this worker's part: if the sweep's process died, mark what it left RUNNING.

    The parent's SIGTERM can land while this waits (its pipe closed first): once
    leaving, that signal must not raise inside this handler.
    """
    STATE["stopping"] = True
    try:
        if orphaned(wait_s=PARENT_POLL_S):
            _end_orphaned_sweep(setup)
    except KeyboardInterrupt:  # a SIGTERM between the except and the line above
        pass


def _exit_reason(code) -> str:
    if code is None or code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def run_parallel(setup, tracker, trials, todo, results, workers):
    """Fill `results[i]` for every index in `todo`, `workers` trials at a time.

    A trial whose worker died gets a `KILLED` result (its run is marked
    KILLED too), reported once; a trial whose worker died before taking it
    goes to a fresh worker. A worker's store failure or lost sweep ends the sweep.
    """
    workers, threads = plan_workers(workers, len(todo))
    console.say(
        f"rnnexp: {len(todo)} trial(s) in {workers} worker processes, {threads} thread(s) each"
    )
    parent_id = setup.parent_id
    context = multiprocessing.get_context("spawn")
    queue, running = list(todo), {}  # running: conn -> _Held
    handovers = dict.fromkeys(todo, 0)  # workers that died holding the trial, untaken
    report = DoneCounter(setup.name, len(todo))

    def start_next(conn=None, process=None):
        if not queue:
            if conn is not None:
                _send(conn, None)
            return
        if conn is None:
            conn, child_end = context.Pipe()
            process = context.Process(
                target=_worker_main, args=(child_end, setup, threads), daemon=True
            )
            process.start()
            child_end.close()
        index = queue.pop(0)
        running[conn] = _Held(process, index)
        # A failed send means the worker is gone; the next round finds it dead
        # and gives the trial, untaken, to a fresh worker.
        _send(conn, (index, trials[index]))

    def lost_worker(conn, held):
        process, index = held.process, held.index
        process.join(timeout=5)
        died = _exit_reason(process.exitcode)
        conn.close()
        handovers[index] += 1
        if not held.taken and handovers[index] < HANDOVERS:
            # It died starting, or between two trials: the trial never ran, nothing is lost
            console.say(
                f"rnnexp: a worker process died ({died}) before it took "
                f"{console.trial_label(trials[index])}; a fresh worker runs it"
            )
            queue.insert(0, index)
        else:  # the one line that tells of the loss: the trial's own
            reason = f"its worker process died ({died})"
            if not held.taken:
                reason = f"{HANDOVERS} worker processes died before taking it ({died})"
            results[index] = TrialResult(trials[index], "KILLED", error=reason)
            end_orphans(tracker, parent_id, {index}, reason)
            report(results[index])
        start_next()  # a fresh worker for the rest

    try:
        for _ in range(min(workers, len(queue))):
            start_next()
        while running:
            sentinels = {held.process.sentinel: conn for conn, held in running.items()}
            for ready in wait([*running, *sentinels]):
                conn = sentinels.get(ready, ready)
                if conn not in running:
                    continue  # handled through its other handle in this round
                held = running[conn]
                message = _receive(conn)
                if message is None:  # the worker is gone: said once, here
                    del running[conn]
                    lost_worker(conn, held)
                    continue
                if message[0] == TOOK:
                    held.taken = True
                    continue
                _, index, payload = message
                if isinstance(payload, BaseException):
                    raise payload
                del running[conn]
                results[index] = payload
                report(payload)
                start_next(conn, held.process)
    except KeyboardInterrupt as err:
        from rnnexp.tracking.tracker import interrupted_reason

        _stop(running, tracker, parent_id, f"{interrupted_reason(err)}: its worker was stopped")
        raise
    except BaseException as err:
        _stop(running, tracker, parent_id, f"the sweep stopped: {err}".splitlines()[0])
        raise


@dataclasses.dataclass
class _Held:
    """A worker process, the trial index sent to it, and whether it took that trial."""

    process: object
    index: int
    taken: bool = False


def _send(conn, message) -> bool:
    try:
        conn.send(message)
        return True
    except (BrokenPipeError, EOFError, OSError):
        return False


def _receive(conn):
    try:
        return conn.recv() if conn.poll() else None
    except (EOFError, OSError):
        return None


def _stop(running: dict, tracker, parent_id: str, reason: str):
    """Interrupt every worker; kill those that do not stop; end runs they left RUNNING."""
    processes = [held.process for held in running.values()]
    deadline = time.monotonic() + STOP_GRACE_S
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                if process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
        wait([p.sentinel for p in processes if p.is_alive()], timeout=0.5)
    for process in processes:
        if process.is_alive():
            process.kill()
        process.join(timeout=5)
    taken = {held.index for held in running.values() if held.taken}
    end_orphans(tracker, parent_id, taken, reason)
