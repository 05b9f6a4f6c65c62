"""What a person reads about results is generated from the records: the README's findings
table, `docs/experiments/NAME.md` and their figures (`python -m rnnexp docs --write`)."""

import json
from pathlib import Path

import pytest

from rnnexp import catalog, cli
from rnnexp.report import (
    experiment_page,
    experiments_table,
    page_figures,
    pages,
    reproduction_table,
    robustness_table,
)
from rnnexp.catalog import Experiment

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_table_is_the_generated_one():
    """Regenerate with `python -m rnnexp docs --write`."""
    recorded = pages.published(catalog.load_catalog(), ROOT / "robustness")
    table = experiments_table.render(recorded, ROOT / "robustness")
    readme = (ROOT / "README.md").read_text()
    assert f"{experiments_table.BEGIN}\n{table}\n{experiments_table.END}" in readme


def test_every_page_and_table_matches_the_records_and_catalog():
    """A new record, a changed claim or docstring: `python -m rnnexp docs --write`."""
    drifted = pages.stale(catalog.load_catalog(), ROOT)
    assert not drifted, f"regenerate with `python -m rnnexp docs --write`: {drifted}"


def test_every_figure_a_generated_text_shows_exists():
    experiments = catalog.load_catalog()
    assert (ROOT / page_figures.FOREST).is_file()
    for name in experiments:
        for record in experiment_page.records_of(name, ROOT / "robustness"):
            assert (ROOT / experiment_page.figure_path(name, record["profile"])).is_file(), name


def test_the_readme_is_read_in_two_minutes():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    rows = [line for line in lines if line.startswith("| [`")]
    recorded = pages.published(catalog.load_catalog(), ROOT / "robustness")
    assert len(rows) == len(recorded), "one row per recorded experiment"
    for line in rows:
        cells = [c.strip() for c in line.strip("|").replace("\\|", "¦").split("|")]
        for cell in cells:
            assert len(cell) <= experiments_table.CELL_LIMIT, cell


@pytest.mark.parametrize("name", sorted(catalog.load_catalog()))
def test_every_experiment_states_its_claim_without_measured_numbers(name):
    exp = catalog.get(name)
    for column in ("description", "shows"):
        text = getattr(exp, column)
        assert text.strip(), f"{name}.{column} is empty"
        assert "\n" not in text, f"{name}.{column}: one paragraph, no line breaks"
    assert len(exp.description) <= experiments_table.CELL_LIMIT
    assert experiments_table.hand_typed_measurements(exp) == []


class _Row(Experiment):
    name = "toy_row"
    description = "a | b"
    shows = "what the toy shows"


class _Expected(_Row):
    expected = "the LSTM scores well"


class _Typed(_Row):
    shows = "the LSTM reaches 0.85 on the toy (Le et al. 2015)"


class _Cited(_Row):
    shows = "identity init (Le et al. 2015) at T=50..200, 1/6 baseline"


def test_a_class_with_a_hand_typed_measurement_is_caught():
    (fault,) = experiments_table.hand_typed_measurements(_Expected())
    assert fault.startswith("_Expected.expected: measured results live in robustness/")
    (fault,) = experiments_table.hand_typed_measurements(_Typed())
    assert "toy_row.shows: a decimal number" in fault and "0.85" in fault
    assert experiments_table.hand_typed_measurements(_Cited()) == []


def _outcome(seed, value, margin, passed=True, **extra):
    check = {"label": "gain", "value": value, "op": ">=", "threshold": 0.1, "log": False}
    ratio = {"label": "ratio", "value": 10.0**seed, "op": ">=", "threshold": 1.0, "log": True}
    return {
        "seed": seed,
        "passed": passed,
        "wall_s": 60.0 + seed,
        "checks": [{**check, "margin": margin}, {**ratio, "margin": float(seed)}],
        "layers": "tensorflow, step (r2)",
        **extra,
    }


def _record(folder, name="toy_row", per_sweep=None, margins=None, outcomes=None):
    record = {
        "experiment": name,
        "profile": "ci",
        "overrides": {},
        "outcomes": outcomes if outcomes is not None else [],
        "summary": {
            "seeds": [10, 11, 12],
            "passed": 2,
            "mean_wall_s": 61.0,
            "smallest_margins": margins
            if margins is not None
            else {
                "gain": {"margin": 0.25, "seed": 11, "log": False},
                "ratio": {"margin": 0.1, "seed": 12, "log": True},
                "floor": {"margin": -0.5, "seed": 10, "log": False},
            },
        },
    }
    if per_sweep:
        record["seeds_per_sweep"] = per_sweep
    folder.mkdir(exist_ok=True)
    (folder / f"{name}-ci.json").write_text(json.dumps(record))
    return record


def test_a_row_without_a_record_says_not_measured(tmp_path):
    _record(tmp_path, name="other_row")  # the folder holds records, not toy_row's
    table = experiments_table.render({"toy_row": _Row(), "other_row": _Row()}, tmp_path)
    link = "[`toy_row`](docs/experiments/toy_row.md)"
    assert f"| {link} | a \\| b | not measured | not measured |" in table.splitlines()


def test_the_robustness_column_quotes_the_tightest_check(tmp_path):
    _record(tmp_path)
    cell = experiments_table.robustness_cell("toy_row", tmp_path)
    assert cell == "2/3 at seeds 10–12; smallest margin -0.5 (seed 10): floor"
    _record(tmp_path, per_sweep=4, margins={})
    cell = experiments_table.robustness_cell("toy_row", tmp_path)
    assert cell == "2/3 at seeds 10–15 (3 sweeps of 4)"
    from rnnexp.report.robustness_table import seeds_text

    assert seeds_text([12000], 6) == "12000–12005 (1 sweep of 6)"


def test_the_headline_is_the_mean_and_interval_over_the_recorded_seeds(tmp_path):
    outcomes = [_outcome(10, 0.30, 0.20), _outcome(11, 0.40, 0.30), _outcome(12, 0.50, 0.40)]
    _record(tmp_path, outcomes=outcomes)
    # mean 0.4; t(0.975, 2) 4.303 x sd 0.1 / sqrt(3) = 0.248
    assert experiments_table.headline_cell(_Row(), tmp_path) == (
        "gain: 0.4 ± 0.25 (3 seeds), asserted >= 0.1"
    )

    class Named(_Row):
        headline = "ratio"

    # a log-scale check: the interval of log10(value), seeds 10-12 -> 11 ± 2.5
    assert experiments_table.headline_cell(Named(), tmp_path) == (
        "ratio: 10^(11 ± 2.5) (3 seeds), asserted >= 1"
    )
    _record(tmp_path, outcomes=outcomes[:1])
    assert "gain: 0.3 (1 seed)" in experiments_table.headline_cell(_Row(), tmp_path)


def test_a_long_headline_label_is_cut_at_its_first_comma_not_dropped(tmp_path):
    long = "lstm bi1-uni1 gain, median of 3 paired seeds"
    outcomes = [_outcome(10, 0.30, 0.20), _outcome(11, 0.40, 0.30), _outcome(12, 0.50, 0.40)]
    for o in outcomes:
        o["checks"][0]["label"] = long

    class Long(_Row):
        headline = long

    _record(tmp_path, outcomes=outcomes)
    assert experiments_table.headline_cell(Long(), tmp_path) == (
        "LSTM bidirectional 1-layer - unidirectional 1-layer gain: 0.4 ± 0.25 (3 seeds), "
        "asserted >= 0.1"
    )


@pytest.mark.parametrize("text", ["{not json", '{"summary": {}}', "[]"])
def test_a_broken_record_is_one_clear_error(tmp_path, monkeypatch, capsys, text):
    (tmp_path / "robustness").mkdir()
    (tmp_path / "robustness" / "tagging-ci.json").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["list", "--format", "markdown"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tagging-ci.json is not a robustness record" in err


def test_list_markdown_writes_between_the_markers_and_refuses_a_readme_without_them(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # no robustness/ here: refused, the README kept
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{experiments_table.BEGIN}\nold\n{experiments_table.END}\nrest\n")
    before = readme.read_text()
    assert cli.main(["list", "--format", "markdown", "--write", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no robustness records in" in err
    assert readme.read_text() == before
    _record(tmp_path / "robustness", name="tagging")
    assert cli.main(["list", "--format", "markdown", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"intro\n{experiments_table.BEGIN}\n| experiment |")
    assert text.endswith(f"\n{experiments_table.END}\nrest\n") and "\nold\n" not in text
    tagging_row = next(line for line in text.splitlines() if "[`tagging`]" in line)
    assert tagging_row.endswith("| 2/3 at seeds 10–12; smallest margin -0.5 (seed 10): floor |")
    assert text.count("not measured") == 2 * (len(catalog.load_catalog()) - 1)
    capsys.readouterr()
    readme.write_text("no markers\n")
    assert cli.main(["list", "--write", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no table markers" in err
    assert readme.read_text() == "no markers\n"


def test_show_prints_the_generated_row(capsys):
    assert cli.main(["show", "tagging", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["claim"] == catalog.get("tagging").description
    assert shown["headline"] == experiments_table.headline_cell(catalog.get("tagging"))
    assert set(shown) >= {"claim", "headline", "robustness", "page", "config"}
    assert "expected" not in shown and "runtime" not in shown


def test_a_page_quotes_every_check_at_every_seed_and_the_numbers_per_arm(tmp_path):
    old = _outcome(10, 0.30, 0.20)  # recorded before outcomes carried numbers or a device
    new = _outcome(
        11, 0.05, -0.05, passed=False, numbers={"lstm_gain": 0.4}, device="CPU: x", cpu_s=40.0
    )
    _record(tmp_path, outcomes=[old, new])
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "toy_row.md").write_text("### Restatements\n\nOnce, at seed 9.\n")
    page = experiment_page.render_page(_Row(), tmp_path, notes)
    assert page.startswith("<!-- generated by `python -m rnnexp docs --write`")
    assert "**Claim.** a | b" in page
    assert "| gain | >= 0.1 | 0.175 ± 1.6 (2 seeds) | -0.05 (seed 11) |" in page
    assert "| 11 | FAIL | gain | 0.05 | >= 0.1 | -0.05 |" in page
    assert "| | | ratio | 1e+11 | >= 1 | +11 dec |" in page
    assert "| `lstm_gain` | 0.4 (1 seed) |" in page
    where = "data: not recorded; layers: tensorflow, step (r2); device: CPU: x"
    assert f"{where} (not recorded by 1 older outcome)" in page
    # run times skew (a busy machine): the median and the range, never a ± that goes negative
    assert (
        "wall time per sweep 70 s median (2 seeds, 70 s to 71 s); "
        "process CPU time 40 s (1 seed)" in page
    )
    assert "python -m rnnexp robustness toy_row --seeds 5 --start 13" in page
    assert "![margins of every check across seeds](toy_row-ci-margins.png)" in page
    assert page.endswith("## Notes and history\n\n### Restatements\n\nOnce, at seed 9.\n")


class _Ratios(_Row):
    number_names = {"gru_ratio": "GRU ratio"}
    log_numbers = ("gru_ratio",)


def test_a_page_of_sweeps_counts_sweeps_and_shows_ratios_in_decades(tmp_path):
    numbers = [{"gru_ratio": 1e-20}, {"gru_ratio": 1e-18}]  # an arithmetic mean: 5e-19
    outcomes = [_outcome(s, 0.3, 0.2, numbers=n) for s, n in zip((10, 13), numbers)]
    _record(tmp_path, per_sweep=3, outcomes=outcomes)
    page = experiment_page.render_page(_Ratios(), tmp_path, tmp_path / "no-notes")
    assert "2 of 3 sweeps passed (seeds 10–14 (3 sweeps of 3)); wall time per sweep" in page
    assert "| sweep at seed | verdict | check |" in page
    assert "| gain | >= 0.1 | 0.3 ± 0 (2 sweeps) | +0.2 (sweep at seed 10) |" in page
    assert "| GRU ratio (`gru_ratio`) | 10^(-19 ± 13) (2 sweeps) |" in page


def test_a_page_without_a_record_says_how_to_make_one(tmp_path):
    page = experiment_page.render_page(_Row(), tmp_path / "none", tmp_path / "no-notes")
    assert "Not measured: no record in `robustness/` yet." in page
    assert "Notes and history" not in page


def test_docs_refuses_a_folder_without_records(tmp_path, capsys):
    (tmp_path / "README.md").write_text(f"{experiments_table.BEGIN}\n{experiments_table.END}\n")
    assert cli.main(["docs", "--root", str(tmp_path), "--write"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no robustness records in" in err
    assert not (tmp_path / "docs").exists()


def test_docs_lists_what_drifted_then_writes_it(tmp_path, monkeypatch, capsys):
    _record(tmp_path / "robustness", name="tagging", outcomes=[_outcome(10, 0.3, 0.2)])
    readme = tmp_path / "README.md"
    readme.write_text(
        f"{experiments_table.BEGIN}\n{experiments_table.END}\n"
        f"{pages.COST_BEGIN}\n{pages.COST_END}\n"
        f"{reproduction_table.BEGIN}\n{reproduction_table.END}\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / pages.ROBUSTNESS_PAGE).write_text(
        f"{robustness_table.BEGIN}\n{robustness_table.END}\n"
    )
    assert cli.main(["docs", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"stale: {readme}" in out and "tagging.md" in out and "docs --write" in out
    assert cli.main(["docs", "--root", str(tmp_path), "--write"]) == 0
    capsys.readouterr()
    assert cli.main(["docs", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "docs" / "experiments" / "tagging.md").is_file()
    assert "| [`tagging`](docs/experiments/tagging.md) |" in readme.read_text()
    # A page whose experiment left the catalog is stale, and --write removes it.
    gone = tmp_path / "docs" / "experiments" / "retired.md"
    gone.write_text("old page\n")
    assert cli.main(["docs", "--root", str(tmp_path)]) == 1
    assert f"stale: {gone}" in capsys.readouterr().out
    assert cli.main(["docs", "--root", str(tmp_path), "--write"]) == 0
    assert not gone.exists()


def test_figures_are_drawn_from_the_records(tmp_path):
    outcomes = [_outcome(10, 0.30, 0.20), _outcome(11, None, None, passed=False)]
    _record(tmp_path / "robustness", outcomes=outcomes)
    written = page_figures.write_figures({"toy_row": _Row()}, tmp_path, tmp_path / "robustness")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        [page_figures.FOREST, experiment_page.figure_path("toy_row", "ci")]
    )
    assert all(p.stat().st_size > 1000 for p in written)


def test_check_labels_a_person_reads_say_plain_names():
    """Records keep labels like `best of gru/lstm loss/baseline` as stable keys; every table
    and page renders them plainly (`best of GRU/LSTM loss/baseline`)."""
    import re

    from rnnexp.names import plain_label

    assert plain_label("best of gru/lstm loss/baseline") == "best of GRU/LSTM loss/baseline"
    assert plain_label("rnn: best deeper stack") == "SimpleRNN: best deeper stack"
    assert (
        plain_label("bow gain, deep_rnn, data.rnn") == "bag of embeddings gain, deep_rnn, data.rnn"
    )
    assert plain_label("lstm-uni1 accuracy") == "unidirectional 1-layer LSTM accuracy"
    assert plain_label("lstm bi1-uni1 gain") == (
        "LSTM bidirectional 1-layer - unidirectional 1-layer gain"
    )
    assert plain_label("smallest bi - uni gain") == "smallest bidirectional - unidirectional gain"
    code_name = re.compile(r"(?<![\w.`=])(rnn|gru|lstm|bow|gru/lstm|uni[12]|bi[12])(?![\w`])")
    experiments = catalog.load_catalog()
    table = experiments_table.render(experiments, ROOT / "robustness")
    shown = [table] + [
        experiment_page.render_page(experiments[n], ROOT / "robustness") for n in experiments
    ]
    for text in shown:
        # the check tables of a page: `| check | asserted | ...` and `| seed | verdict | check |`
        for line in text.splitlines():
            if line.startswith("|") and not line.startswith("| `") and "python -m" not in line:
                cells = line.split(" | ")[:4]
                found = [c for c in cells if code_name.search(c)]
                assert not found, f"a check label in code names: {line[:160]}"


class _Drawn(_Row):
    """Draws its study figure from whatever trials it is handed, and keeps them to look at."""

    def resolve(self, profile="default", overrides=None):
        return {"profile": profile}

    def answer_figure(self, cfg, results):
        import matplotlib.pyplot as plt

        self.drawn_from = (cfg, results)
        fig, ax = plt.subplots()
        ax.plot([r.trial["length"] for r in results], [r.metrics["acc"] for r in results], "o")
        return fig


def _trial(length, acc, seed):
    return {
        "trial": {"length": length, "seed": seed},
        "status": "FINISHED",
        "metrics": {"acc": acc},
        "extras": {"curve": [0.5, acc]},
    }


def test_the_study_figure_is_drawn_from_the_trials_a_record_kept_and_shown_first(tmp_path):
    old = _outcome(10, 0.30, 0.20)  # recorded before outcomes kept their trials
    new = _outcome(11, 0.2, 0.1, trials=[_trial(10, 0.6, 11), _trial(200, None, 11)])
    _record(tmp_path / "robustness", outcomes=[old, new])
    exp = _Drawn()
    written = page_figures.write_figures({"toy_row": exp}, tmp_path, tmp_path / "robustness")
    answer = tmp_path / experiment_page.answer_path("toy_row", "ci")
    assert answer in written and answer.stat().st_size > 1000
    cfg, results = exp.drawn_from
    assert cfg == {"profile": "ci"}
    assert [(r.trial["length"], r.metrics["acc"]) for r in results][0] == (10, 0.6)
    assert results[1].metrics["acc"] != results[1].metrics["acc"]  # a lost value is NaN again
    assert results[0].extras == {"curve": [0.5, 0.6]}
    page = experiment_page.render_page(exp, tmp_path / "robustness")
    body = page.split("# toy_row\n\n", 1)[1]
    assert body.startswith("![the study figure (ci)](toy_row-ci-answer.png)")
    assert "(sweeps at seeds 11; 1 of 2 recorded)" in body
    assert answer not in pages.orphans({"toy_row": exp}, tmp_path, tmp_path / "robustness")


def test_a_page_whose_record_kept_no_trials_says_why_it_has_no_study_figure(tmp_path):
    _record(tmp_path, outcomes=[_outcome(10, 0.30, 0.20)])
    page = experiment_page.render_page(_Row(), tmp_path)
    body = page.split("# toy_row\n\n", 1)[1]
    assert body.startswith("*No study figure here yet: the `ci` record's outcomes were recorded")
    assert "python -m rnnexp robustness toy_row --seeds 1 --start 13" in body


def test_a_record_keeps_each_trial_for_the_study_figure():
    import numpy as np

    from rnnexp.catalog import TrialResult
    from rnnexp.sweep.robustness_record import trial_record

    result = TrialResult(
        {"cell": "rnn", "seed": np.int64(3), "length": 10},
        metrics={"acc": np.float32(0.5), "loss": float("nan")},
        extras={"curve": np.arange(3.0), "model": object(), "huge": list(range(9000))},
    )
    kept = trial_record(result)
    assert kept == {
        "trial": {"cell": "rnn", "seed": 3, "length": 10},
        "status": "FINISHED",
        "metrics": {"acc": 0.5, "loss": None},
        "epochs": {},  # no per-epoch curves were logged
        "extras": {"curve": [0.0, 1.0, 2.0]},  # no model, no 9,000-number list
    }
    json.dumps(kept)


def test_a_new_experiment_without_a_record_needs_no_page_to_pass():
    """Adding `experiments/NAME.py` is the one step: no row or page until it has a record."""

    class Unrecorded(Experiment):
        name, description, metric = "zz_unrecorded", "a new experiment", "score"

    experiments = {**catalog.load_catalog(), "zz_unrecorded": Unrecorded()}
    assert "zz_unrecorded" in pages.unpublished(experiments, ROOT)
    assert pages.stale(experiments, ROOT) == []
