"""IMDB reviews as token-id sequences: TFDS, a local copy, Keras, or a stand-in.

`load(cfg)` returns `TokenizedReviews` (variable-length int arrays + 0/1
labels) for `cfg.source`:

- `tfds`: `tensorflow_datasets` `imdb_reviews` (honours `TFDS_DATA_DIR` or
  `cfg.dir`); raw text, tokenized here.
- `path`: `cfg.path` is the Stanford `aclImdb/` folder, its
  `aclImdb_v1.tar.gz`, or a Keras-format `imdb.npz` (word-index lists), read
  within bounds by `rnnexp.data.imdb_files`.
- `keras`: `keras.datasets.imdb` (word-index lists, cached in ~/.keras).
- `synthetic`: the offline stand-in of `rnnexp.data.synthetic_reviews`.
- `auto`: the first of `cfg.path`, `$RNNEXP_IMDB_PATH`, prepared TFDS data,
  the Keras cache, or a download when the network answers within seconds;
  else the stand-in.

A folder or tarball is tokenized once and cached on disk (`token_cache`),
keyed by the file's hash and the tokenizer settings.

Raw text is tokenized with Keras's `TextVectorization` (lower-case, strip
punctuation, `vocab_size` most frequent words; 0 = padding, 1 = OOV).
Explicit sources never fall back: they raise `DataUnavailable` saying how to
provide the data. Malformed local data raises `DataError` naming the file.
"""

import dataclasses
import functools
import os
import re
import socket
import time
from pathlib import Path
from typing import Literal

import numpy as np

from rnnexp.config import ConfigError, Positive, check
from rnnexp.data import imdb_files, synthetic_reviews, token_cache
from rnnexp.data.records import DataError, DataUnavailable, TokenizedReviews

__all__ = [
    "DataError",
    "DataUnavailable",
    "ImdbDataConfig",
    "SyntheticReviewsConfig",
    "TokenizedReviews",
    "load",
    "network_available",
    "resolve_source",
]

TFDS_NAME = "imdb_reviews"
# Where `source=auto` finds a local IMDB copy when data.path is empty (CI sets
# it to the shared tarball): a folder, aclImdb_v1.tar.gz or imdb.npz.
PATH_ENV = "RNNEXP_IMDB_PATH"


@dataclasses.dataclass(frozen=True)
class SyntheticReviewsConfig:
    """The offline stand-in (see `rnnexp.data.synthetic_reviews`)."""

    train_size: Positive = 4000
    test_size: Positive = 1000
    vocab_size: Positive = 500
    min_length: int = 500  # every review is at least as long as the longest window
    max_length: int = 600
    sentiment_words: Positive = 20  # per class
    evidence_count: Positive = 10
    evidence_distance: tuple[int, ...] = (0, 500)  # (near, far) steps from the end
    agreement: float = 0.8
    seed: int = 1234  # the data set, not the trial, so every trial sees the same reviews

    def __post_init__(self):
        near_far = self.evidence_distance
        check(
            len(near_far) == 2 and 0 <= near_far[0] < near_far[1],
            "data.synthetic.evidence_distance",
            near_far,
            "(near, far) with 0 <= near < far",
        )
        check(
            near_far[1] - near_far[0] >= self.evidence_count,
            "data.synthetic.evidence_count",
            self.evidence_count,
            "at most far - near",
        )
        check(
            near_far[1] <= self.min_length,
            "data.synthetic.evidence_distance",
            near_far,
            f"far <= min_length ({self.min_length})",
        )
        check(
            self.min_length <= self.max_length,
            "data.synthetic.min_length",
            self.min_length,
            f"<= max_length ({self.max_length})",
        )
        check(0.5 <= self.agreement <= 1.0, "data.synthetic.agreement", self.agreement, "[0.5, 1]")
        check(
            self.vocab_size > 2 + 2 * self.sentiment_words + 10,
            "data.synthetic.vocab_size",
            self.vocab_size,
            "> 2 + 2*sentiment_words + 10",
        )
        check(
            self.train_size > 0 and self.test_size > 0,
            "data.synthetic.train_size",
            (self.train_size, self.test_size),
            "positive sizes",
        )


@dataclasses.dataclass(frozen=True)
class ImdbDataConfig:
    """Where IMDB comes from, and how it is tokenized."""

    source: Literal["auto", "tfds", "path", "keras", "synthetic"] = "auto"
    path: str = ""  # aclImdb/ folder, aclImdb_v1.tar.gz or imdb.npz (source=path)
    dir: str = ""  # TFDS data_dir (else $TFDS_DATA_DIR or ~/tensorflow_datasets)
    vocab_size: Positive = 10000
    synthetic: SyntheticReviewsConfig = SyntheticReviewsConfig()

    def __post_init__(self):
        check(self.vocab_size >= 100, "data.vocab_size", self.vocab_size, ">= 100")
        check(
            self.source != "path" or self.path,
            "data.path",
            self.path,
            "a file or folder when data.source=path",
        )


# -- offline detection -------------------------------------------------------
_PROBE_HOSTS = (("storage.googleapis.com", 443), ("ai.stanford.edu", 80))


def network_available(timeout: float = 3.0) -> bool:
    """True if a data host accepts a TCP connection within `timeout` seconds.

    This is how `auto` avoids TFDS's minutes of download retries offline.
    """
    if os.environ.get("RNNEXP_OFFLINE") == "1":
        return False
    for host, port in _PROBE_HOSTS:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _tfds_prepared(data_dir) -> bool:
    try:
        import tensorflow_datasets as tfds

        return tfds.builder(TFDS_NAME, data_dir=data_dir).is_prepared()
    except Exception:
        return False


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "imdb.npz"


def resolve_source(cfg, probe=network_available) -> tuple[str, str]:
    """`(source, why)` for `cfg.source`, deciding `auto` without downloading."""
    if cfg.source != "auto":
        return cfg.source, "requested"
    if cfg.path:
        return "path", f"data.path={cfg.path}"
    if os.environ.get(PATH_ENV):
        return "path", f"${PATH_ENV}={os.environ[PATH_ENV]}"
    if _tfds_prepared(cfg.dir or None):
        return "tfds", "prepared TFDS data found"
    if _keras_cache().is_file():
        return "keras", f"Keras cache {_keras_cache()}"
    if probe():
        return "tfds", "network reachable; TFDS will download imdb_reviews"
    return "synthetic", "no local IMDB copy and no network"


# -- loaders -----------------------------------------------------------------
def load(cfg, probe=network_available) -> TokenizedReviews:
    """Load the data `cfg` (an `ImdbDataConfig`) asks for."""
    # `auto` may already have asked the network; ask once (each try can take seconds).
    probe = functools.lru_cache(maxsize=1)(probe)
    source, why = resolve_source(cfg, probe)
    if source == "synthetic":
        data = synthetic_reviews.generate(cfg.synthetic, seed=cfg.synthetic.seed)
        data.description = f"synthetic stand-in ({why})"
        return data
    if source == "path":
        return _load_path(cfg)
    if source == "keras":
        return _load_keras(cfg, probe)
    if source == "tfds":
        return _load_tfds(cfg, probe)
    raise ConfigError(f"unknown data.source {source!r}")


def data_card(data: TokenizedReviews, splits: dict):
    """The run's record of these reviews (`rnnexp.data.card`): real IMDB or the stand-in."""
    from rnnexp.data.card import DataCard, array_digest

    if not hasattr(data, "digest"):  # once per load: labels and review lengths, not the text
        lengths = [np.array([len(x) for x in xs], "int64") for xs in (data.x_train, data.x_test)]
        data.digest = array_digest(data.y_train, data.y_test, *lengths)
    return DataCard(
        name="imdb-standin" if data.synthetic else "imdb",
        source=data.description,
        real=not data.synthetic,
        splits=dict(splits),
        digest=data.digest,
    )


def announce(data: TokenizedReviews):
    """Print where the reviews come from; a banner when they are the stand-in."""
    from rnnexp import console

    if data.synthetic:
        console.banner(
            f"SYNTHETIC DATA: this run uses the {data.description}, not IMDB.\n"
            "Provide IMDB with data.source=tfds|path|keras for the real study."
        )
    elif data.cache:
        console.say(
            f"data: {data.description} (token cache {data.cache}, "
            f"loaded in {data.load_seconds:.1f}s)"
        )
    else:
        console.say(f"data: {data.description}")


def _load_tfds(cfg, probe) -> TokenizedReviews:
    import tensorflow_datasets as tfds

    data_dir = cfg.dir or None
    prepared = _tfds_prepared(data_dir)
    if not prepared and not probe():
        raise DataUnavailable(
            f"TFDS {TFDS_NAME} is not prepared in "
            f"{data_dir or '$TFDS_DATA_DIR or ~/tensorflow_datasets'} "
            "and the network is unreachable; on a connected machine run "
            f"`python -c \"import tensorflow_datasets as t; t.load('{TFDS_NAME}')\"` and copy the "
            "folder here (set data.dir or TFDS_DATA_DIR), or use data.source=path with data.path"
        )
    splits = tfds.load(
        TFDS_NAME,
        split=["train", "test"],
        data_dir=data_dir,
        as_supervised=True,
        download=not prepared,
    )
    texts, labels = [], []
    for split in splits:
        t, y = [], []
        for text, label in tfds.as_numpy(split):
            t.append(text.decode("utf-8") if isinstance(text, bytes) else str(text))
            y.append(int(label))
        texts.append(t)
        labels.append(np.asarray(y, dtype="int32"))
    splits = _tokenize(texts[0], labels[0], texts[1], labels[1], cfg.vocab_size, TFDS_NAME)
    return TokenizedReviews(
        splits["x_train"],
        splits["y_train"],
        splits["x_test"],
        splits["y_test"],
        cfg.vocab_size,
        "tfds",
        f"TFDS {TFDS_NAME}",
    )


def _load_keras(cfg, probe) -> TokenizedReviews:
    if not _keras_cache().is_file() and not probe():
        raise DataUnavailable(
            f"keras.datasets.imdb is not cached at {_keras_cache()} and the network is "
            "unreachable; copy imdb.npz there, or use data.source=path data.path=/path/to/imdb.npz"
        )
    import keras

    (x_tr, y_tr), (x_te, y_te) = keras.datasets.imdb.load_data(num_words=cfg.vocab_size)
    return TokenizedReviews(
        [np.asarray(x, "int32") for x in x_tr],
        np.asarray(y_tr, "int32"),
        [np.asarray(x, "int32") for x in x_te],
        np.asarray(y_te, "int32"),
        cfg.vocab_size,
        "keras",
        "keras.datasets.imdb",
    )


def _load_path(cfg) -> TokenizedReviews:
    given = cfg.path or os.environ.get(PATH_ENV, "")
    path = Path(given).expanduser()
    if not path.exists():
        where = "data.path" if cfg.path else f"${PATH_ENV}"
        raise DataUnavailable(f"{where} does not exist: {path}")
    imdb_files.refuse_special(path)
    if path.suffix == ".npz":
        return imdb_files.load_npz(path, cfg.vocab_size)
    read = imdb_files.read_texts(path)

    def build():
        x_tr, y_tr, x_te, y_te = imdb_files.labelled(read())
        return _tokenize(x_tr, y_tr, x_te, y_te, cfg.vocab_size, str(path))

    start = time.monotonic()
    splits, status = token_cache.load_or_build(path, _tokenizer_settings(cfg.vocab_size), build)
    return TokenizedReviews(
        splits["x_train"],
        np.asarray(splits["y_train"], "int32"),
        splits["x_test"],
        np.asarray(splits["y_test"], "int32"),
        cfg.vocab_size,
        "path",
        f"aclImdb at {path}",
        cache=status,
        load_seconds=time.monotonic() - start,
    )


def _tokenizer_settings(vocab_size: int) -> dict:
    """What changes the token ids besides the source: part of the cache key."""
    from importlib.metadata import version

    return {"vocab_size": vocab_size, "tokenizer": _TOKENIZER, "keras": version("keras")}


_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# TextVectorization's defaults (lower-case, strip punctuation, split on
# whitespace) after replacing <br /> tags; a change here must change the name.
_TOKENIZER = "textvectorization-lower-strip-punct-br-v1"


def _tokenize(x_tr, y_tr, x_te, y_te, vocab_size, description) -> dict:
    """Fit a `TextVectorization` vocabulary on the training texts; map both splits."""
    import keras

    for name, y in (("train", y_tr), ("test", y_te)):
        if not set(np.unique(y).tolist()) <= {0, 1}:
            raise DataError(f"{description}: {name} labels are not binary")
    x_tr = [_HTML_BREAK.sub(" ", t) for t in x_tr]
    x_te = [_HTML_BREAK.sub(" ", t) for t in x_te]
    vectorize = keras.layers.TextVectorization(max_tokens=vocab_size, output_mode="int")
    vectorize.adapt(x_tr, batch_size=512)

    def ids(texts):
        out = []
        for start in range(0, len(texts), 512):
            batch = np.asarray(vectorize(texts[start : start + 512]))
            out.extend(row[row != 0].astype("int32") for row in batch)
        return out

    return {
        "x_train": ids(x_tr),
        "y_train": np.asarray(y_tr, "int32"),
        "x_test": ids(x_te),
        "y_test": np.asarray(y_te, "int32"),
    }
