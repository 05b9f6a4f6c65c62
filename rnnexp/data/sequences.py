"""Pool and truncation rules for sequence-length studies."""

import numpy as np

__all__ = ["pool_indices", "pool_split", "truncate"]


def pool_indices(sequences, min_length: int) -> np.ndarray:
    """Indices of the sequences with at least `min_length` tokens."""
    lengths = np.fromiter((len(s) for s in sequences), dtype="int64", count=len(sequences))
    return np.flatnonzero(lengths >= min_length)


def pool_split(reviews, min_length: int, val_fraction: float, max_train=0, max_test=0):
    """Indices `(fit, val, test)` of the sequences with >= `min_length` tokens.

    `reviews` has `x_train` and `x_test` (e.g. `TokenizedReviews`). Validation
    (`val_fraction` of the training pool) is carved from the training split only,
    and a training sequence whose tokens equal a test sequence's (IMDB has such
    duplicates) is dropped, so neither fit nor validation ever holds a test one.
    The draw depends on the data, never on the trial: every cell and seed sees
    the same split. `max_train` / `max_test` cap the pools (0: all).
    """
    test_texts = {x.tobytes() for x in reviews.x_test}
    train = [
        i
        for i in pool_indices(reviews.x_train, min_length)
        if reviews.x_train[i].tobytes() not in test_texts
    ]
    test = pool_indices(reviews.x_test, min_length)
    rng = np.random.default_rng(0)
    train = rng.permutation(np.asarray(train, dtype="int64"))
    if max_train:
        train = train[:max_train]
    n_val = int(round(len(train) * val_fraction))
    if max_test:
        test = rng.permutation(test)[:max_test]
    return np.sort(train[n_val:]), np.sort(train[:n_val]), np.sort(test)


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
