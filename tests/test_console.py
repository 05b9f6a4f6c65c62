"""What a person reads while and after a sweep runs: trial lines, the ETA, seed-major plans,
Ctrl-C's partial summary and resume command, `compare`, `show`, `--dry-run`.

A toy experiment (tiny Dense fits, written to a temporary experiments folder) runs in this
process against a scratch sqlite store.
"""

import dataclasses
import itertools
import json
import shlex
import textwrap
import types

import mlflow
import pytest

from rnnexp import catalog, cli, console
from rnnexp.eta import EtaModel, duration, trial_cost
from rnnexp.tracking.compare import pivot
from rnnexp.training import fit_stop_reason

EXPERIMENTS = catalog.load_catalog()

TOY = textwrap.dedent(
    '''
    """console_toy: tiny fits over two lengths and two seeds."""
    import dataclasses
    import os

    import numpy as np

    from rnnexp.report import plots
    from rnnexp.catalog import Experiment, Finding, TrialResult, register
    from rnnexp.recipes.supervised import grid


    @dataclasses.dataclass(frozen=True)
    class Train:
        epochs: int = 3


    @dataclasses.dataclass(frozen=True)
    class ToyConfig:
        seed: int = 0
        seeds: int = 2
        lengths: tuple[int, ...] = (2, 8)
        train: Train = Train()


    @register
    class ConsoleToy(Experiment):
        name = "console_toy"
        description = "tiny fits | for the console tests"
        metric = "score"
        config = ToyConfig()
        profiles = {"ci": {}}

        def trials(self, cfg):
            return grid(cfg.seed, cfg.seeds, model=("rnn", "lstm"), length=cfg.lengths)

        def run_trial(self, cfg, trial, ctx):
            import keras

            from rnnexp.training import fit, set_seed

            if os.environ.get("TOY_INTERRUPT") == f"{trial['length']}-{trial['seed']}":
                raise KeyboardInterrupt  # as Ctrl-C would, inside a trial
            set_seed(trial["seed"])
            x = np.ones((8, 2), "float32")
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse")
            # min_delta no loss can beat: stops after patience epochs, at epoch 2 of 3
            stop = keras.callbacks.EarlyStopping("loss", min_delta=1e9, patience=1)
            fit(model, x, x[:, :1], epochs=cfg.train.epochs, batch_size=8,
                reporter=ctx.reporter, label=ctx.label, callbacks=[stop])
            score = trial["length"] / 10 + trial["seed"] / 100 + (trial["model"] == "lstm") / 5
            return TrialResult(trial, metrics={"score": score})

        def summarize(self, cfg, results, out_dir):
            done = [r for r in results if r.status == "FINISHED"]
            fig = plots.lines_with_spread(
                {"score": ([r.trial["length"] for r in done], [r.metrics["score"] for r in done],
                           None)},
                xlabel="length", ylabel="score", title="toy",
            )
            return [plots.save(fig, out_dir / "score.png")]

        def finding(self, cfg, results):
            done = [r for r in results if r.status == "FINISHED"]
            return Finding(True, f"{len(done)} finished | all | good\\nsecond line", {})
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "console_toy.py").write_text(TOY)
    monkeypatch.setenv("RNNEXP_EXPERIMENTS_DIR", str(folder))
    monkeypatch.delenv("TOY_INTERRUPT", raising=False)
    return f"sqlite:///{tmp_path}/store/mlflow.db"


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- plans: seed-major ------------------------------------------------------------------------
CASES = [(n, p) for n, e in sorted(EXPERIMENTS.items()) for p in e.profile_names()]


@pytest.mark.parametrize("name,profile", CASES)
def test_every_sweep_is_planned_seed_major(name, profile):
    """All trials of one seed before any of the next: a third of a run answers the question."""
    exp = EXPERIMENTS[name]
    trials = exp.trials(exp.resolve(profile))
    if "seed" not in trials[0]:
        return  # one seed per sweep
    seeds = [t["seed"] for t in trials]
    assert seeds == sorted(seeds), f"{name} {profile}: seeds {seeds}"
    blocks = {
        s: [{k: v for k, v in t.items() if k != "seed"} for t in group]
        for s, group in itertools.groupby(trials, key=lambda t: t["seed"])
    }
    first = next(iter(blocks.values()))
    assert all(b == first for b in blocks.values()), "every seed runs the same arms"


def test_imdb_seqlen_plans_the_same_trials_as_before_it_was_seed_major():
    exp = EXPERIMENTS["imdb_seqlen"]
    cfg = exp.resolve("default")
    s = cfg.sweep
    models = (*s.cells, "bow")
    before = [
        {"truncation": side, "model": m, "length": n, "seed": cfg.seed + k}
        for side in s.truncations
        for n in s.lengths
        for k in range(s.seeds)
        for m in models
    ]
    key = lambda t: json.dumps(t, sort_keys=True)  # noqa: E731
    assert sorted(map(key, exp.trials(cfg))) == sorted(map(key, before))


# -- one line per trial -----------------------------------------------------------------------
def test_stop_reason_names_early_stopping_and_the_best_epoch():
    early = types.SimpleNamespace(stopped_epoch=4, patience=2, best_epoch=2)
    assert fit_stop_reason([early], 5, 12) == "early stopping at epoch 5 of 12, best epoch 3"
    assert fit_stop_reason([], 12, 12) == "all 12 epochs"
    never_stopped = types.SimpleNamespace(stopped_epoch=0, patience=2)
    assert fit_stop_reason([never_stopped], 1, 1) == "its 1 epoch"


def test_trial_label_is_plain():
    trial = {"truncation": "post", "model": "rnn", "length": 200, "seed": 0}
    label = console.trial_label(trial)
    assert label == "keep the start (post-truncation), SimpleRNN, L=200, seed 0"
    assert console.trial_label({"depth": 2, "residual": False}) == "depth 2, no residual"
    assert console.trial_label({"clip": "none", "seed": 3}) == "no clipping, seed 3"
    assert console.trial_label({"attention": "none"}) == "no attention"


def test_a_finished_trial_prints_its_result_why_it_stopped_and_the_eta(capsys):
    names = ["SimpleRNN, L=10, seed 0", "SimpleRNN, L=200, seed 0"]
    eta = EtaModel([10.0, 200.0], "length x epochs")
    result = catalog.TrialResult({}, metrics={"test_accuracy": 0.8123, "test_loss": 0.4})
    with console.SweepProgress([0, 1], names, eta, metric="test_accuracy", bar=False) as p:
        p.begin(0)
        p.finish(0, result, "early stopping at epoch 5 of 12, best epoch 3", seconds=41)
        p.begin(1)
        p.finish(1, catalog.TrialResult({}, "FAILED", error="NonFiniteLoss: nan"), seconds=3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "[1/2] SimpleRNN, L=10, seed 0: test accuracy 0.812 (early stopping at epoch 5 of 12, "
        "best epoch 3), 41 s; ETA once trials of two costs (length x epochs) have finished"
    )
    assert lines[1] == "[2/2] SimpleRNN, L=200, seed 0: FAILED: NonFiniteLoss: nan, 3 s"


# -- the ETA ----------------------------------------------------------------------------------
def test_eta_weighs_the_trials_left_by_their_cost():
    eta = EtaModel([10, 200, 10, 200], "length x epochs")
    assert eta.remaining([0, 1, 2, 3]) == (None, "no trial finished yet")
    eta.observe(0, 5.0)
    assert eta.remaining([1, 2, 3])[0] is None  # fixed cost or per unit: not known from one
    eta.observe(1, 29.0)  # fixed cost + per unit: t = a + b * cost through both
    assert eta.remaining([2, 3]) == (pytest.approx(5.0 + 29.0), "trial cost length x epochs")


def test_eta_expects_early_stopping_as_often_as_it_came_with_one_full_run_counted_in():
    eta = EtaModel([10 * 12, 200 * 12, 10 * 12, 200 * 12], "length x epochs", epochs=12)
    eta.observe(0, 5.0, epochs_run=3)
    eta.observe(1, 29.0, epochs_run=6)
    a_per_trial, b_per_unit = eta._fit()
    share = (3 / 12 + 6 / 12 + 1) / 3
    seconds, _ = eta.remaining([2, 3])
    assert seconds == pytest.approx(2 * a_per_trial + b_per_unit * 210 * 12 * share)
    assert 34.0 < seconds < 5.0 * 4 + 29.0 * 2  # more epochs than the two ran, fewer than all


def test_eta_prefers_the_same_trials_in_the_last_sweep_scaled_to_this_machine():
    eta = EtaModel([1, 1, 1, 1], "trial count", last_times=[10.0, 20.0, 30.0, 40.0])
    eta.observe(0, 20.0)  # twice as slow as last time
    assert eta.remaining([1, 2, 3]) == (pytest.approx(180.0), "the same trials in the last sweep")
    equal = EtaModel([1, 1, 1], "trial count")
    equal.observe(0, 6.0)
    assert equal.remaining([1, 2]) == (12.0, "the mean time of finished trials")


def test_trial_cost_is_length_times_epochs():
    cfg = types.SimpleNamespace(
        data=types.SimpleNamespace(length=50), train=types.SimpleNamespace(epochs=4)
    )
    assert trial_cost(cfg, {"length": 200}) == (800.0, "length x epochs")
    assert trial_cost(cfg, {}) == (200.0, "length x epochs")
    assert trial_cost(types.SimpleNamespace(), {}) == (1.0, "trial count")
    assert duration(42) == "42 s" and duration(24 * 60) == "24 min"
    assert duration(3 * 3600 + 300) == "3 h 05 min"


# -- a sweep, Ctrl-C, --resume, compare -------------------------------------------------------
def test_a_sweep_prints_one_line_per_trial_without_keras_bars(toy, capsys):
    code, out, _ = run_cli(capsys, "run", "console_toy", "--tracking-uri", toy)
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == 8 and lines[0].startswith("[1/8] SimpleRNN, L=2, seed 0: score 0.200 (")
    assert "(early stopping at epoch 2 of 3, best epoch 1)" in lines[0]
    assert "ETA" in lines[0] and "ETA" not in lines[-1]
    assert "━" not in out and "step -" not in out  # no Keras progress bar


def test_eta_accuracy_replays_the_printed_eta_against_the_trials_left(toy, capsys):
    from rnnexp.sweep import eta_accuracy

    for _ in range(2):  # the second sweep also has the first one's times to go by
        argv = ("run", "console_toy", "--profile", "ci", "--tracking-uri", toy)
        assert run_cli(capsys, *argv)[0] == 0
    text, factors = eta_accuracy.table("console_toy", "ci", 2, toy)
    rows = [line for line in text.splitlines() if line.startswith("| console_toy")]
    assert [row.split(" | ")[2] for row in rows] == [
        "fresh store",
        "fresh store",
        "last sweep in store",
    ]
    assert "the same trials in the last sweep" in rows[2]
    assert len(factors) == 3 and all(f > 0 for f in factors)
    assert eta_accuracy.main(["console_toy", "--tracking-uri", toy]) == 0
    assert "the worst is off by a factor" in capsys.readouterr().out


def test_ctrl_c_logs_a_partial_summary_and_prints_the_exact_resume_command(
    toy, capsys, monkeypatch
):
    monkeypatch.setenv("TOY_INTERRUPT", "8-1")  # trial 6 of 8 (seed 1, SimpleRNN, L=8)
    code, out, err = run_cli(capsys, "run", "console_toy", "--tracking-uri", toy)
    assert code == 130 and "interrupted" in err
    assert "interrupted after 5 of 8 trials; a partial summary (5 of 8 trials):" in out
    command = next(line for line in out.splitlines() if line.startswith("finish it with: "))
    argv = shlex.split(command[len("finish it with: ") :])
    assert argv[:5] == ["python", "-m", "rnnexp", "run", "console_toy"]
    assert argv[5] == "--resume" and argv[7:] == ["--tracking-uri", toy]
    client = mlflow.tracking.MlflowClient(toy)
    parent = client.get_run(argv[6])
    assert parent.data.tags["summary.partial"] == "5 of 8 trials"
    logged = {a.path for a in client.list_artifacts(argv[6], "summary")}
    assert {"summary/results.md", "summary/score.png"} <= logged

    monkeypatch.delenv("TOY_INTERRUPT")
    code, out, _ = run_cli(capsys, *argv[3:])
    assert code == 0 and "resuming sweep" in out
    assert [line[:6] for line in out.splitlines() if line.startswith("[")] == [
        "[1/3] ",
        "[2/3] ",
        "[3/3] ",
    ]
    assert client.get_run(argv[6]).data.tags["summary.partial"] == "no: every trial"


def test_compare_keeps_the_study_order_and_shows_the_pivot_and_finding(toy, capsys):
    assert run_cli(capsys, "run", "console_toy", "--tracking-uri", toy)[0] == 0
    code, out, _ = run_cli(capsys, "compare", "console_toy", "--tracking-uri", toy)
    assert code == 0
    body = out.splitlines()
    assert [line.split()[:2] for line in body[2:10]] == [
        [m, n] for _ in range(2) for m in ("rnn", "lstm") for n in ("2", "8")
    ]
    assert "study order" in out and "gain L=2→L=8" in out
    assert all(len(line) <= 120 for line in body[:10]) and "run_id" in body[0]
    assert "finding: PASS - 8 finished | all | good" in out
    code, out, _ = run_cli(
        capsys, "compare", "console_toy", "--tracking-uri", toy, "--metric", "score"
    )
    assert code == 0 and out.splitlines()[2].split()[:3] == ["lstm", "8", "1"]

    code, md, _ = run_cli(
        capsys, "compare", "console_toy", "--tracking-uri", toy, "--format", "markdown"
    )
    assert code == 0
    assert "**finding:** PASS - 8 finished \\| all \\| good second line" in md
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in table_lines)
    assert any("gain L=2→L=8" in line for line in table_lines)


def test_pivot_reads_the_gain_over_seeds_per_arm():
    rows = [
        {"model": m, "length": n, "seed": s, "status": "FINISHED", "acc": 0.5 + n / 100 + s / 10}
        for s in (0, 1)
        for m in ("rnn", "lstm")
        for n in (10, 200)
    ]
    table, note = pivot(rows, "acc")
    assert [r["model"] for r in table] == ["SimpleRNN", "LSTM"]
    assert table[0]["gain L=10→L=200"] == "+1.900 ± 0.000"
    assert "90% interval" in note


def test_markdown_tables_escape_pipes_and_newlines():
    text = console.format_table([{"a|b": "x|y\nz"}], markdown=True)
    assert text.splitlines() == ["| a\\|b |", "|---|", "| x\\|y<br>z |"]


# -- show, --dry-run --------------------------------------------------------------------------
def test_show_is_for_people_and_json_for_machines(capsys):
    code, text, _ = run_cli(capsys, "show", "imdb_seqlen", "--profile", "ci")
    assert code == 0 and text.startswith("imdb_seqlen (profile ci)\n")
    assert "  model.units = " in text and "{" not in text and "**" not in text
    assert all(len(line) <= 100 for line in text.splitlines())
    code, raw, _ = run_cli(capsys, "show", "imdb_seqlen", "--profile", "ci", "--format", "json")
    assert json.loads(raw)["config"]["sweep"]["lengths"] == [10, 200]


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"RNNEXP_IMDB_PATH": "/data/imdb.tar.gz"}, "data: real IMDB at /data/imdb.tar.gz"),
        ({}, "else the synthetic stand-in"),
    ],
)
def test_dry_run_says_which_data_and_how_long(env, expected, capsys, monkeypatch):
    monkeypatch.delenv("RNNEXP_IMDB_PATH", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out, _ = run_cli(capsys, "run", "imdb_seqlen", "--profile", "ci", "--dry-run")
    assert code == 0 and expected in out
    assert "estimated time: ~" in out
    synthetic = run_cli(
        capsys, "run", "imdb_seqlen", "--dry-run", "--set", "data.source=synthetic"
    )[1]
    assert "data: the synthetic stand-in (data.source=synthetic), not IMDB" in synthetic
    assert "scaled by trial cost length x epochs" in synthetic


def test_a_noted_figure_says_so_below_it(tmp_path):
    from matplotlib import image

    from rnnexp.report import plots

    def draw():
        return plots.lines_with_spread(
            {"a": ([1, 2], [0.1, 0.2], None)}, xlabel="x", ylabel="y", title="t"
        )

    plain = image.imread(plots.save(draw(), tmp_path / "plain.png"))
    with plots.noted("partial: 5 of 8 trials (interrupted)"):
        noted = image.imread(plots.save(draw(), tmp_path / "noted.png"))
    assert noted.shape[0] > plain.shape[0] * 0.9  # a strip below, nothing cropped away


def test_every_experiment_has_a_dataclass_config():  # trial_cost reads cfg.train/cfg.data
    for exp in EXPERIMENTS.values():
        assert dataclasses.is_dataclass(exp.config)
