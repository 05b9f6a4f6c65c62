"""Run a sweep's trials as Ray tasks (`run NAME --executor ray [--address ADDR]`).

Each trial is one Ray task that runs `rnnexp.sweep.trial` (the code path of the
serial and `--workers` executors): it rebuilds the experiment from the sweep's
name, profile and overrides, prepares the data once per Ray worker process,
and logs its own child run under the sweep's parent run, so the tree, the
summary and the finding are the local executor's. This process keeps the
parent run, the heartbeat, resume and the summary.

Plain tasks, not Ray Tune: rnnexp already owns what Tune would add (the grid,
resume, one child run per trial), and Tune's restore would replay an errored
trial into a second child run.

- Tasks are never retried (`max_retries=0`): a trial whose Ray worker dies
  (kill -9, Ray's out-of-memory killer, a lost node) is recorded KILLED with
  the reason, the other trials go on, and the sweep ends FAILED so a plain
  `--resume` runs what was lost -- as with `--workers`.
- Without `--address` a local Ray is started for the sweep and stopped after
  it; its session files (logs, sockets, the auth token it makes) live in a
  temporary folder that is removed afterwards (`RNNEXP_RAY_TMPDIR` picks
  where; `RNNEXP_DEBUG=1` keeps it), not in `/tmp/ray` or `~/.ray`.
- With `--address HOST:PORT` (`ray start --head` prints it) the trials run on
  that cluster. Every node must reach the tracking store: use an MLflow server
  (`--tracking-uri http://HOST:5000`), not a sqlite file, beyond one machine.
"""

import dataclasses
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

from rnnexp import console
from rnnexp.results import TrialResult
from rnnexp.config import ConfigError
from rnnexp.sweep.trial import STOP_GRACE_S, DoneCounter, end_orphans, host_for, set_threads

__all__ = ["check_ray", "run_on_ray"]

INSTALL_HINT = "pip install 'rnnexp[ray]'"
# Handed to the Ray workers (a remote cluster does not inherit this process's environment).
_PASSED_ENV = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", "PYTHONPATH")
_PASSED_PREFIXES = ("RNNEXP_", "MLFLOW_")
# A Unix socket path holds at most 107 bytes; Ray adds about 82 to the folder it is
# given (rnnexp-ray-XXXXXXXX/session_<date>_<time>_<pid>/sockets/plasma_store).
_MAX_TMP_ROOT = 24


def check_ray(address: str | None):
    """Refuse in one line, before anything runs: Ray missing, or an address that does not answer."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}")
    if address is None:
        _tmp_root()
        return
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"--address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379 from `ray start --head`)"
        )
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise ConfigError(
            f"Ray cluster at {address} does not answer ({err.strerror or err}); start it "
            "(`ray start --head`) or leave --address out for a local Ray"
        ) from None


def _tmp_root() -> str:
    """Where a local Ray's session folder goes: `$RNNEXP_RAY_TMPDIR`, else the system's."""
    root = os.environ.get("RNNEXP_RAY_TMPDIR") or tempfile.gettempdir()
    if len(os.path.abspath(root)) > _MAX_TMP_ROOT:
        raise ConfigError(
            f"RNNEXP_RAY_TMPDIR={root} is too long a path for Ray's sockets (more than "
            f"{_MAX_TMP_ROOT} characters); pick a shorter folder, such as /tmp"
        )
    return root


def _ray_trial(setup, index: int, trial: dict, threads: int) -> TrialResult:
    """The Ray task: one trial through `rnnexp.sweep.trial` in a Ray worker process."""
    set_threads(threads)  # before the framework starts in this worker
    return host_for(setup).run(index, trial)


def _absolute(uri: str) -> str:
    # Ray workers need not share this process's working directory.
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(uri[len("sqlite:///") :]).resolve())
    return uri


def _worker_env() -> dict:
    return {
        k: v for k, v in os.environ.items() if k in _PASSED_ENV or k.startswith(_PASSED_PREFIXES)
    }


class _Session:
    """`ray.init` for one sweep: a local Ray in a private temporary folder, or a cluster."""

    def __init__(self, address: str | None):
        self.ray, self.address, self.tmp, self.saved_env = None, address, None, {}

    def _setenv(self, name: str, value: str):
        self.saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def __enter__(self):
        # Ray asks to send usage statistics and may phone home; never here.
        if "RAY_USAGE_STATS_ENABLED" not in os.environ:
            self._setenv("RAY_USAGE_STATS_ENABLED", "0")
        options = dict(
            include_dashboard=False,
            log_to_driver=False,  # trials report through MLflow; worker logs stay in the session
            configure_logging=True,
            logging_level="error",
            runtime_env={"env_vars": _worker_env()},
        )
        start = time.monotonic()
        if self.address is None:
            self.tmp = Path(tempfile.mkdtemp(prefix="rnnexp-ray-", dir=_tmp_root()))
            # Ray >= 2.59 turns on token auth for a local cluster and writes the
            # token to ~/.ray/auth_token: keep auth on, with a token of this session's.
            token = self.tmp / "auth_token"
            token.touch(mode=0o600)
            token.write_text(secrets.token_hex(32))
            self._setenv("RAY_AUTH_MODE", "token")
            self._setenv("RAY_AUTH_TOKEN_PATH", str(token))
            options["_temp_dir"] = str(self.tmp)
        else:
            options["address"] = self.address
        import ray  # after the environment above: Ray reads its auth settings on import

        self.ray = ray
        ours = signal.getsignal(signal.SIGTERM)
        try:
            ray.init(**options)
        except Exception as err:
            self._cleanup()
            where = self.address or "a local Ray"
            first = (str(err).splitlines() or [type(err).__name__])[0][:300]
            raise ConfigError(f"cannot start or reach {where}: {first}") from None
        finally:
            # ray.init makes SIGTERM a sys.exit; a sweep ends on it like on Ctrl-C (KILLED).
            if ours is not None:
                signal.signal(signal.SIGTERM, ours)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        where = f"Ray cluster {self.address}" if self.address else "local Ray"
        console.say(f"rnnexp: {where} up in {time.monotonic() - start:.1f}s, {cpus} CPU(s)")
        return cpus

    def __exit__(self, *exc):
        try:
            self.ray.shutdown()
        finally:
            self._cleanup()

    def _cleanup(self):
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self.tmp is not None and os.environ.get("RNNEXP_DEBUG") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)


def run_on_ray(setup, tracker, trials, todo, results, workers: int, address: str | None):
    """Fill `results[i]` for every index in `todo`, each trial a Ray task.

    `workers` > 1 caps the trials running at once; otherwise one per CPU of
    the cluster. A trial whose worker died gets a `KILLED` result (its run is
    marked KILLED); a store failure or a lost sweep in a task ends the sweep.
    """
    setup = dataclasses.replace(setup, uri=_absolute(setup.uri))
    if address and setup.uri.startswith("sqlite:"):
        console.say(
            "rnnexp: note: trials on other machines cannot write to a sqlite store; "
            "use an MLflow server there (--tracking-uri http://HOST:5000)"
        )
    report = DoneCounter(setup.name, len(todo))
    session = _Session(address)
    with session as cpus:
        ray = session.ray
        from ray import exceptions as rex

        at_once = workers if workers > 1 else cpus
        threads = max(1, cpus // at_once) if address is None else 1
        console.say(
            f"rnnexp: {len(todo)} trial(s) as Ray tasks, up to {at_once} at once, "
            f"{threads} thread(s) each"
        )
        task = ray.remote(_ray_trial).options(num_cpus=1, max_retries=0, retry_exceptions=False)
        queue, pending = list(todo), {}  # pending: object ref -> trial index
        try:
            while queue or pending:
                while queue and len(pending) < at_once:
                    index = queue.pop(0)
                    pending[task.remote(setup, index, trials[index], threads)] = index
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    index = pending.pop(ref)
                    try:
                        results[index] = ray.get(ref)
                    except rex.RayTaskError as err:  # raised by our code in the task
                        cause = getattr(err, "cause", None)
                        raise (cause if isinstance(cause, Exception) else err) from None
                    except rex.RayError as err:  # the worker, its node or its result was lost
                        reason = f"its Ray worker died ({_first_line(err)})"
                        results[index] = TrialResult(trials[index], "KILLED", error=reason)
                        end_orphans(tracker, setup.parent_id, {index}, reason)
                    report(results[index])
        except KeyboardInterrupt as err:
            from rnnexp.tracking.tracker import interrupted_reason

            _cancel(
                ray,
                pending,
                tracker,
                setup.parent_id,
                f"{interrupted_reason(err)}: its Ray task was cancelled",
            )
            raise
        except BaseException as err:
            _cancel(
                ray, pending, tracker, setup.parent_id, f"the sweep stopped: {err}".splitlines()[0]
            )
            raise


def _first_line(err) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


def _cancel(ray, pending: dict, tracker, parent_id: str, reason: str):
    """Stop the running tasks; end the child runs they leave RUNNING."""
    for ref in pending:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001 - finished meanwhile, or Ray is going down
            pass
    if pending:
        ray.wait(list(pending), num_returns=len(pending), timeout=STOP_GRACE_S)
    end_orphans(tracker, parent_id, set(pending.values()), reason)
