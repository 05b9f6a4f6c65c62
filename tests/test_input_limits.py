"""Every loader that reads a file a user names refuses an oversized file and a FIFO (issue 32).

An oversized file is sparse (no disk, no read: the size comes from `stat`); a
FIFO would block `open` until a writer came, so each FIFO case has a writer
that comes after `HANG_S`, turning a hang into a failed timing assertion.
"""

import dataclasses
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rnnexp import cli
from rnnexp.data import flickr, imdb, limits, safe_npz, sentence_pairs, text_corpus
from rnnexp.data.records import DataError

sys.path.insert(0, str(Path(__file__).parent))
from test_faults import one_line_error  # noqa: E402

HANG_S = 15.0  # long enough that a loaded CI machine's slow call is not taken for a hang


def sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


@pytest.fixture
def fifo(tmp_path):
    """`make(path)`: a FIFO at `path`. A watcher opens its write end whenever a reader
    waits on it (after `HANG_S`), so a hang ends, and the test fails on `waited`."""
    made, waited, done = [], [], threading.Event()

    def watch(path: Path):
        done.wait(HANG_S)
        while True:
            try:  # succeeds only while some reader has it open: the code under test waits
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                waited.append(path)
            except OSError:
                pass
            if done.wait(0.5):
                return

    def make(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        made.append(path)
        threading.Thread(target=watch, args=(path,), daemon=True).start()
        return path

    yield make
    done.set()
    assert not waited, f"opened for reading (a reader waited on it): {waited}"


def refused(call, *match):
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        call()
    assert time.monotonic() - start < HANG_S, "it waited on the file"  # the writer comes at HANG_S
    text = str(info.value)
    assert "\n" not in text and all(m in text for m in match), text
    return text


# -- the shared helpers ----------------------------------------------------------
def test_limits_name_the_file_and_the_limit(tmp_path, fifo):
    big = sparse(tmp_path / "big.txt", (1 << 20) + 1)
    refused(lambda: limits.read_bounded(big, 1 << 20, "what it is"), str(big), "more than 1 MB")
    pipe = fifo(tmp_path / "pipe.txt")
    refused(lambda: limits.read_bounded(pipe, 1 << 20, "x", "hint"), "not a regular file", "hint")
    assert limits.read_bounded(tmp_path / "big.txt", 2 << 20, "x")[:3] == b"\0\0\0"
    assert [limits.human(n) for n in (1 << 20, 4 << 30, 1000)] == ["1 MB", "4 GB", "1,000 bytes"]


# -- char_lm: a text corpus --------------------------------------------------------
def test_char_lm_text_oversized_or_fifo(tmp_path, fifo):
    big = sparse(tmp_path / "corpus.txt", text_corpus.MAX_TEXT_FILE_BYTES + 1)
    refused(lambda: text_corpus.load_text("path", str(big)), "corpus.txt", "more than 128 MB")
    pipe = fifo(tmp_path / "pipe.txt")
    refused(lambda: text_corpus.load_text("path", str(pipe)), "pipe.txt", "not a regular file")
    dev = tmp_path / "zero.txt"
    dev.symlink_to("/dev/zero")
    refused(lambda: text_corpus.load_text("path", str(dev)), "zero.txt", "not a regular file")


def test_char_lm_cli_fifo_is_one_line(tmp_path, fifo, capsys):
    pipe = fifo(tmp_path / "shakespeare.txt")
    start = time.monotonic()
    code = cli.main(
        ["run", "char_lm", "--profile", "ci", "--set", "data.source=path",
         "--set", f"data.path={pipe}", "--tracking-uri", f"sqlite:///{tmp_path}/s/mlflow.db"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "not a regular file" in err, err
    assert time.monotonic() - start < 60  # importing TensorFlow on a busy machine


# -- translation: sentence pairs ---------------------------------------------------
def test_translation_pairs_oversized_or_fifo(tmp_path, fifo):
    big = sparse(tmp_path / "fra.txt", sentence_pairs.MAX_TEXT_BYTES + 1)
    refused(lambda: sentence_pairs.load_pairs(big), "fra.txt", "more than 256 MB", "pairs")
    pipe = fifo(tmp_path / "pipe.txt")
    refused(lambda: sentence_pairs.load_pairs(pipe), "pipe.txt", "not a regular file")


# -- captioning: captions.txt and the images ---------------------------------------
def _flickr(root: Path, captions: bytes | None = b"image,caption\na.jpg,A dog runs\n"):
    (root / "Images").mkdir(parents=True)
    if captions is not None:
        (root / "captions.txt").write_bytes(captions)
    return root


def test_captioning_captions_oversized_or_fifo(tmp_path, fifo):
    root = _flickr(tmp_path / "big", captions=None)
    sparse(root / "captions.txt", flickr.MAX_CAPTIONS_BYTES + 1)
    refused(lambda: flickr.load_captions(root), "captions.txt", "more than 64 MB")
    root = _flickr(tmp_path / "pipe", captions=None)
    fifo(root / "captions.txt")
    refused(lambda: flickr.load_captions(root), "captions.txt", "not a regular file")


def test_captioning_images_oversized_or_fifo(tmp_path, fifo):
    root = _flickr(tmp_path / "pipe")
    fifo(root / "Images" / "a.jpg")
    refused(lambda: flickr.load_captions(root), "a.jpg", "not a regular file")
    root = _flickr(tmp_path / "big")
    image = sparse(root / "Images" / "a.jpg", flickr.MAX_IMAGE_BYTES + 1)
    found = flickr.load_captions(root)
    refused(lambda: flickr.load_images(found.paths, 8), "a.jpg", "more than 32 MB")
    assert found.paths == [image]


# -- .npz (IMDB's imdb.npz) --------------------------------------------------------
def _npz(path: Path, x_rows: int) -> Path:
    x = np.zeros((x_rows, 10), "int32")
    y = np.zeros(x_rows, "int32")
    np.savez_compressed(path, x_train=x, y_train=y, x_test=x, y_test=y)
    return path


def test_an_npz_that_unpacks_too_large_is_refused_from_its_directory(tmp_path, monkeypatch):
    path = _npz(tmp_path / "imdb.npz", 20_000)  # 800 KB of zeros per x, a few KB compressed
    assert path.stat().st_size < 20_000
    monkeypatch.setattr(safe_npz, "MAX_NPZ_BYTES", 1 << 20)
    with pytest.raises(safe_npz.BadNpz, match=r"unpack to more than 1 MB \(at x_test"):
        safe_npz.load_arrays(path, ("x_train", "y_train", "x_test", "y_test"))
    monkeypatch.setattr(safe_npz, "MAX_NPZ_BYTES", 4 << 20)
    arrays = safe_npz.load_arrays(path, ("x_train", "y_train", "x_test", "y_test"))
    assert arrays["x_train"].shape == (20_000, 10)


def test_imdb_npz_fifo_is_refused(tmp_path, fifo):
    pipe = fifo(tmp_path / "imdb.npz")
    refused(lambda: safe_npz.load_arrays(pipe, ("x_train",)), "imdb.npz", "not a regular file")
    cfg = dataclasses.replace(imdb.ImdbDataConfig(), source="path", path=str(pipe))
    refused(lambda: imdb.load(cfg, probe=lambda: False), "imdb.npz", "not a regular file")


def test_imdb_npz_that_unpacks_too_large_is_one_line_naming_the_file(tmp_path, monkeypatch):
    path = _npz(tmp_path / "imdb.npz", 20_000)
    monkeypatch.setattr(safe_npz, "MAX_NPZ_BYTES", 1 << 20)
    cfg = dataclasses.replace(imdb.ImdbDataConfig(), source="path", path=str(path))
    refused(lambda: imdb.load(cfg, probe=lambda: False), str(path), "more than 1 MB")
