"""Sweeps that scale and survive: workers, concurrent runs, kill -9 + --resume,
a diverging trial, compare.

A toy experiment (written to a temporary experiments folder) keeps these fast:
its trials fit a one-layer model for a few steps, sleep a little so a sweep can
be killed mid-way, and its `lr` grid holds one value that makes the loss
overflow.
"""

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import cli as cli_process
from conftest import runs as store_runs

TOY = textwrap.dedent(
    '''
    """toy: a sweep of tiny fits used by the tests."""
    import dataclasses
    import time

    import numpy as np

    from rnnexp.catalog import Experiment, Finding, TrialResult, register


    @dataclasses.dataclass(frozen=True)
    class ToyConfig:
        seed: int = 0
        lrs: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04)
        sleep: float = 0.0


    @register
    class Toy(Experiment):
        name = "toy"
        description = "tiny fits"
        metric = "score"
        config = ToyConfig()
        profiles = {"ci": {}}

        def trials(self, cfg):
            return [{"lr": lr, "seed": cfg.seed} for lr in cfg.lrs]

        def run_trial(self, cfg, trial, ctx):
            import keras

            from rnnexp.training import fit, set_seed

            set_seed(trial["seed"])
            time.sleep(cfg.sleep)
            x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
            y = (x @ np.array([1.0, -2.0, 0.5], "float32"))[:, None] * 1e3
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(keras.optimizers.SGD(trial["lr"]), "mse")
            fit(model, x, y, epochs=2, batch_size=16, reporter=ctx.reporter, label=ctx.label)
            score = {"score": 1.0 - trial["lr"]}
            return TrialResult(trial, metrics=score, extras={"lr": [trial["lr"]]})

        def summarize(self, cfg, results, out_dir):
            assert all(r.extras.get("lr") for r in results if r.status == "FINISHED")
            return []

        def finding(self, cfg, results):
            done = [r for r in results if r.status == "FINISHED"]
            return Finding(len(done) > 0, f"{len(done)} finished", {"finished": len(done)})
    '''
)


@pytest.fixture
def toy_env(tmp_path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "toy.py").write_text(TOY)
    env = {
        **os.environ,
        "RNNEXP_EXPERIMENTS_DIR": str(folder),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    return env, f"sqlite:///{tmp_path}/store/mlflow.db"


rnnexp = cli_process


runs = functools.partial(store_runs, experiment="toy")


def test_four_concurrent_sweeps_into_one_fresh_store(toy_env):
    env, uri = toy_env
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rnnexp", "run", "toy", "--seed", str(k), "--tracking-uri", uri],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in range(4)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    assert not any("Traceback" in out for out in outputs)
    parents, children = runs(uri)
    assert len(parents) == 4 and all(p.info.status == "FINISHED" for p in parents)
    assert len(children) == 16 and all(c.info.status == "FINISHED" for c in children)
    for p in parents:
        mine = [c for c in children if c.data.tags["mlflow.parentRunId"] == p.info.run_id]
        assert len(mine) == 4


def test_workers_run_every_trial_once_under_one_parent(toy_env):
    env, uri = toy_env
    out = rnnexp(env, "run", "toy", "--workers", "2", "--tracking-uri", uri)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 trial(s) in 2 worker processes" in out.stdout
    parents, children = runs(uri)
    assert len(parents) == 1 and len(children) == 4
    assert sorted(float(c.data.params["trial.lr"]) for c in children) == [0.01, 0.02, 0.03, 0.04]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {c.data.tags["distribute"] for c in children} == {"none"}  # auto, no GPUs
    assert parents[0].data.metrics["finding.finished"] == 4


def test_a_diverging_trial_fails_with_its_reason_and_the_sweep_finishes(toy_env):
    env, uri = toy_env
    out = rnnexp(env, "run", "toy", "--set", "lrs=[0.01,1e30,0.03]", "--tracking-uri", uri)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 trial(s) FAILED" in out.stdout
    parents, children = runs(uri)
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(children) == 3 and len(failed) == 1
    assert "NonFiniteLoss" in failed[0].data.tags["failure_reason"]
    assert parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["trials.failed"] == "1"
    assert "lr=1e+30" in parents[0].data.tags["trials.failed_names"]


def test_kill_9_then_resume_reruns_only_the_unfinished_trials(toy_env):
    env, uri = toy_env
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", "run", "toy", "--set", "sleep=1.5", "--tracking-uri", uri],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    for line in proc.stdout:  # kill it while its third trial runs
        seen.append(line)
        if line.startswith("[2/4] "):  # trial 3 runs
            time.sleep(0.5)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    parents, children = runs(uri)
    assert parents[0].info.status == "RUNNING"
    assert sorted(c.info.status for c in children) == ["FINISHED", "FINISHED", "RUNNING"]
    finished_before = {c.info.run_id for c in children if c.info.status == "FINISHED"}

    out = rnnexp(env, "run", "toy", "--resume", "--tracking-uri", uri)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 of 4 trial(s) finished, running the other 2" in out.stdout
    parents, children = runs(uri)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    statuses = sorted(c.info.status for c in children)
    assert statuses == ["FINISHED"] * 4 + ["KILLED"]  # 2 kept + 2 re-run, the dead one KILLED
    assert finished_before <= {c.info.run_id for c in children}
    killed = next(c for c in children if c.info.status == "KILLED")
    assert "found RUNNING by --resume" in killed.data.tags["failure_reason"]
    assert parents[0].data.metrics["finding.finished"] == 4

    again = rnnexp(env, "run", "toy", "--resume", "--tracking-uri", uri)
    assert again.returncode == 2 and "no unfinished sweep of toy" in again.stderr


def test_compare_ranks_trials_and_fetches_plots(toy_env, tmp_path):
    env, uri = toy_env
    assert rnnexp(env, "run", "toy", "--tracking-uri", uri).returncode == 0
    out = rnnexp(env, "compare", "toy", "--tracking-uri", uri, "--format", "csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("lr,seed,status,")
    assert [line.split(",")[0] for line in lines[1:]] == ["0.01", "0.02", "0.03", "0.04"]
    low = rnnexp(
        env, "compare", "toy", "--tracking-uri", uri, "--ascending", "--plots", str(tmp_path / "p")
    )
    assert low.returncode == 0
    body = low.stdout.splitlines()
    assert body[2].startswith("0.04") and "4 of 4 planned trial(s) finished" in low.stdout
    best = rnnexp(env, "compare", "toy", "--tracking-uri", uri, "--metric", "score")
    assert best.stdout.splitlines()[2].startswith("0.01") and "sorted by score" in best.stdout
    assert (tmp_path / "p" / "summary" / "results.csv").is_file()
    bad = rnnexp(env, "compare", "toy", "--tracking-uri", uri, "--metric", "bleu")
    assert bad.returncode == 2 and "unknown metric 'bleu'; choose one of" in bad.stderr
