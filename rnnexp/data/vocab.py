"""Token vocabularies and caption/sentence standardization for text outputs.

Ids are fixed: 0 = padding, 1 = unknown, 2 = start, 3 = end; then the tokens
by falling frequency (ties alphabetical), so a vocabulary is reproducible.
"""

import collections
import re
import unicodedata

import numpy as np

__all__ = ["END", "PAD", "START", "UNK", "Vocabulary", "pad_batch", "standardize"]

PAD, UNK, START, END = "[pad]", "[unk]", "[start]", "[end]"
_SPECIALS = (PAD, UNK, START, END)


def standardize(text: str) -> str:
    """Lower-case, keep letters, split off punctuation (the NMT tutorials' rules).

    Unicode NFKC, lower-case, keep
    letters, digits, spaces and `.?!,¿¡`, put spaces around that punctuation,
    collapse whitespace. Accented letters are kept (they carry meaning).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s.?!,¿¡']", " ", text)
    text = re.sub(r"([.?!,¿¡])", r" \1 ", text)
    return " ".join(text.split())


class Vocabulary:
    """A token <-> id map with the four fixed specials first."""

    def __init__(self, tokens):
        tokens = list(tokens)
        if tuple(tokens[:4]) != _SPECIALS:
            tokens = list(_SPECIALS) + [t for t in tokens if t not in _SPECIALS]
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be unique")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.pad, self.unk, self.start, self.end = 0, 1, 2, 3

    @classmethod
    def from_texts(cls, texts, max_size: int | None = None, min_count: int = 1):
        """The `max_size` most frequent whitespace tokens (specials included)."""
        counts = collections.Counter(tok for t in texts for tok in t.split())
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in _SPECIALS),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(_SPECIALS))]
        return cls(list(_SPECIALS) + ranked)

    def __len__(self):
        return len(self.tokens)

    def encode(self, text: str, *, add_start=False, add_end=False) -> list[int]:
        ids = [self.index.get(t, self.unk) for t in text.split()]
        return ([self.start] if add_start else []) + ids + ([self.end] if add_end else [])

    def decode(self, ids) -> str:
        """Tokens up to the first end (or padding); start tokens dropped."""
        out = []
        for i in ids:
            i = int(i)
            if i in (self.end, self.pad):
                break
            if i != self.start:
                out.append(self.tokens[i] if 0 <= i < len(self.tokens) else UNK)
        return " ".join(out)


def pad_batch(sequences, length: int | None = None) -> np.ndarray:
    """Right-pad id lists with 0 to `length` (default: the longest): `(n, L)` int32."""
    length = length or max((len(s) for s in sequences), default=1)
    out = np.zeros((len(sequences), length), dtype="int32")
    for i, s in enumerate(sequences):
        s = s[:length]
        out[i, : len(s)] = s
    return out
