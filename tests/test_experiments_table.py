"""The README's experiments table is generated from the catalog and the robustness records."""

import json
from pathlib import Path

import pytest

from rnnexp import catalog, cli, experiments_table
from rnnexp.catalog import Experiment

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_table_is_the_generated_one():
    """Regenerate with `python -m rnnexp list --format markdown --write README.md`."""
    table = experiments_table.render(catalog.load_catalog(), ROOT / "robustness")
    readme = (ROOT / "README.md").read_text()
    assert f"{experiments_table.BEGIN}\n{table}\n{experiments_table.END}" in readme


@pytest.mark.parametrize("name", sorted(catalog.load_catalog()))
def test_every_experiment_states_its_row(name):
    exp = catalog.get(name)
    for column in ("shows", "runtime", "expected"):
        text = getattr(exp, column)
        assert text.strip(), f"{name}.{column} is empty"
        assert "\n" not in text, f"{name}.{column}: one paragraph, no line breaks"
    assert "`ci`" in exp.runtime, f"{name}.runtime says nothing about the ci profile"


class _Row(Experiment):
    name = "toy_row"
    shows = "a | b"
    runtime = "`ci` 1 min"
    expected = ""


def _record(folder, name="toy_row", per_sweep=None, margins=None):
    record = {
        "experiment": name,
        "profile": "ci",
        "summary": {
            "seeds": [10, 11, 12],
            "passed": 2,
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


def test_a_row_without_a_record_says_not_measured(tmp_path):
    table = experiments_table.render({"toy_row": _Row()}, tmp_path / "none")
    assert table.splitlines()[2] == "| `toy_row` | a \\| b | `ci` 1 min | – | not measured |"


def test_the_robustness_column_quotes_the_tightest_check(tmp_path):
    _record(tmp_path)
    cell = experiments_table.robustness_cell("toy_row", tmp_path)
    assert cell == "2/3 at seeds 10–12; smallest margin -0.5 (seed 10): floor"
    _record(tmp_path, per_sweep=4, margins={})
    cell = experiments_table.robustness_cell("toy_row", tmp_path)
    assert cell == "2/3 at seeds 10–15 (3 sweeps of 4)"


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
    monkeypatch.chdir(tmp_path)  # no robustness/ here: every row "not measured"
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{experiments_table.BEGIN}\nold\n{experiments_table.END}\nrest\n")
    assert cli.main(["list", "--format", "markdown", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"intro\n{experiments_table.BEGIN}\n| name |")
    assert text.endswith(f"\n{experiments_table.END}\nrest\n") and "\nold\n" not in text
    assert text.count("not measured") == len(catalog.load_catalog())
    capsys.readouterr()
    readme.write_text("no markers\n")
    assert cli.main(["list", "--write", str(readme)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no table markers" in err
    assert readme.read_text() == "no markers\n"


def test_show_prints_the_row(capsys):
    assert cli.main(["show", "tagging", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["expected"] == catalog.get("tagging").expected
    assert set(shown) >= {"shows", "runtime", "expected", "robustness", "config"}
