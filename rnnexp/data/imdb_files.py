"""IMDB's files on disk: the aclImdb folder, its tarball, or a Keras `imdb.npz`, within bounds.

`read_texts(path)` gives the labelled review texts of a folder or tarball (split folder ->
texts), `load_npz` a Keras-format file of word ids. Every reader refuses what is not IMDB
(a FIFO, a huge review, an archive that unpacks to gigabytes) in one line naming the file.
"""

import re
import tarfile
from pathlib import Path

import numpy as np

from rnnexp.data import limits, safe_npz
from rnnexp.data.records import DataError, TokenizedReviews

__all__ = ["SPLIT_FOLDERS", "labelled", "load_npz", "read_texts", "refuse_special"]

# Input limits, so a small download cannot take the machine's memory or time:
# a review is kilobytes (IMDB's longest is about 14 KB); the aclImdb archive
# unpacks to about 500 MB (with its unlabelled reviews), 50,000 labelled reviews.
MAX_REVIEW_BYTES = 1 << 20
MAX_ARCHIVE_BYTES = 4 << 30  # every member of a tarball, read or skipped
MAX_TEXT_BYTES = 256 << 20  # the labelled reviews read, all together (IMDB's: 65 MB)
MAX_REVIEWS = 1_000_000
SPLIT_FOLDERS = ("train/pos", "train/neg", "test/pos", "test/neg")


def read_texts(path: Path):
    """A function reading the folder or tarball at `path`: `{split folder: [text, ...]}`."""
    if path.is_dir():
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        return lambda: {split: _read_folder(root, split) for split in SPLIT_FOLDERS}
    if path.name.endswith((".tar.gz", ".tgz")):
        return lambda: _read_tarball(path)
    raise DataError(f"{path}: expected an aclImdb folder, aclImdb_v1.tar.gz or imdb.npz")


def labelled(texts: dict) -> tuple:
    """`(x_train, y_train, x_test, y_test)` of `read_texts`'s splits: positive 1, negative 0."""
    x_tr = texts["train/pos"] + texts["train/neg"]
    y_tr = np.array([1] * len(texts["train/pos"]) + [0] * len(texts["train/neg"]), "int32")
    x_te = texts["test/pos"] + texts["test/neg"]
    y_te = np.array([1] * len(texts["test/pos"]) + [0] * len(texts["test/neg"]), "int32")
    return x_tr, y_tr, x_te, y_te


def _read_folder(root: Path, split: str) -> list[str]:
    folder = root / split
    if not folder.is_dir():
        raise DataError(
            f"{root}: missing split folder {split}/ (expected {', '.join(SPLIT_FOLDERS)})"
        )
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise DataError(f"{folder}: no .txt reviews")
    if len(files) > MAX_REVIEWS:
        raise DataError(f"{folder}: {len(files):,} reviews, more than {MAX_REVIEWS:,}")
    texts, total = [], 0
    for f in files:
        refuse_special(f)
        with open(f, "rb") as stream:  # bounded: a file may grow, or not say its size
            raw = stream.read(MAX_REVIEW_BYTES + 1)
        _check_review_size(f, len(raw))
        total += len(raw)
        _check_total(folder, total)
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            raise DataError(f"{f}: empty review file")
        texts.append(text)
    return texts


def refuse_special(path: Path):
    """A FIFO, device or socket (a `.txt` FIFO, a link to /dev/zero) would block or never end."""
    limits.refuse_special(path, "point data.path at the aclImdb folder, its .tar.gz or an imdb.npz")


def _check_review_size(where, size: int):
    if size > MAX_REVIEW_BYTES:
        raise DataError(
            f"{where}: a review of more than {limits.human(MAX_REVIEW_BYTES)} (a review is "
            "kilobytes): not an IMDB review file"
        )


def _check_total(where, total: int):
    if total > MAX_TEXT_BYTES:
        raise DataError(
            f"{where}: more than {limits.human(MAX_TEXT_BYTES)} of review text (IMDB's is about "
            "65 MB): not the IMDB reviews"
        )


def _read_tarball(path: Path) -> dict[str, list[str]]:
    texts = {split: [] for split in SPLIT_FOLDERS}
    pattern = re.compile(r"(?:^|/)aclImdb/((?:train|test)/(?:pos|neg))/[^/]+\.txt$")
    unpacked, read, count = 0, 0, 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:  # sizes come from each header, before its data is read
                unpacked += max(member.size, 0)
                if unpacked > MAX_ARCHIVE_BYTES:
                    raise DataError(
                        f"{path}: unpacks to more than {limits.human(MAX_ARCHIVE_BYTES)} (at "
                        f"{member.name}); aclImdb_v1.tar.gz unpacks to about 500 MB"
                    )
                match = pattern.search(member.name)
                if not match or not member.isfile():
                    continue
                _check_review_size(f"{path}: {member.name}", member.size)
                read, count = read + member.size, count + 1
                _check_total(path, read)
                if count > MAX_REVIEWS:
                    raise DataError(f"{path}: more than {MAX_REVIEWS:,} reviews")
                text = tar.extractfile(member).read().decode("utf-8", "replace").strip()
                if not text:
                    raise DataError(f"{path}: empty review file {member.name}")
                texts[match.group(1)].append(text)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{path}: not a readable tar archive ({err})") from None
    missing = [s for s, t in texts.items() if not t]
    if missing:
        raise DataError(f"{path}: no reviews under aclImdb/{', aclImdb/'.join(missing)}")
    return texts


def load_npz(path: Path, vocab_size: int) -> TokenizedReviews:
    def integral(a: np.ndarray) -> bool:  # integer ids, also as Python ints in an object array
        if a.dtype.kind in "iu":
            return True
        return a.dtype == object and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in a.ravel()
        )

    keys = ("x_train", "y_train", "x_test", "y_test")
    try:  # never np.load(allow_pickle=True): a pickle in a data file can run code
        arrays = safe_npz.load_arrays(path, keys)
    except safe_npz.BadNpz as err:
        raise DataError(f"{path}: {err}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim == 0 or y.ndim != 1 or len(x) == 0 or len(x) != len(y):
            raise DataError(
                f"{path}: x_{split} has {x.size} reviews but y_{split} has {y.size} labels"
            )
        if not integral(y) or not set(np.unique(y).tolist()) <= {0, 1}:
            raise DataError(f"{path}: y_{split} is not binary (values {np.unique(y)[:5].tolist()})")

    def clip(seqs, key):
        # Keras convention: 0 pad, 1 start, 2 OOV; ids >= vocab_size become OOV.
        out = []
        for i, s in enumerate(seqs):
            s = np.asarray(s)
            if s.ndim != 1 or not integral(s) or (s.size and s.min() < 0):
                raise DataError(
                    f"{path}: {key}[{i}] is not a list of word ids (non-negative integers; "
                    f"found {s.dtype} of shape {s.shape}); tokenize the text first, or give "
                    "the aclImdb folder instead"
                )
            out.append(np.where(s >= vocab_size, 2, s).astype("int32"))
        return out

    return TokenizedReviews(
        clip(arrays["x_train"], "x_train"),
        arrays["y_train"].astype("int32"),
        clip(arrays["x_test"], "x_test"),
        arrays["y_test"].astype("int32"),
        vocab_size,
        "path",
        f"imdb.npz at {path}",
    )
