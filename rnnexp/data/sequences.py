"""Pool and truncation rules for sequence-length studies."""

import numpy as np

from rnnexp import console
from rnnexp.data.records import DataError

__all__ = ["length_pool", "length_windows", "pool_indices", "pool_split", "truncate", "windows"]


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


def length_pool(reviews, min_length: int, length: int, val_fraction, max_train, max_test, min_pool):
    """`pool_split` for the window `length`, refused if too few, with a warning under `min_pool`."""
    fit, val, test = pool_split(reviews, min_length, val_fraction, max_train, max_test)
    if len(fit) < 2 or len(val) < 1 or len(test) < 1:
        raise DataError(
            f"pool for length {length} is too small (reviews >= {min_length} tokens: "
            f"{len(fit)} to fit, {len(val)} to validate, {len(test)} to test);"
            " lower sweep.lengths or use sweep.pool=per_length"
        )
    if len(fit) < min_pool:
        console.say(
            f"warning: only {len(fit)} training reviews have >= {min_length} tokens; "
            "too few to learn much from (sweep.min_pool)"
        )
    return fit, val, test


def windows(reviews, indices, length: int, side: str) -> tuple:
    """`(x_fit, y_fit, x_val, y_val, x_test, y_test)`: `indices` `(fit, val, test)` cut to
    `length` tokens on `side` (`truncate`), labels as float32."""

    def cut(xs, idx):
        return truncate([xs[i] for i in idx], length, side)

    fit, val, test = indices
    return (
        cut(reviews.x_train, fit),
        reviews.y_train[fit].astype("float32"),
        cut(reviews.x_train, val),
        reviews.y_train[val].astype("float32"),
        cut(reviews.x_test, test),
        reviews.y_test[test].astype("float32"),
    )


def length_windows(
    reviews, lengths, sides, one_pool: bool, val_fraction, max_train, max_test, min_pool
):
    """Every window of a length sweep: `(windows, pools)`.

    Per length L, the pool of sequences with >= L tokens (>= the longest L when `one_pool`)
    is split by `length_pool`; `windows[(side, L)]` is that pool cut by `windows`, and
    `pools[L]` its sizes (`pool.min_tokens`, `pool.fit`, `pool.val`, `pool.test`).
    """
    cut, pools = {}, {}
    for length in lengths:
        min_len = max(lengths) if one_pool else length
        fit, val, test = length_pool(
            reviews, min_len, length, val_fraction, max_train, max_test, min_pool
        )
        pools[length] = {
            "pool.min_tokens": min_len,
            "pool.fit": len(fit),
            "pool.val": len(val),
            "pool.test": len(test),
        }
        for side in sides:
            cut[(side, length)] = windows(reviews, (fit, val, test), length, side)
    sizes = ", ".join(
        f"L={n}: {p['pool.fit']}/{p['pool.val']}/{p['pool.test']}" for n, p in pools.items()
    )
    console.say(f"data: reviews to fit/validate/test per length ({sizes})")
    return cut, pools
