"""End to end: a recorded sweep shows up in the MLflow UI, in a real browser.

Opt-in (it needs Debian's `chromium` and ~1 minute):

    RNNEXP_E2E=1 pytest -m e2e tests/test_ui_e2e.py

Records a tiny `tagging` sweep, starts `python -m rnnexp ui` on it, and loads
the experiment's runs page and every child run's page in headless Chromium,
asserting the parent and each child (with its parent link) are rendered, that
the experiment opens in the "Model training" view (its runs tab is "Training
runs", not the GenAI view's) and that the runs table's Dataset column names the
sweep's data. A screenshot of the sweep page is kept as a test artifact:
`$RNNEXP_E2E_OUT/mlflow-sweep.png` (default: the test's temporary folder; its
path is printed).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest

from rnnexp import cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("RNNEXP_E2E") != "1", reason="opt-in: RNNEXP_E2E=1"),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = [
    "chromium",
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=30000",
]


def rendered(url):
    """The DOM after the page's scripts ran (the UI is a single-page app)."""
    out = subprocess.run(
        [*CHROMIUM, "--dump-dom", url], capture_output=True, text=True, timeout=120
    )
    return out.stdout


def screenshot(url, path):
    subprocess.run(
        [*CHROMIUM, "--window-size=1600,900", f"--screenshot={path}", url],
        capture_output=True,
        timeout=120,
    )
    return path


def test_sweep_appears_in_the_mlflow_ui(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tiny = ["--set", "train.epochs=1", "--set", "data.train_size=100", "--set", "sweep.cells=[rnn]"]
    assert cli.main(["run", "tagging", "--profile", "ci", "--tracking-uri", uri, *tiny]) == 0
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name("tagging").experiment_id
    runs = mlflow.search_runs([experiment], output_format="list")
    parent = next(r for r in runs if r.data.tags.get("rnnexp.role") == "sweep")
    children = [r for r in runs if r.data.tags.get("rnnexp.role") == "trial"]
    assert len(children) == 2

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", "ui", "--tracking-uri", uri, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core machine took over 90 s
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "the MLflow UI did not start"
                assert server.poll() is None, server.stdout.read()
                time.sleep(1)
        page = rendered(f"{base}/#/experiments/{experiment}/runs")
        assert parent.info.run_name in page
        assert "Training runs" in page  # the Model-training view, not GenAI's
        assert ">Dataset<" in page and "tagging-generated" in page  # the Dataset column
        out = Path(os.environ.get("RNNEXP_E2E_OUT") or tmp_path)
        out.mkdir(parents=True, exist_ok=True)
        shot = screenshot(f"{base}/#/experiments/{experiment}/runs", out / "mlflow-sweep.png")
        assert shot.stat().st_size > 10_000, "the screenshot is empty"
        print(f"screenshot of the sweep page: {shot}")
        for child in children:
            page = rendered(f"{base}/#/experiments/{experiment}/runs/{child.info.run_id}")
            assert child.info.run_name in page
            assert "Parent run" in page and parent.info.run_name in page
    finally:
        server.terminate()
        server.wait(timeout=90)
