"""IMDB loaders on small generated files, the stand-in, pools and truncation."""

import dataclasses
import tarfile
import time

import numpy as np
import pytest

from rnnexp.data import imdb, synthetic_reviews
from rnnexp.data.sequences import pool_indices, truncate

REVIEWS = {
    "train/pos": ["A wonderful, moving film.<br /><br />Loved it", "great acting great story"],
    "train/neg": ["Dull and boring. Awful plot", "terrible, a waste of time"],
    "test/pos": ["wonderful story"],
    "test/neg": ["boring waste"],
}


def _write_acl(root, reviews=REVIEWS):
    for split, texts in reviews.items():
        folder = root / "aclImdb" / split
        folder.mkdir(parents=True)
        for i, text in enumerate(texts):
            (folder / f"{i}_7.txt").write_text(text)
    return root / "aclImdb"


def _cfg(**kw):
    return dataclasses.replace(imdb.ImdbDataConfig(), vocab_size=100, **kw)


def offline():
    return False


def test_acl_folder(tmp_path):
    root = _write_acl(tmp_path)
    data = imdb.load(_cfg(source="path", path=str(root)), probe=offline)
    assert data.source == "path" and len(data.x_train) == 4 and len(data.x_test) == 2
    assert data.y_train.tolist() == [1, 1, 0, 0]
    # "<br />" is stripped and text tokenized: "great acting great story" -> 4 ids, 2 equal.
    ids = data.x_train[1]
    assert len(ids) == 4 and ids[0] == ids[2] and ids.min() >= 1


def test_acl_tarball_matches_folder(tmp_path):
    root = _write_acl(tmp_path)
    tar_path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(root, arcname="aclImdb")
    from_tar = imdb.load(_cfg(source="path", path=str(tar_path)), probe=offline)
    from_dir = imdb.load(_cfg(source="path", path=str(root)), probe=offline)
    assert sorted(map(len, from_tar.x_train)) == sorted(map(len, from_dir.x_train))
    assert sorted(from_tar.y_test.tolist()) == [0, 1]


def test_keras_npz(tmp_path):
    path = tmp_path / "imdb.npz"
    x = np.array([[1, 14, 22, 500], [1, 5, 6]], dtype=object)
    np.savez(path, x_train=x, y_train=np.array([1, 0]), x_test=x, y_test=np.array([0, 1]))
    data = imdb.load(_cfg(source="path", path=str(path)), probe=offline)
    assert data.x_train[0].tolist() == [1, 14, 22, 2]  # 500 >= vocab_size: OOV id 2


@pytest.mark.parametrize(
    "breakage,pattern",
    [
        ("missing_split", r"missing split folder test/neg/"),
        ("empty_file", r"0_7.txt: empty review file"),
    ],
)
def test_malformed_folder_names_the_file(tmp_path, breakage, pattern):
    reviews = dict(REVIEWS)
    if breakage == "missing_split":
        del reviews["test/neg"]
    else:
        reviews["train/pos"] = [""]
    root = _write_acl(tmp_path, reviews)
    with pytest.raises(imdb.DataError, match=pattern):
        imdb.load(_cfg(source="path", path=str(root)), probe=offline)


@pytest.mark.parametrize(
    "arrays,pattern",
    [
        ({"x_train": [[1]], "y_train": [1]}, r"missing arrays \['x_test', 'y_test'\]"),
        (
            {"x_train": [[1]], "y_train": [3], "x_test": [[1]], "y_test": [0]},
            r"y_train is not binary",
        ),
    ],
)
def test_malformed_npz_names_the_file(tmp_path, arrays, pattern):
    path = tmp_path / "imdb.npz"
    np.savez(path, **{k: np.array(v, dtype=object) for k, v in arrays.items()})
    with pytest.raises(imdb.DataError, match=f"{path}: .*{pattern}"):
        imdb.load(_cfg(source="path", path=str(path)), probe=offline)


def test_not_a_tarball(tmp_path):
    path = tmp_path / "aclImdb_v1.tar.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(imdb.DataError, match="not a readable tar archive"):
        imdb.load(_cfg(source="path", path=str(path)), probe=offline)


def test_tfds_wiring_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        data = imdb.load(_cfg(source="tfds", dir=str(tmp_path)), probe=lambda: True)
    assert data.source == "tfds" and len(data.x_train) == 6 and len(data.x_test) == 6
    assert set(np.unique(data.y_train)) <= {0, 1}


def test_explicit_sources_fail_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for source, pattern in (("tfds", "not prepared"), ("keras", "not cached")):
        start = time.monotonic()
        with pytest.raises(imdb.DataUnavailable, match=pattern):
            imdb.load(_cfg(source=source, dir=str(tmp_path)), probe=offline)
        assert time.monotonic() - start < 10


def test_auto_falls_back_to_synthetic_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cfg = _cfg(dir=str(tmp_path))
    assert imdb.resolve_source(cfg, probe=offline)[0] == "synthetic"
    assert imdb.resolve_source(cfg, probe=lambda: True)[0] == "tfds"
    assert imdb.resolve_source(dataclasses.replace(cfg, path="x"), probe=offline)[0] == "path"


def test_the_stand_in_is_announced_with_its_reason(capsys):
    from types import SimpleNamespace

    why = "no local IMDB copy and no network"
    imdb.announce(SimpleNamespace(synthetic=True, description=f"synthetic stand-in ({why})"))
    out = capsys.readouterr().out
    assert "SYNTHETIC DATA" in out and why in out and "data.source=tfds" in out


def test_network_probe_is_quick_when_offline(monkeypatch):
    monkeypatch.setenv("RNNEXP_OFFLINE", "1")
    assert imdb.network_available() is False
    monkeypatch.delenv("RNNEXP_OFFLINE")
    start = time.monotonic()
    imdb.network_available(timeout=1.0)  # whatever the answer, it comes fast
    assert time.monotonic() - start < 5


def test_synthetic_evidence_sits_in_its_band():
    cfg = dataclasses.replace(
        imdb.SyntheticReviewsConfig(),
        train_size=200,
        test_size=10,
        min_length=100,
        max_length=120,
        evidence_distance=(30, 100),
        vocab_size=300,
        sentiment_words=5,
        evidence_count=6,
    )
    data = synthetic_reviews.generate(cfg, seed=0)

    def sentiment(tok):
        return 2 <= tok < 2 + 2 * cfg.sentiment_words

    for review in data.x_train:
        positions = np.flatnonzero([sentiment(t) for t in review])
        distances = len(review) - 1 - positions
        assert len(positions) == 6 and distances.min() >= 30 and distances.max() < 100
    # The last 30 tokens carry no evidence: a window that short is at chance.
    tail = truncate(data.x_train, 30, "pre")
    assert not any(sentiment(t) for t in tail.ravel())
    # The documented ceiling: a majority vote of 8 words agreeing w.p. 0.8.
    assert abs(synthetic_reviews.bayes_accuracy(8, 0.8) - 0.967) < 0.001
    assert synthetic_reviews.bayes_accuracy(1, 0.8) == pytest.approx(0.8)


def test_synthetic_is_deterministic():
    cfg = dataclasses.replace(imdb.SyntheticReviewsConfig(), train_size=20, test_size=5)
    a, b = synthetic_reviews.generate(cfg, 3), synthetic_reviews.generate(cfg, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a.x_train, b.x_train))


def test_pool_and_truncation_rules():
    seqs = [np.arange(n) for n in (3, 5, 8)]
    assert pool_indices(seqs, 5).tolist() == [1, 2]
    assert truncate([seqs[2]], 3, "pre").tolist() == [[5, 6, 7]]  # keeps the end
    assert truncate([seqs[2]], 3, "post").tolist() == [[0, 1, 2]]  # keeps the start
    with pytest.raises(ValueError, match="fewer than 5"):
        truncate(seqs, 5, "pre")
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        truncate(seqs, 2, "middle")


def test_auto_asks_the_network_once(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    calls = []

    def probe():
        calls.append(1)
        return True

    with tfds.testing.mock_data(num_examples=4):
        data = imdb.load(_cfg(dir=str(tmp_path)), probe=probe)
    assert data.source == "tfds" and len(calls) == 1


def test_tokenized_reviews_are_cached_and_a_changed_file_misses(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path / "cache"))
    root = _write_acl(tmp_path)
    tar_path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(root, arcname="aclImdb")
    cfg = _cfg(source="path", path=str(tar_path))
    cold = imdb.load(cfg, probe=offline)
    warm = imdb.load(cfg, probe=offline)
    assert (cold.cache, warm.cache) == ("miss", "hit")
    assert [x.tolist() for x in warm.x_train] == [x.tolist() for x in cold.x_train]
    assert warm.y_test.tolist() == cold.y_test.tolist()
    # Another tokenizer setting is another entry.
    assert imdb.load(dataclasses.replace(cfg, vocab_size=200), probe=offline).cache == "miss"
    # A changed file is a miss, never a stale hit.
    changed = {**REVIEWS, "test/neg": ["boring waste", "awful"]}
    _write_acl(tmp_path / "v2", changed)
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "v2" / "aclImdb", arcname="aclImdb")
    again = imdb.load(cfg, probe=offline)
    assert again.cache == "miss" and len(again.x_test) == 3


def test_a_corrupt_cache_entry_is_rebuilt(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(cache))
    cfg = _cfg(source="path", path=str(_write_acl(tmp_path)))
    imdb.load(cfg, probe=offline)
    (entry,) = (cache / "imdb").glob("*.npz")
    entry.write_bytes(b"not an npz")
    assert imdb.load(cfg, probe=offline).cache == "miss"
    assert imdb.load(cfg, probe=offline).cache == "hit"


def test_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(blocker))
    data = imdb.load(_cfg(source="path", path=str(_write_acl(tmp_path))), probe=offline)
    assert data.cache == "miss" and len(data.x_train) == 4


def test_auto_honours_the_imdb_path_variable(tmp_path, monkeypatch):
    root = _write_acl(tmp_path)
    monkeypatch.setenv("RNNEXP_IMDB_PATH", str(root))
    cfg = _cfg(source="auto")
    assert imdb.resolve_source(cfg, probe=offline) == ("path", f"$RNNEXP_IMDB_PATH={root}")
    assert imdb.load(cfg, probe=offline).source == "path"
    monkeypatch.setenv("RNNEXP_IMDB_PATH", str(tmp_path / "missing.tar.gz"))
    with pytest.raises(imdb.DataUnavailable, match=r"\$RNNEXP_IMDB_PATH does not exist"):
        imdb.load(cfg, probe=offline)
