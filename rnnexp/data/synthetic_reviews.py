"""An offline stand-in for IMDB whose evidence sits at a controlled distance.

Each generated "review" is a sequence of token ids:

- background words drawn from a Zipf law over a neutral vocabulary (like the
  function and content words of real reviews, they carry no label);
- `evidence_count` sentiment words, each drawn from the review's class list
  with probability `agreement` (else from the other class), placed at distinct
  positions whose distance from the *end* of the review lies in
  `evidence_distance = (near, far)`.

With `pre` truncation (keep the end, as Keras's `pad_sequences` does) the
read-out step is the last token, so a window of `L >= far` tokens holds all
the evidence between `near` and `far` steps back from the read-out, and a
window of `L <= near` holds none (chance for every model: a built-in sanity
check). A classifier must carry the evidence across at least `near` steps --
exactly what vanishing gradients make hard for a SimpleRNN. The Bayes accuracy
with all evidence visible is the majority vote of `evidence_count` words
agreeing with probability `agreement` (0.97 for 8 words at 0.8).

Token ids: 0 padding, 1 OOV, then `sentiment_words` positive and as many
negative words, then the neutral vocabulary up to `vocab_size`.
"""

import numpy as np

from rnnexp.data.records import TokenizedReviews

__all__ = ["bayes_accuracy", "generate"]


def bayes_accuracy(evidence_count: int, agreement: float) -> float:
    """Accuracy of the majority vote over the evidence (ties split evenly)."""
    from math import comb

    acc = 0.0
    for k in range(evidence_count + 1):  # k words agree with the label
        p = comb(evidence_count, k) * agreement**k * (1 - agreement) ** (evidence_count - k)
        if 2 * k > evidence_count:
            acc += p
        elif 2 * k == evidence_count:
            acc += p / 2
    return acc


def _split(cfg, n, rng):
    s = cfg.sentiment_words
    first_neutral = 2 + 2 * s
    neutral = np.arange(first_neutral, cfg.vocab_size)
    zipf = 1.0 / np.arange(1, len(neutral) + 1)
    zipf /= zipf.sum()
    near, far = cfg.evidence_distance
    labels = rng.integers(0, 2, size=n).astype("int32")
    reviews = []
    for label in labels:
        length = int(rng.integers(cfg.min_length, cfg.max_length + 1))
        tokens = rng.choice(neutral, size=length, p=zipf).astype("int32")
        distances = rng.choice(
            np.arange(near, min(far, length)), size=cfg.evidence_count, replace=False
        )
        agree = rng.random(cfg.evidence_count) < cfg.agreement
        polarity = np.where(agree, label, 1 - label)  # 1 = positive word
        words = 2 + rng.integers(0, s, size=cfg.evidence_count) + np.where(polarity == 1, 0, s)
        tokens[length - 1 - distances] = words
        reviews.append(tokens)
    return reviews, labels


def generate(cfg, seed: int = 0):
    """Generate train and test splits (a `TokenizedReviews`, source `synthetic`).

    Args:
        cfg: a `SyntheticReviewsConfig`.
        seed: the generator seed (the data set is the same for every trial).
    """
    rng = np.random.default_rng(seed)
    x_train, y_train = _split(cfg, cfg.train_size, rng)
    x_test, y_test = _split(cfg, cfg.test_size, rng)
    return TokenizedReviews(
        x_train,
        y_train,
        x_test,
        y_test,
        cfg.vocab_size,
        "synthetic",
        "synthetic stand-in",
    )
