"""The study figure of every experiment (`00_answer.png`) and its summary plots,
drawn from tiny synthetic results (no training): panels, plain names, ticks at the
values run, the interval note, nothing outside the image, a PNG written.

`python tests/test_figures.py OUT_DIR` renders every experiment's figures into
OUT_DIR (1 and 3 seeds) for a person to look at.
"""

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.report import plots
from rnnexp.catalog import TrialResult

RAW_NAMES = re.compile(r"\b(rnn|gru|lstm|bow|rnn_relu|irnn|uni1|bi1|bi2|uni2|per_tensor)\b")


def _curve(rng, n, start, end):
    return list(np.abs(np.linspace(start, end, n) + rng.normal(0, 0.01, n)))


def fake_result(name, cfg, trial, rng) -> TrialResult:
    """A plausible finished (or, for unclipped exploding trials, failed) trial of `name`."""
    t = trial
    good = {"rnn": 0.0, "gru": 1.0, "lstm": 1.0, "bow": 1.0, "rnn_relu": 0.8, "irnn": 0.9}
    if name in ("adding", "copy_memory", "tanh_vs_relu"):
        skill = good.get(t["arch"], 0.0)
        ratio = float(10 ** (-3 * skill + rng.normal(0, 0.2)))
        metrics = {"loss_ratio": ratio, "baseline": 0.167, "test_loss": 0.167 * ratio}
        if name == "copy_memory":
            metrics["copy_accuracy"] = 0.15 + 0.8 * skill + rng.normal(0, 0.02)
        return TrialResult(
            t, metrics=metrics, extras={"test_loss": _curve(rng, 6, 0.2, 0.167 * ratio)}
        )
    if name == "captioning":
        metrics = {
            "bleu4": 80 + 15 * good[t["cell"]] + rng.normal(0, 2),
            "baseline_nearest_bleu4": 60.0,
            "baseline_frequent_bleu4": 33.0,
        }
        return TrialResult(t, metrics=metrics)
    if name == "char_lm":
        bpc = 2.5 - 0.3 * good[t["cell"]] + rng.normal(0, 0.05)
        return TrialResult(
            t,
            metrics={"test_bpc": bpc, "unigram_bpc": 4.4},
            extras={"val_bpc": _curve(rng, 5, 4.0, bpc), "samples": {"0.5": "def f(x):"}},
        )
    if name == "deep_rnn":
        acc = 0.2 if t["depth"] == 1 else 0.95 + rng.normal(0, 0.02)
        return TrialResult(
            t, metrics={"test_accuracy": acc}, extras={"val_accuracy": _curve(rng, 8, 0.15, acc)}
        )
    if name == "exploding_clipping":
        steps = 4 if t["clip"] == "none" else 30
        norms = list(10 ** np.linspace(0, 3 if t["clip"] == "none" else 2, steps))
        loss = _curve(rng, steps, 0.5, 0.1)
        extras = {"grad_norm_pre_clip": norms, "loss": loss}
        if t["clip"] == "none" and t["seed"] % 4:
            extras["loss"][-1] = float("nan")
            return TrialResult(t, "FAILED", extras=extras, error="NonFiniteLoss: loss is nan")
        metrics = {
            "test_loss_ratio": 0.05 + rng.uniform(0, 0.1),
            "max_grad_norm_pre_clip": max(norms),
            "clipped_fraction": 0.3,
        }
        return TrialResult(t, metrics=metrics, extras=extras)
    if name == "gradient_flow":
        length = cfg.probe.length
        decay = {"rnn": 0.9, "rnn_relu": 0.97, "gru": 0.6, "lstm": 0.8}[t["arch"]]
        init = decay ** np.arange(length)[::-1]
        trained = (0.5 + 0.5 * decay) ** np.arange(length)[::-1]
        metrics = {
            "ratio_init": float(init[0] / init[-1]),
            "ratio_trained": float(trained[0] / trained[-1]),
            "loss_ratio": 0.1,
        }
        return TrialResult(
            t, metrics=metrics, extras={"init": list(init), "trained": list(trained)}
        )
    if name == "imdb_seqlen":
        base = {"rnn": 0.66, "lstm": 0.67, "gru": 0.68, "bow": 0.69}[t["model"]]
        gain = {"rnn": 0.03 if t["truncation"] == "pre" else -0.01, "lstm": 0.14, "gru": 0.15}
        long_ = t["length"] == max(cfg.sweep.lengths)
        acc = base + (gain.get(t["model"], 0.16) if long_ else 0.0) + rng.normal(0, 0.02)
        extras = {"data_source": "path"}
        if long_ and t["model"] != "bow":
            extras["grad_init"] = list(0.9 ** np.arange(t["length"])[::-1])
            extras["grad_trained"] = list(0.98 ** np.arange(t["length"])[::-1])
        return TrialResult(t, metrics={"test_accuracy": acc}, extras=extras)
    if name == "sentiment":
        acc = 0.7 + 0.1 * good[t["cell"]] + rng.normal(0, 0.02)
        return TrialResult(
            t,
            metrics={"test_accuracy": acc},
            extras={"val_accuracy": _curve(rng, 4, 0.6, acc), "synthetic": False},
        )
    if name == "tagging":
        acc = 1.0 if t["direction"] == "bi" else 0.24
        per_position = [acc] * (cfg.data.length - 1) + [1.0]
        return TrialResult(t, metrics={"test_accuracy": acc}, extras={"per_position": per_position})
    if name == "timeseries":
        ratio = 0.85 + 0.05 * (1 - good[t["cell"]]) + rng.normal(0, 0.02)
        series = sys.modules[type(catalog.get(name)).__module__].load_series(cfg.data)
        years = series.years[series.split :]
        forecast = list(series.values[series.split - 1 : -1] + rng.normal(0, 5, len(years)))
        years = list(years)
        metrics = {
            "mae_vs_naive": ratio,
            "naive_mae": 20.0,
            "seasonal_naive_mae": 25.0,
            "test_mae": 20 * ratio,
        }
        return TrialResult(t, metrics=metrics, extras={"years": years, "forecast": forecast})
    if name == "translation":
        attention = t["attention"] != "none"
        edges = cfg.finding.length_buckets
        names = [f"{lo}_{hi - 1}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]}_up"]
        skill = good[t["cell"]]
        by_length = {
            b: float(min(100, 60 + 30 * skill + (10 if attention else -5 * k) + rng.normal(0, 2)))
            for k, b in enumerate(names)
        }
        metrics = {"bleu4": float(np.mean(list(by_length.values())))}
        metrics.update({f"bleu4_len_{b}": v for b, v in by_length.items()})
        return TrialResult(t, metrics=metrics, extras={"by_length": by_length})
    if name == "ptb_lm":
        ppl = 580 + rng.normal(0, 10)
        metrics = {
            "valid_perplexity": ppl,
            "test_perplexity": ppl * 0.95,
            "unigram_valid_perplexity": 730.0,
            "bigram_valid_perplexity": 388.0,
            "unigram_test_perplexity": 700.0,
        }
        return TrialResult(t, metrics=metrics, extras={"valid_curve": _curve(rng, 3, 900, ppl)})
    if name == "jsb_chorales":
        nll = {"rnn": 10.3, "gru": 10.8, "lstm": 11.4}[t["cell"]] + rng.normal(0, 0.1)
        return TrialResult(
            t,
            metrics={"test_nll": nll, "baseline_test_nll": 11.5},
            extras={"val_curve": _curve(rng, 5, 14.0, nll)},
        )
    if name == "mnist1d":
        acc = (0.88 if t["order"] == "plain" else 0.54) + rng.normal(0, 0.01)
        curve = _curve(rng, 6, 0.2, acc)
        metrics = {"test_accuracy": acc, "test_accuracy_half_epochs": curve[2], "params": 5134}
        return TrialResult(t, metrics=metrics, extras={"test_accuracy_curve": curve})
    if name == "pos_tagging":
        acc = (0.894 if t["direction"] == "bi" else 0.846) + rng.normal(0, 0.002)
        metrics = {"test_accuracy": acc, "dev_accuracy": acc, "majority_test_accuracy": 0.863}
        return TrialResult(t, metrics=metrics, extras={"val_loss": _curve(rng, 5, 1.0, 0.4)})
    raise KeyError(name)


def fake_results(name, seeds, profile="ci"):
    exp = catalog.get(name)
    cfg = exp.resolve(profile, {"sweep.seeds": seeds} if name != "timeseries" else {})
    rng = np.random.default_rng(0)
    return exp, cfg, [fake_result(name, cfg, t, rng) for t in exp.trials(cfg)]


def texts_of(fig):
    """Every visible text in the figure: titles, labels, tick labels, legend entries."""
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def assert_readable(fig, path):
    """Plain names, nothing outside the image once saved, a PNG on disk."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for text in texts_of(fig):
        words = text.get_text()
        assert not RAW_NAMES.search(words), f"raw config name in {words!r}"
    drawn, box = fig.get_tightbbox(renderer), fig.bbox_inches  # inches, as drawn
    assert drawn.x0 >= box.x0 - 0.01 and drawn.x1 <= box.x1 + 0.01, (drawn, box)
    assert drawn.y0 >= box.y0 - 0.01 and drawn.y1 <= box.y1 + 0.01, (drawn, box)
    plots.save(fig, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def trial_values(results, key):
    return sorted({r.trial[key] for r in results if key in r.trial})


# What each study's figure must show, from the richer trials of `fake_result`: its panels, and
# the trial values on its x axis (a new experiment is tested from its finding cases alone).
PANELS = {
    "adding": 1,
    "captioning": 1,
    "char_lm": 2,
    "copy_memory": 2,
    "deep_rnn": 2,
    "exploding_clipping": 2,
    "gradient_flow": 2,
    "imdb_seqlen": 1,  # ci keeps the start only; `default` draws pre | post
    "jsb_chorales": 1,
    "mnist1d": 1,
    "pos_tagging": 1,
    "ptb_lm": 1,
    "sentiment": 1,
    "tagging": 2,
    "tanh_vs_relu": 1,
    "timeseries": 2,
    "translation": 2,
}
X_VALUES = {  # the trial parameter whose values the first panel's x ticks must be
    "adding": "length",
    "copy_memory": "length",
    "tanh_vs_relu": "length",
    "deep_rnn": "depth",
    "imdb_seqlen": "length",
}


NAMES = sorted(PANELS)
# Answers drawn from per-trial extras (curves, per-length scores) these finding cases leave out.
CURVES_NOT_IN_CASES = {"exploding_clipping", "gradient_flow", "timeseries", "translation"}


@pytest.mark.parametrize("name", sorted(catalog.load_catalog()))
def test_every_experiment_draws_its_answer_from_its_finding_cases(name, tmp_path):
    """A new experiment's figure is tested from its file alone: its passing finding cases."""
    if name in CURVES_NOT_IN_CASES:
        pytest.skip("its answer draws per-trial curves; test_answer_figure has them")
    exp = catalog.get(name)
    cases = exp.finding_cases()
    cfg = cases.adapt(exp.resolve("ci", {}))
    fig = exp.answer_figure(cfg, cases.passing(cfg))
    assert [ax for ax in fig.axes if ax.has_data()], "the answer figure draws the results"
    assert_readable(fig, tmp_path / plots.ANSWER_FIGURE)


@pytest.mark.parametrize("seeds", [1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_answer_figure(name, seeds, tmp_path):
    exp, cfg, results = fake_results(name, seeds)
    fig = exp.answer_figure(cfg, results)
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(axes) == PANELS[name]
    words = " ".join(t.get_text() for t in texts_of(fig))
    n = max(len({r.trial["seed"] for r in results}), 1)
    if n == 1:
        assert "1 seed: no interval" in words
    else:
        assert "t interval" in words
    if name in X_VALUES:
        run = trial_values(results, X_VALUES[name])
        if len(run) > 1:  # a single value run is drawn as one category
            assert [float(t) for t in axes[0].get_xticks()] == [float(v) for v in run]
        assert [t.get_text() for t in axes[0].get_xticklabels()] == [str(v) for v in run]
    assert_readable(fig, tmp_path / plots.ANSWER_FIGURE)


def test_imdb_seqlen_panels_share_y_and_say_each_gain(tmp_path):
    exp, cfg, results = fake_results("imdb_seqlen", 3, profile="default")
    fig = exp.answer_figure(cfg, results)
    keep_end, keep_start = fig.axes[:2]
    assert keep_end.get_shared_y_axes().joined(keep_end, keep_start)
    assert "keep the end" in keep_end.get_title() and "keep the start" in keep_start.get_title()
    legend = [t.get_text() for t in keep_end.get_legend().get_texts()]
    acc = {
        (r.trial["seed"], r.trial["length"]): r.metrics["test_accuracy"]
        for r in results
        if r.trial["truncation"] == "pre" and r.trial["model"] == "rnn"
    }
    gains = [acc[(s, 200)] - acc[(s, 10)] for s in (0, 1, 2)]
    half = 4.303 * np.std(gains, ddof=1) / np.sqrt(3)  # t(0.975, 2 degrees of freedom)
    assert f"SimpleRNN: gain {np.mean(gains):+.2f} ± {half:.2f}" in legend, legend
    assert any(t.startswith("bag of embeddings (order-free): gain") for t in legend), legend
    plots.close(fig)


@pytest.mark.parametrize("name", NAMES)
def test_summary_plots(name, tmp_path):
    exp, cfg, results = fake_results(name, 2)
    paths = exp.summarize(cfg, results, tmp_path)
    pngs = [p for p in paths if str(p).endswith(".png")]
    assert pngs, "a summary draws at least one plot"
    for p in pngs:
        assert Path(p).read_bytes()[:4] == b"\x89PNG"


def test_default_answer_for_an_experiment_without_its_own(tmp_path):
    class Plain(catalog.Experiment):
        name, description, metric = "plain", "a toy", "score"

    results = [
        TrialResult({"width": w, "seed": s}, metrics={"score": w / 10 + s / 100})
        for w in (16, 64)
        for s in (0, 1)
    ] + [TrialResult({"width": 32, "seed": 0}, "FAILED", error="boom")]
    fig = Plain().answer_figure(None, results)
    assert [float(t) for t in fig.axes[0].get_xticks()] == [16.0, 64.0]
    assert_readable(fig, tmp_path / "plain.png")
    nothing = Plain().answer_figure(None, results[-1:])
    assert "no trial finished" in " ".join(t.get_text() for t in texts_of(nothing))
    plots.close(nothing)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/rnnexp-figures")
    out.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        for seeds in (1, 3):
            exp, cfg, results = fake_results(name, seeds)
            plots.save(exp.answer_figure(cfg, results), out / f"{name}-{seeds}seed-answer.png")
            folder = out / f"{name}-{seeds}seed-summary"
            folder.mkdir(exist_ok=True)
            exp.summarize(cfg, results, folder)
    print(out)


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    seed: int = 0


class Sweep(catalog.Experiment):
    """A sweep that trains nothing: each trial scores its width (the runner test's double)."""

    name, description, metric = "sweep", "test double", "score"
    config = SweepConfig()
    profiles = {"ci": {}}

    def trials(self, cfg):
        return [{"width": w, "seed": s} for s in (0, 1) for w in (8, 32)]

    def run_trial(self, cfg, trial, ctx):
        return TrialResult(trial, metrics={"score": trial["width"] / 100 + trial["seed"] / 10})

    def summarize(self, cfg, results, out_dir):
        return plots.mean_curves_figure(
            results, "none", str, out_dir / "empty.png", title="", xlabel="", ylabel=""
        )

    def finding(self, cfg, results):
        return catalog.Finding(True, "all finished")


def test_the_runner_logs_the_answer_figure_first_on_the_parent(tmp_path, monkeypatch):
    import mlflow

    from rnnexp.sweep import runner
    from rnnexp.tracking import tracker as tracking

    logged = []
    for method in ("log_figure", "log_artifact", "log_text"):
        original = getattr(tracking.MlflowReporter, method)

        def spy(self, *args, _original=original, _method=method, **kwargs):
            logged.append((_method, args[1] if len(args) > 1 else kwargs.get("name", args[0])))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(tracking.MlflowReporter, method, spy)
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    exp = Sweep()
    outcome = runner.run_experiment(
        exp, exp.config, profile="ci", tracker=tracking.Tracker("sweep", uri)
    )
    summary = [entry for entry in logged if entry[0] != "log_text" or "summary" in str(entry[1])]
    assert summary[0] == ("log_figure", plots.ANSWER_FIGURE), logged
    artifacts = mlflow.MlflowClient(uri).list_artifacts(outcome.parent_run_id)
    assert sorted(a.path for a in artifacts)[0] == plots.ANSWER_FIGURE
    folder = Path(mlflow.MlflowClient(uri).download_artifacts(outcome.parent_run_id, ""))
    assert (folder / plots.ANSWER_FIGURE).read_bytes()[:4] == b"\x89PNG"


def test_a_figure_that_cannot_be_drawn_costs_the_sweep_nothing(tmp_path, capsys):
    from rnnexp.sweep import runner
    from rnnexp.tracking import tracker as tracking

    class Broken(Sweep):
        def answer_figure(self, cfg, results):
            raise ValueError("no panels for this grid")

    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    exp = Broken()
    outcome = runner.run_experiment(
        exp, exp.config, profile="ci", tracker=tracking.Tracker("b", uri)
    )
    assert outcome.finding.passed and len(outcome.results) == 4
    assert "no 00_answer.png (ValueError: no panels for this grid)" in capsys.readouterr().out
