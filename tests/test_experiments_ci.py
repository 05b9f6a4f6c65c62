"""Every experiment's `ci` profile reproduces its finding (real training).

This is the slow part of the suite (a few minutes per experiment on 2 cores);
deselect it with `pytest -m "not slow"`.
"""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from rnnexp import catalog
from rnnexp.report import plots

EXPERIMENTS = sorted(catalog.load_catalog())
# Set by .ci/run (through conftest) when the real IMDB copy is beside the checkout.
REAL_IMDB = os.environ.get("RNNEXP_CI_IMDB_PATH")


def _env():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if REAL_IMDB:
        env["RNNEXP_IMDB_PATH"] = REAL_IMDB
    return env


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_ci_profile_reproduces_the_finding(name, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnexp",
            "run",
            name,
            "--profile",
            "ci",
            "--check",
            "--tracking-uri",
            uri,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    print(proc.stdout[-6000:])  # shown by pytest when the test fails
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "finding: PASS" in proc.stdout
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].data.tags["finding"] == "PASS"
    if name in ("imdb_seqlen", "sentiment"):
        # Real IMDB when CI has it, the announced stand-in otherwise: never a mix-up.
        expected = "path" if REAL_IMDB else "synthetic"
        assert parents[0].data.tags["data.source"] == expected
        print(f"{name}: ci profile ran on data.source={expected}")
    # The parent holds the results table, the experiment's plots and the finding.
    summary = {
        Path(a.path).name
        for a in mlflow.MlflowClient().list_artifacts(parents[0].info.run_id, "summary")
    }
    assert {"results.csv", "results.md", "finding.txt"} <= summary, summary
    own_plots = summary - {Path(plots.CARD_FIGURE).name}  # the study figure's narrow copy aside
    assert any(name.endswith(".png") for name in own_plots), summary
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    exp = catalog.get(name)
    assert len(children) == len(exp.trials(exp.resolve("ci")))
    if not exp.expects_failed_trials:
        assert all(c.info.status == "FINISHED" for c in children)
