"""Character-level text: a real corpus that ships with Python, or a file.

The built-in corpus is CPython's own `pydoc_data.topics`: the help texts of
the Python Language Reference (about 465,000 characters of English prose
with code examples, as `help("if")` prints them). It is real, edited
text, ships with every CPython install (no download), and its wording
differs slightly between Python versions, so the source label names the
version.
"""

import collections
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np

from rnnexp.config import ConfigError
from rnnexp.data import limits

__all__ = ["CharCorpus", "CharVocab", "load_text", "unigram_bits"]


class TextUnavailable(ConfigError):
    """The requested text cannot be read."""


# The whole text is read, decoded and encoded to ids in memory (tiny-shakespeare
# is 1 MB, enwik8 100 MB): a larger file would take the machine's memory.
MAX_TEXT_FILE_BYTES = 128 << 20


def load_text(source: str, path: str = "") -> tuple[str, str]:
    """`(text, label)` for `source` "pydoc" (built in) or "path" (a UTF-8 file)."""
    if source == "pydoc":
        try:
            from pydoc_data import topics
        except ImportError as err:  # some distributions strip it
            raise TextUnavailable(
                f"this Python has no pydoc_data ({err}); use data.source=path data.path=FILE"
            ) from None
        text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
        return text, f"pydoc_data.topics (Python {sys.version_info.major}.{sys.version_info.minor})"
    if source == "path":
        file = Path(path).expanduser()
        if not path or not file.exists():
            raise TextUnavailable(f"data.path {path!r} is not a file (data.source=path)")
        raw = limits.read_bounded(
            file,
            MAX_TEXT_FILE_BYTES,
            "a text corpus is read whole into memory; cut the file, e.g. `head -c 100M`",
            "point data.path at a UTF-8 text file",
        )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise TextUnavailable(
                f"{file}: not UTF-8 text ({err.reason} at byte {err.start})"
            ) from None
        if len(text) < 1000:
            raise TextUnavailable(f"{file}: only {len(text)} characters; need >= 1000")
        return text, f"file {file.name}"
    raise TextUnavailable(f"unknown data.source {source!r}; choose one of pydoc, path")


@dataclasses.dataclass(frozen=True)
class CharVocab:
    """Characters seen at least `min_count` times in training; id 0 = any other."""

    chars: str

    @classmethod
    def fit(cls, text: str, min_count: int = 1) -> "CharVocab":
        counts = collections.Counter(text)
        return cls("".join(sorted(c for c, n in counts.items() if n >= min_count)))

    @property
    def size(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        index = {c: i + 1 for i, c in enumerate(self.chars)}
        return np.fromiter((index.get(c, 0) for c in text), dtype="int32", count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[i - 1] if i > 0 else "\ufffd" for i in ids)


@dataclasses.dataclass
class CharCorpus:
    train: np.ndarray  # ids
    test: np.ndarray
    vocab: CharVocab
    label: str


def unigram_bits(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of the best memoryless model: training frequencies
    (add-one smoothed) scored on the test ids."""
    counts = np.bincount(train_ids, minlength=vocab_size).astype("float64") + 1.0
    probs = counts / counts.sum()
    return float(-np.mean(np.log2(probs[test_ids])))


def windows(ids: np.ndarray, length: int, stride: int | None = None):
    """Inputs `ids[i:i+L]` and next-character targets `ids[i+1:i+L+1]`."""
    stride = stride or length
    starts = np.arange(0, len(ids) - length - 1, stride)
    x = np.stack([ids[s : s + length] for s in starts])
    y = np.stack([ids[s + 1 : s + length + 1] for s in starts])
    return x, y


def bits(nats: float) -> float:
    return nats / math.log(2)
