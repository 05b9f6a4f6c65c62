"""Trials as Ray tasks (`run NAME --executor ray`): the local executor's tree and guarantees.

The sweeps here start a local Ray (several seconds), so they are opt-in:
`RNNEXP_RAY=1 pytest -m ray tests/test_ray.py` with the `ray` extra installed
(`pip install -e ".[test,ray]"`). The argument checks at the top run always.
"""

import importlib.util
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from conftest import free_port
from test_faults import (  # the toy experiment and helpers of the fault tests
    lines_until,
    main,
    one_line_error,
    rnnexp,
    runs,
    spawn,
    toy,  # noqa: F401 - a fixture
)

HAVE_RAY = importlib.util.find_spec("ray") is not None
opt_in = pytest.mark.skipif(
    os.environ.get("RNNEXP_RAY") != "1" or not HAVE_RAY,
    reason="opt-in: RNNEXP_RAY=1 pytest -m ray, with the ray extra (pip install 'rnnexp[ray]')",
)


# -- refused before anything runs -------------------------------------------------
@pytest.mark.skipif(HAVE_RAY, reason="Ray is installed here")
def test_executor_ray_without_ray_is_one_line(toy, tmp_path, capsys):  # noqa: F811
    _, uri = toy
    code, _, err = main(capsys, "run", "fault_toy", "--executor", "ray", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "pip install 'rnnexp[ray]'" in err, err
    assert not (tmp_path / "store").exists()


def test_address_needs_the_ray_executor(toy, tmp_path, capsys):  # noqa: F811
    _, uri = toy
    code, _, err = main(capsys, "run", "fault_toy", "--address", "h:1", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "add --executor ray" in err, err


@pytest.mark.skipif(not HAVE_RAY, reason="needs the ray extra")
@pytest.mark.parametrize(
    "address,message",
    [("nowhere", "is not HOST:PORT"), ("127.0.0.1:{port}", "does not answer")],
)
def test_a_ray_address_that_does_not_answer_is_one_line(toy, tmp_path, capsys, address, message):  # noqa: F811
    _, uri = toy
    address = address.format(port=free_port())
    start = time.monotonic()
    code, _, err = main(
        capsys, "run", "fault_toy", "--executor", "ray", "--address", address, "--tracking-uri", uri
    )
    assert code == 2 and one_line_error(err) and message in err and address in err, err
    assert time.monotonic() - start < 10 and not (tmp_path / "store").exists()


# -- sweeps on a local Ray ------------------------------------------------------------
@pytest.fixture
def ray_tmp():
    """A short folder for Ray's session (its socket paths must fit in 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="rt-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_ray_folder_too_long_for_its_sockets_is_one_line(toy, tmp_path, capsys, monkeypatch):  # noqa: F811
    if not HAVE_RAY:
        pytest.skip("needs the ray extra")
    _, uri = toy
    monkeypatch.setenv("RNNEXP_RAY_TMPDIR", str(tmp_path))
    code, _, err = main(capsys, "run", "fault_toy", "--executor", "ray", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "too long a path for Ray's sockets" in err, err
    assert not (tmp_path / "store").exists()


def _ray_worker_pids():
    """Ray worker processes running one of our trials now (their title names the task)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().startswith(b"ray::_ray_trial"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _recorded_once(children):
    finished = [c.data.tags["rnnexp.trial_hash"] for c in children if c.info.status == "FINISHED"]
    return len(finished) == len(set(finished))


@pytest.mark.ray
@opt_in
def test_ray_sweep_has_the_local_executors_tree(toy, ray_tmp):  # noqa: F811
    env, uri = toy
    home_token, tmp_ray = Path.home() / ".ray" / "auth_token", Path("/tmp/ray")
    before = home_token.exists(), tmp_ray.exists()
    env = {**env, "RNNEXP_RAY_TMPDIR": ray_tmp}
    out = rnnexp(env, "run", "fault_toy", "--set", "fail_on=2", "--executor", "ray",
                 "--tracking-uri", uri, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "local Ray up in" in out.stdout and "as Ray tasks" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    parents, children = runs(uri)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(c.info.status for c in children) == ["FAILED"] + ["FINISHED"] * 3
    failed = next(c for c in children if c.info.status == "FAILED")
    assert failed.data.tags["failure_reason"] == "FloatingPointError: loss became nan"
    assert parents[0].data.tags["trials.failed_names"] == "value=2"
    assert parents[0].data.metrics["finding.finished"] == 3
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert _recorded_once(children)
    # Ray's session files went to a private folder, removed afterwards
    assert os.listdir(ray_tmp) == []
    assert (home_token.exists(), tmp_ray.exists()) == before

    local = rnnexp(env, "run", "fault_toy", "--set", "fail_on=2", "--tracking-uri", uri)
    assert local.returncode == 0
    parents, children = runs(uri)
    by_parent = {}
    for c in children:
        by_parent.setdefault(c.data.tags["mlflow.parentRunId"], set()).add(
            (c.data.tags["rnnexp.trial_hash"], c.info.status)
        )
    assert len(by_parent) == 2 and len({frozenset(v) for v in by_parent.values()}) == 1


@pytest.mark.ray
@opt_in
def test_a_killed_ray_worker_loses_only_its_trial_and_resume_finishes(toy, ray_tmp):  # noqa: F811
    env, uri = toy
    env = {**env, "RNNEXP_RAY_TMPDIR": ray_tmp}
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=4", "--executor", "ray",
                 "--tracking-uri", uri)  # fmt: skip
    seen = []
    lines_until(proc, "rnnexp: 4 trial(s) as Ray tasks", seen)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # a trial whose child run is open, in a Ray worker
        open_now = [c for c in runs(uri)[1] if c.info.status == "RUNNING"]
        if open_now:
            break
        time.sleep(0.5)
    assert open_now, "".join(seen)
    victim = int(open_now[0].data.tags["rnnexp.worker"].rsplit(":", 1)[1])
    assert victim in _ray_worker_pids()
    os.kill(victim, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=300)
    out = "".join(seen) + rest
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert "its Ray worker died" in out and "--resume" in out
    parents, children = runs(uri)
    assert parents[0].info.status == "FAILED"
    assert sorted(c.info.status for c in children) == ["FINISHED"] * 3 + ["KILLED"]
    killed = next(c for c in children if c.info.status == "KILLED")
    assert "its Ray worker died" in killed.data.tags["failure_reason"]

    again = rnnexp(env, "run", "fault_toy", "--resume", "--executor", "ray", "--tracking-uri", uri,
                   timeout=300)  # fmt: skip
    assert again.returncode == 0 and "3 of 4 trial(s) finished" in again.stdout, again.stdout
    parents, children = runs(uri)
    assert parents[0].info.status == "FINISHED"
    assert sorted(c.info.status for c in children) == ["FINISHED"] * 4 + ["KILLED"]
    assert _recorded_once(children)
    trials = {json.loads(c.data.tags["rnnexp.trial"])["value"] for c in children}
    assert trials == {1, 2, 3, 4}


@pytest.mark.ray
@opt_in
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_ray_sweep_leaves_nothing_running(toy, ray_tmp, sig):  # noqa: F811
    env, uri = toy
    env = {**env, "RNNEXP_RAY_TMPDIR": ray_tmp}
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=30", "--executor", "ray",
                 "--tracking-uri", uri)  # fmt: skip
    seen = []
    lines_until(proc, "rnnexp: 4 trial(s) as Ray tasks", seen)
    deadline = time.monotonic() + 180
    while not [c for c in runs(uri)[1] if c.info.status == "RUNNING"]:
        assert time.monotonic() < deadline, "".join(seen)
        time.sleep(0.5)
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == 128 + sig and "Traceback" not in out, out
    parents, children = runs(uri)
    assert parents[0].info.status == "KILLED"
    assert children and {c.info.status for c in children} == {"KILLED"}
    assert os.listdir(ray_tmp) == []  # the local Ray went down with it
