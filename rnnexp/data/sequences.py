"""Pool and truncation rules for sequence-length studies."""

import numpy as np

__all__ = ["pool_indices", "truncate"]


def pool_indices(sequences, min_length: int) -> np.ndarray:
    """Indices of the sequences with at least `min_length` tokens."""
    lengths = np.fromiter((len(s) for s in sequences), dtype="int64", count=len(sequences))
    return np.flatnonzero(lengths >= min_length)


def truncate(sequences, length: int, side: str) -> np.ndarray:
    """Cut every sequence to exactly `length` tokens: `(n, length)` int32.

    `side="pre"` drops tokens from the start (keeps the end, next to the
    read-out step); `"post"` keeps the start. Every sequence must already hold
    `length` tokens (pool first): nothing is padded, so no masking is needed.
    """
    if side not in ("pre", "post"):
        raise ValueError(f"truncation side must be 'pre' or 'post', got {side!r}")
    out = np.empty((len(sequences), length), dtype="int32")
    for i, s in enumerate(sequences):
        if len(s) < length:
            raise ValueError(f"sequence {i} has {len(s)} tokens, fewer than {length}")
        out[i] = s[-length:] if side == "pre" else s[:length]
    return out
