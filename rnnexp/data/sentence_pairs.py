"""Sentence pairs from a tab-separated file (the Anki / Tatoeba `fra.txt` format).

Each line is `source<TAB>target[<TAB>attribution...]`, as in
https://www.manythings.org/anki/ files that the Keras and TensorFlow
translation tutorials use. Both sides are standardized
(`rnnexp.data.vocab.standardize`). Malformed lines raise `DataError` naming
the file and line.
"""

from pathlib import Path

import numpy as np

from rnnexp import console
from rnnexp.data import limits
from rnnexp.data.records import DataError
from rnnexp.data.vocab import standardize

__all__ = ["file_pairs", "load_pairs", "text_lines"]

# A text file read whole (fra.txt, with its attributions, is tens of MB; a
# Flickr8k captions.txt 3 MB): its lines become Python strings, several times
# the file's size in memory.
MAX_TEXT_BYTES = 256 << 20


def text_lines(path: Path, limit: int | None = None, what: str = "a text file read whole"):
    """`(line number, text)` of a UTF-8 text file; `DataError` naming the line that is not.

    A binary file (a NUL byte in its first 8 KiB) is refused as a whole: its
    "lines" would only produce a confusing message about tabs or commas. So is
    a FIFO or device, or a file larger than `limit` (`MAX_TEXT_BYTES`).
    """
    raw = limits.read_bounded(path, MAX_TEXT_BYTES if limit is None else limit, what)
    if b"\0" in raw[:8192]:
        raise DataError(f"{path}: a binary file, not UTF-8 text")
    for lineno, chunk in enumerate(raw.split(b"\n"), 1):
        try:
            yield lineno, chunk.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}:{lineno}: not UTF-8 text ({err.reason} at byte {err.start}); "
                "convert it, e.g. `iconv -f latin1 -t utf-8`"
            ) from None


def load_pairs(path, *, max_pairs: int = 0, max_words: int = 0, reverse: bool = False):
    """`[(source, target), ...]` standardized; `reverse` swaps the columns.

    Args:
        max_pairs: keep the first n pairs (0 = all).
        max_words: drop pairs where a side has more words (0 = keep all).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"sentence-pair file not found: {path} (expected a tab-separated "
            "'source<TAB>target' file such as fra.txt from manythings.org/anki)"
        )
    pairs = []
    lines = text_lines(path, what="sentence pairs are read whole; fra.txt is tens of MB")
    for lineno, line in lines:
        line = line.rstrip("\r")
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise DataError(
                f"{path}:{lineno}: expected 'source<TAB>target', found no tab in {line[:60]!r}"
            )
        src, tgt = standardize(cols[0]), standardize(cols[1])
        if not src or not tgt:
            side = "source" if not src else "target"
            raise DataError(f"{path}:{lineno}: empty {side} sentence")
        if reverse:
            src, tgt = tgt, src
        if max_words and max(len(src.split()), len(tgt.split())) > max_words:
            continue
        pairs.append((src, tgt))
        if max_pairs and len(pairs) >= max_pairs:
            break
    if len(pairs) < 2:
        raise DataError(f"{path}: found {len(pairs)} usable sentence pair(s); need at least 2")
    return pairs


def file_pairs(cfg):
    """A file's pairs, shuffled: `(train, test)`, a fifth (at most `test_size`) for the test.

    Args:
        cfg: the data config: `path`, `max_words`, `reverse`, `seed`, `train_size`, `test_size`
            (pairs beyond train + test are left out).
    """
    pairs = load_pairs(cfg.path, max_words=cfg.max_words, reverse=cfg.reverse)
    order = np.random.default_rng(cfg.seed).permutation(len(pairs))
    pairs = [pairs[i] for i in order[: cfg.train_size + cfg.test_size]]
    n_test = min(cfg.test_size, len(pairs) // 5 or 1)
    console.say(f"data: {len(pairs) - n_test} train / {n_test} test pairs from {cfg.path}")
    return pairs[n_test:], pairs[:n_test]
