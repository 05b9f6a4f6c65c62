"""The README's reproduction table: published numbers next to ours, read from records."""

import dataclasses
import json
from pathlib import Path

from rnnexp import catalog
from rnnexp.report import reproduction_table
from rnnexp.catalog import Experiment, PaperResult

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Train:
    epochs: int = 4


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 0
    train: Train = Train()


class Toy(Experiment):
    name = "toy_paper"
    config = Config()
    profiles = {"ci": {}}
    paper_results = (
        PaperResult(
            "GRU", "Someone 2020", 0.9, "acc", (("cell", "gru"),), curve="val_acc", percent=True
        ),
        PaperResult("LSTM", "Someone 2020", None, "acc", (("cell", "lstm"),), record="toy-other"),
    )


def outcome(seed, accs, epochs, device="CPU: test (2 cores)"):
    trials = [
        {
            "trial": {"cell": "gru", "seed": seed + k},
            "metrics": {"acc": acc},
            "epochs": {
                "val_acc": [acc / 2] * (epochs - 1) + [acc],
                "epoch_seconds": [2.0] * epochs,
            },
        }
        for k, acc in enumerate(accs)
    ]
    trials.append({"trial": {"cell": "lstm", "seed": seed}, "metrics": {"acc": 0.1}, "epochs": {}})
    return {
        "seed": seed,
        "passed": True,
        "wall_s": 120.0,
        "checks": [],
        "device": device,
        "backend": "tensorflow",
        "trials": trials,
    }


def write(tmp_path, name, profile, overrides, outcomes):
    record = {
        "experiment": "toy_paper",
        "profile": profile,
        "overrides": overrides,
        "outcomes": outcomes,
        "summary": {"seeds": [o["seed"] for o in outcomes]},
    }
    (tmp_path / f"{name}.json").write_text(json.dumps(record))


def test_ours_is_the_mean_over_matching_trials_with_time_per_epoch_and_an_early_epoch(tmp_path):
    write(tmp_path, "toy_paper-ci", "ci", {}, [outcome(10, [0.8, 0.9], 4), outcome(20, [0.85], 4)])
    gru, lstm = reproduction_table.rows({"toy_paper": Toy()}, tmp_path)
    assert gru[:2] == ["`toy_paper` GRU", "Someone 2020: 90.0%"]
    assert gru[2].startswith("85.0% ± ") and gru[2].endswith("(3 seeds)")  # lstm trials left out
    assert gru[3] == "`ci`" and gru[4] == "CPU: test (2 cores), tensorflow; 2.0 min per sweep"
    assert gru[5] == "2.0 s"
    assert gru[6] == "val_acc at epoch 2: 42.5% (epoch 4: 85.0%)"
    # A number that could not be checked says so; a missing record is "not measured".
    assert lstm[1] == "Someone 2020: not checked"
    assert lstm[2] == "not measured: no record `robustness/toy-other.json`"


def test_a_run_cut_short_shows_its_curve_and_projected_time_never_a_result(tmp_path):
    write(tmp_path, "toy_paper-ci", "ci", {"train.epochs": 2}, [outcome(10, [0.8], 2)])
    gru = reproduction_table.rows({"toy_paper": Toy()}, tmp_path)[0]
    assert gru[2] == "not run to the end: 2 of 4 epochs, 1 seed(s); val_acc by epoch 40.0% / 80.0%"
    assert gru[3] == "`ci` (train.epochs=2)"
    assert gru[5] == "2.0 s; 4 epochs x 5 seeds projected 0.0 h"
    assert "±" not in gru[2]


def test_a_record_without_trials_says_so(tmp_path):
    old = outcome(10, [0.8], 4)
    del old["trials"]
    write(tmp_path, "toy_paper-ci", "ci", {}, [old])
    gru = reproduction_table.rows({"toy_paper": Toy()}, tmp_path)[0]
    assert gru[2].startswith("not recorded")


def test_the_readme_table_is_the_generated_one():
    """Regenerate with `python -m rnnexp docs --write`."""
    table = reproduction_table.render(catalog.load_catalog(), ROOT / "robustness")
    readme = (ROOT / "README.md").read_text()
    assert f"{reproduction_table.BEGIN}\n{table}\n{reproduction_table.END}" in readme
