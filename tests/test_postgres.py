"""Tracking on a real database: a `--workers 2` sweep into an MLflow server on PostgreSQL.

Opt-in (`RNNEXP_POSTGRES=1 pytest -m postgres tests/test_postgres.py`): it
needs PostgreSQL's server programs (Debian: `apt-get install postgresql`) and
the `postgres` extra (`pip install -e ".[test,postgres]"`, psycopg 3). It starts
a throwaway cluster (`initdb`, `pg_ctl`) in a temporary folder on a free local
port -- as the `postgres` user when run as root, which PostgreSQL refuses to
run as -- then `mlflow server` on it, runs the sweep, checks the tree and
removes everything.
"""

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from test_faults import rnnexp, toy  # noqa: F401 - the toy experiment (a fixture)
from conftest import free_port


def _pg_bin() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: on PATH, else Debian's versioned folder."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        os.environ.get("RNNEXP_POSTGRES") != "1",
        reason="opt-in: RNNEXP_POSTGRES=1 pytest -m postgres",
    ),
    pytest.mark.skipif(_pg_bin() is None, reason="needs PostgreSQL: apt-get install postgresql"),
    pytest.mark.skipif(
        importlib.util.find_spec("psycopg") is None,
        reason="needs psycopg: pip install -e '.[postgres]'",
    ),
]


def _as_db_user(argv):
    """`argv` run as `postgres` when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


@pytest.fixture
def postgres():
    """`postgresql://...` of a fresh database on a throwaway local cluster."""
    root = Path(tempfile.mkdtemp(prefix="rnnexp-pg-"))
    if os.getuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port, bin_dir = root / "data", free_port(), _pg_bin()
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    subprocess.run(
        _as_db_user([bin_dir / "initdb", "-D", data, "-U", "rnnexp", "--auth=trust"]), **run
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    ctl = [bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options]
    subprocess.run(_as_db_user([*ctl, "-w", "start"]), **run)
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, user="rnnexp", dbname="postgres", autocommit=True
        ) as con:
            con.execute("CREATE DATABASE mlflow")
        yield f"postgresql://rnnexp@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(_as_db_user([*ctl, "-m", "fast", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mlflow_server(postgres, tmp_path):
    """`(http URI, artifacts folder)` of an `mlflow server` on the PostgreSQL store."""
    port, artifacts = free_port(), tmp_path / "artifacts"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            postgres,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(uri + "/health", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = server.stdout.read() if server.poll() is not None else "no answer"
                    raise AssertionError(f"mlflow server did not start: {log}") from None
                time.sleep(0.5)
        yield uri, artifacts
    finally:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def test_workers_sweep_into_an_mlflow_server_on_postgresql(toy, mlflow_server):  # noqa: F811
    env, _ = toy
    uri, artifacts = mlflow_server
    out = rnnexp(env, "run", "fault_toy", "--workers", 2, "--tracking-uri", uri, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 trial(s) in 2 worker processes" in out.stdout

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("fault_toy")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if r.data.tags.get("rnnexp.role") == "sweep"]
    children = [r for r in found if r.data.tags.get("rnnexp.role") == "trial"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["finding"] == "PASS"
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert len({c.data.tags["rnnexp.trial_hash"] for c in children}) == 4
    assert all(c.inputs.dataset_inputs for c in children)
    # artifacts went through the server into its --artifacts-destination
    summary = {a.path for a in client.list_artifacts(parents[0].info.run_id, "summary")}
    assert {"summary/results.csv", "summary/finding.txt"} <= summary
    assert list(artifacts.rglob("results.csv"))
