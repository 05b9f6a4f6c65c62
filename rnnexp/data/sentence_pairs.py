"""Sentence pairs from a tab-separated file (the Anki / Tatoeba `fra.txt` format).

Each line is `source<TAB>target[<TAB>attribution...]`, as in
https://www.manythings.org/anki/ files that the Keras and TensorFlow
translation tutorials use. Both sides are standardized
(`rnnexp.data.vocab.standardize`). Malformed lines raise `DataError` naming
the file and line.
"""

from pathlib import Path

from rnnexp.data.imdb import DataError
from rnnexp.data.vocab import standardize

__all__ = ["load_pairs"]


def load_pairs(path, *, max_pairs: int = 0, max_words: int = 0, reverse: bool = False):
    """`[(source, target), ...]` standardized; `reverse` swaps the columns.

    Args:
        max_pairs: keep the first n pairs (0 = all).
        max_words: drop pairs where a side has more words (0 = keep all).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"sentence-pair file not found: {path} (expected a tab-separated "
            "'source<TAB>target' file such as fra.txt from manythings.org/anki)"
        )
    pairs = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
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
