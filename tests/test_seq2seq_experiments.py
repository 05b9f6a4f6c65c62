"""captioning and translation end to end on their real-data paths (tiny, 1 epoch).

The offline data sets are exercised by the `ci` profiles; these runs feed a
generated Flickr8k-style folder and an Anki-style TSV file through the same
code, check every trial finishes and the artifacts land on the runs.
"""

import mlflow
import numpy as np
import pytest
from PIL import Image

from rnnexp import cli

TINY = ["--set", "train.epochs=1", "--set", "model.units=8", "--set", "model.embed_dim=4"]


def runs_of(uri, name):
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children


def artifacts(uri, run_id, path=""):
    mlflow.set_tracking_uri(uri)
    return {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, path)}


def test_translation_from_a_tsv_file(tmp_path):
    rng = np.random.default_rng(0)
    words = ["tom", "mary", "runs", "sleeps", "eats", "here", "now"]
    mots = ["tom", "marie", "court", "dort", "mange", "ici", "maintenant"]
    lines = []
    for _ in range(60):
        idx = rng.choice(len(words), size=rng.integers(2, 5), replace=False)
        lines.append(
            f"{' '.join(words[i] for i in idx).capitalize()}.\t"
            f"{' '.join(mots[i] for i in idx).capitalize()} !\tCC-BY"
        )
    tsv = tmp_path / "fra.txt"
    tsv.write_text("\n".join(lines) + "\n")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = cli.main(
        [
            "run",
            "translation",
            "--tracking-uri",
            uri,
            *TINY,
            "--set",
            "data.source=path",
            "--set",
            f"data.path={tsv}",
            "--set",
            "data.test_size=10",
            "--set",
            "sweep.cells=[gru]",
            "--set",
            "sweep.attention=[none,bahdanau]",
            "--set",
            "decode.beam_width=2",
        ]
    )
    assert code == 0
    parent, children = runs_of(uri, "translation")
    assert parent.data.tags["data.source"] == "file" and len(children) == 2
    assert all(c.info.status == "FINISHED" for c in children)
    assert all(0 <= c.data.metrics["final.chrf"] <= 100 for c in children)
    with_attention = next(c for c in children if c.data.params["trial.attention"] == "bahdanau")
    assert {"attention.png", "samples.md"} <= artifacts(uri, with_attention.info.run_id)
    assert "summary/bleu_by_length.png" in artifacts(uri, parent.info.run_id, "summary")


def test_captioning_from_a_flickr_folder(tmp_path):
    folder = tmp_path / "flickr"
    (folder / "Images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["image,caption"]
    for i in range(12):
        color = ["red", "green", "blue"][i % 3]
        pixels = np.zeros((24, 24, 3), np.uint8)
        pixels[..., i % 3] = 200 + rng.integers(0, 50)
        Image.fromarray(pixels).save(folder / "Images" / f"{i}.jpg")
        rows += [f"{i}.jpg,A {color} square.", f"{i}.jpg,The picture is {color}, plain"]
    (folder / "captions.txt").write_text("\n".join(rows) + "\n")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = cli.main(
        [
            "run",
            "captioning",
            "--tracking-uri",
            uri,
            *TINY,
            "--set",
            "data.source=path",
            "--set",
            f"data.path={folder}",
            "--set",
            "data.test_size=3",
            "--set",
            "data.image_size=16",
            "--set",
            "sweep.cells=[lstm]",
        ]
    )
    assert code == 0
    parent, children = runs_of(uri, "captioning")
    assert parent.data.tags["data.source"] == "folder"
    assert [c.info.status for c in children] == ["FINISHED"]
    assert children[0].data.metrics["final.baseline_nearest_bleu4"] >= 0
    assert {"captions.png", "samples.md"} <= artifacts(uri, children[0].info.run_id)


def test_malformed_folder_is_a_one_line_error_before_any_run(tmp_path, capsys):
    (tmp_path / "flickr").mkdir()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = cli.main(
        [
            "run",
            "captioning",
            "--tracking-uri",
            uri,
            "--set",
            "data.source=path",
            "--set",
            f"data.path={tmp_path / 'flickr'}",
        ]
    )
    assert code == 2
    assert "no Images/ folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("sweep.attention", "[none,dot]", "'dot'"),
        ("data.source", "web", "'web'"),
    ],
)
def test_bad_choices_are_refused(key, value, message, capsys):
    assert cli.main(["show", "translation", "--set", f"{key}={value}"]) == 2
    assert message in capsys.readouterr().err


def translation_results(rnn_none, long_bleu):
    """Trials with a whole-test BLEU and a 13+-word BLEU per (cell, attention)."""
    from rnnexp.catalog import TrialResult

    results = []
    for (cell, attention), long in long_bleu.items():
        whole = rnn_none if (cell, attention) == ("rnn", "none") else 98.0
        metrics = {"bleu4": whole, "bleu4_len_13_up": long}
        trial = {"cell": cell, "attention": attention, "seed": 0}
        results.append(TrialResult(trial, metrics=metrics))
    return results


@pytest.mark.parametrize(
    "gru_none, lstm_none, gru_luong, lstm_luong, passed",
    [
        (70.0, 80.0, 99.0, 99.5, True),  # ci: a large gain
        (95.5, 99.5, 100.0, 100.00000001, True),  # default: near the ceiling, still removed
        (70.0, 80.0, 80.0, 80.0, False),  # a gain, but most of the error is left
        (100.0, 100.0, 100.0, 100.0, False),  # nothing left to show
    ],
)
def test_translation_attention_finding_is_an_error_ratio(
    gru_none, lstm_none, gru_luong, lstm_luong, passed
):
    from rnnexp import catalog

    exp = catalog.get("translation")
    cfg = exp.resolve("ci")
    long_bleu = {
        ("rnn", "none"): 50.0,
        ("rnn", "luong"): 99.0,
        ("gru", "none"): gru_none,
        ("gru", "luong"): gru_luong,
        ("lstm", "none"): lstm_none,
        ("lstm", "luong"): lstm_luong,
    }
    finding = exp.finding(cfg, translation_results(60.0, long_bleu))
    assert finding.passed is passed, finding.message
    assert "error" in finding.message and "-0.00" not in finding.message
