"""The finding card: the verdict sentence, the checks, the tables, what the UI renders."""

from rnnexp.report import card
from rnnexp.catalog import Check, Experiment, Finding, TrialResult
from rnnexp.tracking.ui import compare_url, run_url
from rnnexp.tracking.naming import data_label, trial_run_name


class Study(Experiment):
    name = "study"
    description = "keep the start and the rnn falls behind the lstm"
    metric = "test_accuracy"


def _results(values_by_arm, failed=()):
    out = []
    for (side, model), values in values_by_arm.items():
        for seed, value in enumerate(values):
            trial = {"truncation": side, "model": model, "seed": seed}
            out.append(TrialResult(trial, metrics={"test_accuracy": value, "params": 1234}))
    for side, model in failed:
        trial = {"truncation": side, "model": model, "seed": 9}
        out.append(TrialResult(trial, status="FAILED", error="loss became nan"))
    return out


GAP = Check("post: rnn gain - lstm gain", -0.067, "<=", 0.05)


def test_the_verdict_is_the_claim_said_plainly_and_whether_it_held():
    exp = Study()
    assert card.verdict(exp, Finding(True, "long message", checks=(GAP,))) == (
        "Holds: keep the start and the SimpleRNN falls behind the LSTM."
    )
    failing = Check("post: rnn gain - lstm gain", 0.2, "<=", 0.05)
    assert card.verdict(exp, Finding(False, "m", checks=(failing,))).startswith("Does not hold: ")
    # no checks to show: why it could not be shown comes first
    missing = card.verdict(exp, Finding(False, "missing results: post rnn at L=10"))
    assert missing.startswith("Not shown (missing results: post rnn at L=10): keep the start")
    exp.claim = "a claim of its own."
    assert card.verdict(exp, Finding(True, "m")) == "Holds: a claim of its own."


def test_a_check_reads_as_value_threshold_and_margin_with_plain_names():
    assert card.check_line(GAP) == (
        "PASS post: SimpleRNN gain - LSTM gain = -0.067 <= 0.05 (margin 0.12)"
    )
    low = Check("bow gain", 0.07, ">=", 0.08)
    assert card.check_line(low) == ("FAIL bag of embeddings gain = 0.07 >= 0.08 (margin -0.01)")
    ratio = Check("grad ratio", 1e-3, ">=", 1e-5, log=True)
    assert card.check_line(ratio).endswith("(margin 2 orders of magnitude)")
    # words that merely contain a model's spelling stay as they are
    said = card.plain_words("rnn-bi vs birnn, data.rnn, gru")
    assert said == "SimpleRNN-bi vs birnn, data.rnn, GRU"


def test_console_card_lists_every_check_under_the_verdict():
    exp = Study()
    lines = card.console_lines(exp, Finding(True, "m", checks=(GAP, GAP)))
    assert lines[0].startswith("Holds: ") and len(lines) == 3
    assert all(line.startswith("  PASS post: SimpleRNN") for line in lines[1:])
    # a finding stated without structured checks shows its message as its one check
    assert card.console_lines(exp, Finding(False, "2 of 3 finished"))[1] == "  FAIL 2 of 3 finished"


def test_arm_rows_give_mean_and_interval_over_seeds_in_the_sweeps_order():
    results = _results(
        {("post", "rnn"): [0.6, 0.62, 0.64], ("post", "lstm"): [0.8]}, failed=[("pre", "bow")]
    )
    rows = card.arm_rows(results, "test_accuracy", plain_values=True)
    assert [(r["truncation"], r["model"], r["seeds"]) for r in rows] == [
        ("keep the start (post-truncation)", "SimpleRNN", 3),
        ("keep the start (post-truncation)", "LSTM", 1),
        ("keep the end (pre-truncation)", "bag of embeddings (order-free)", 0),
    ]
    assert rows[0]["test_accuracy"].startswith("0.620 ± 0.0")
    assert rows[1]["test_accuracy"] == "0.800 (1 seed)"  # one seed: no interval
    assert rows[2]["test_accuracy"] == "-" and rows[2]["not finished"] == 1


def test_results_table_fits_120_columns_unless_wide():
    rows = [
        {"model": "rnn", "seed": 0, "status": "FINISHED", "test_accuracy": 0.81}
        | {f"metric_{i}": 0.123456 for i in range(20)}
        | {"error": "x" * 300}
    ]
    narrow = card.results_text(rows, ["model", "seed"], "test_accuracy")
    table, note = narrow.rsplit("\n", 1)
    assert max(len(line) for line in table.splitlines()) <= card.WIDTH
    assert table.splitlines()[0].split()[:4] == ["model", "seed", "status", "test_accuracy"]
    assert note.startswith("(") and "--wide" in note
    assert table.splitlines()[2].split()[:2] == ["SimpleRNN", "0"]  # models by plain name
    hidden = int(note[1:].split()[0])
    assert hidden == 25 - len(table.splitlines()[0].split()) - 1  # the error is said elsewhere
    wide = card.results_text(rows, ["model", "seed"], "test_accuracy", wide=True)
    assert "metric_19" in wide and "x" * 300 in wide


def test_run_markdown_holds_the_card_the_interval_table_and_links():
    exp = Study()
    results = _results({("post", "rnn"): [0.6, 0.62], ("post", "lstm"): [0.8, 0.82]})
    text = card.run_markdown(
        exp,
        Finding(True, "m", checks=(GAP,)),
        results,
        figure_src="get-artifact?path=00_answer.png&run_uuid=abc",
        figure_link="/#/experiments/1/runs/abc/artifactPath/00_answer.png",
        compare_link="/#/compare-runs?runs=x",
    )
    assert text.startswith("### Holds: keep the start and the SimpleRNN falls behind the LSTM.")
    assert "![the study figure](get-artifact?path=00_answer.png&run_uuid=abc)" in text
    assert "- `PASS post: SimpleRNN gain - LSTM gain = -0.067 <= 0.05 (margin 0.12)`" in text
    assert "| truncation | model | seeds | test_accuracy |" in text
    assert "| keep the start (post-truncation) | SimpleRNN | 2 |" in text
    assert "[the trials side by side](/#/compare-runs?runs=x)" in text
    assert "summary/finding.txt" in text


def test_experiment_markdown_asks_the_question_of_the_module_docstring():
    from rnnexp import catalog

    exp = catalog.get("imdb_seqlen")
    text = card.experiment_markdown(exp, latest="Newest sweep: [x](y): Holds.")
    assert text.startswith("### which recurrent cells can use a longer IMDB review, and when?")
    assert "**Claim:** " in text and "python -m rnnexp run imdb_seqlen --profile ci" in text
    assert text.rstrip().endswith("Newest sweep: [x](y): Holds.")


def test_run_names_are_short_with_the_varying_keys_first():
    trials = [
        {"cell": "rnn", "truncation": t, "length": n, "seed": 0}
        for t in ("pre", "post")
        for n in (10, 200)
    ]
    assert trial_run_name(trials[3], trials) == "post·L200·SimpleRNN·s0"
    assert trial_run_name({"depth": 2, "residual": False}, [{"depth": 2, "residual": False}]) == (
        "depth=2·no-residual"
    )
    assert trial_run_name({}, [{}]) == "trial"
    trials = [{"clip": c, "seed": 35} for c in ("none", "global")]
    assert [trial_run_name(t, trials) for t in trials] == ["no-clip·s35", "global·s35"]
    # a plain name too long for the UI's column keeps its config spelling
    assert trial_run_name({"arch": "irnn", "seed": 1}, [{"arch": "irnn", "seed": 1}]) == "irnn·s1"


def test_data_is_named_plainly():
    from rnnexp.data.card import DataCard

    real = DataCard("imdb", "/data/aclImdb.tar.gz", True, {})
    standin = DataCard("imdb-standin", "synthetic reviews", False, {})
    generated = DataCard("adding-generated", "generated", False, {})
    assert data_label(real, "path") == "real IMDB"
    assert data_label(standin, "synthetic") == "synthetic stand-in (not IMDB)"
    assert data_label(generated, "generated") == "generated data"
    assert data_label(None, "pydoc") == "Python's bundled docs"


def test_links_open_the_model_training_view():
    base = "http://127.0.0.1:5000"
    assert run_url(base, "3", "abc") == (
        "http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning"
    )
    assert run_url("", "3", "abc", "00_answer.png") == (
        "/#/experiments/3/runs/abc/artifactPath/00_answer.png?workflowType=machine_learning"
    )
    url = compare_url(base, "3", ["a", "b"])
    assert url.startswith("http://127.0.0.1:5000/#/compare-runs?runs=%5B%22a%22%2C%22b%22%5D")
    assert url.endswith("&experiments=%5B%223%22%5D&workflowType=machine_learning")
