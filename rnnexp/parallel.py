"""Run a sweep's trials in several processes on one machine (`run --workers N`).

Each worker is a fresh (spawned) Python process: it rebuilds the experiment
and its config from the name, profile and overrides, prepares the data once,
and runs trials as child runs of the sweep's parent run in the same MLflow
store (the store's creation is already serialised by `Tracker`). The CPU
cores are shared out: each worker's TensorFlow gets `cores // N` threads.

For more than one machine, point every process at a shared tracking server
(`--tracking-uri http://host:5000` backed by a real database) or drive the
trials from Ray Tune with its MLflow integration; see the README.
"""

import concurrent.futures as futures
import multiprocessing
import os
from dataclasses import dataclass

from rnnexp import console
from rnnexp.catalog import TrialResult

__all__ = ["run_parallel", "worker_threads"]

_WORKER: dict = {}


@dataclass(frozen=True)
class _Parent:
    run_id: str


def worker_threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _init_worker(name, profile, overrides, uri, threads, distribute):
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _WORKER.update(name=name, profile=profile, overrides=overrides, uri=uri, distribute=distribute)


def _work(index, trial, parent_id, common_tags):
    from rnnexp import catalog, runner
    from rnnexp.tracking import Tracker

    if "exp" not in _WORKER:  # once per worker process
        exp = catalog.get(_WORKER["name"])
        cfg = exp.resolve(_WORKER["profile"], _WORKER["overrides"])
        _WORKER.update(
            exp=exp, cfg=cfg, data=exp.prepare(cfg), tracker=Tracker(exp.name, _WORKER["uri"])
        )
    exp, cfg = _WORKER["exp"], _WORKER["cfg"]
    return runner._run_trial(
        exp,
        cfg,
        trial,
        index,
        exp.trial_name(trial),
        _WORKER["tracker"],
        _Parent(parent_id),
        common_tags,
        _WORKER["data"],
        _WORKER["distribute"],
    )


def run_parallel(
    exp,
    profile,
    overrides,
    tracker,
    parent,
    common_tags,
    trials,
    todo,
    results,
    workers,
    distribute="auto",
):
    """Fill `results[i]` for every index in `todo`, `workers` trials at a time."""
    threads = worker_threads(workers)
    console.say(
        f"rnnexp: {len(todo)} trial(s) in {workers} worker processes, {threads} thread(s) each"
    )
    pool = futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(exp.name, profile, overrides, tracker.uri, threads, distribute),
    )
    dead = set()  # trials whose worker process died
    try:
        pending = {pool.submit(_work, i, trials[i], parent.run_id, common_tags): i for i in todo}
        for count, future in enumerate(futures.as_completed(pending), 1):
            i = pending[future]
            try:
                results[i] = future.result()
            except Exception as err:  # the worker died (killed, out of memory)
                reason = f"worker process died: {type(err).__name__}: {err}".splitlines()[0]
                results[i] = TrialResult(trials[i], "FAILED", error=reason)
                dead.add(i)
            r = results[i]
            console.say(
                f"[{count}/{len(todo)} done] {exp.trial_name(trials[i])}: {r.status}"
                + (f" ({r.error})" if r.error else "")
            )
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # workers mark their runs KILLED
        raise
    pool.shutdown(wait=True)
    for child in tracker.trial_runs(parent.run_id) if dead else []:
        if child.status == "RUNNING" and int(child.tags.get("rnnexp.trial_index", -1)) in dead:
            tracker.mark_killed(child.run_id, "its worker process died")
