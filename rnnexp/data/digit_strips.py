"""Strips of handwritten digits captioned with the number they show, in words.

The offline data of the captioning experiment. Images are real: scikit-learn's
bundled `digits` set (1,797 scans of handwritten digits, 8x8 pixels, from the
UCI ML repository), so nothing is downloaded. A strip is 2-4 of them side by
side, left-aligned on a blank canvas of `max_digits` cells, and its caption
is the number in words ("4312" -> "four thousand three hundred and twelve").

Why this is captioning and not digit classification: the caption's words are
not one per digit. A zero is silent ("three hundred and five"), two digits
can become one word ("twelve", "ninety"), words such as "thousand" and
"hundred" depend on where a digit stands, and the caption's length varies
(2-7 words). The decoder must read the whole image and produce a grammatical
phrase. Test strips are built from scans never used in training.
"""

import numpy as np

from rnnexp import console
from rnnexp.data.number_words import number_words

__all__ = ["DigitStrips", "digit_captions", "load_digit_scans", "make_strips"]


def load_digit_scans():
    """`(images (1797, 8, 8) float32 in [0, 1], labels (1797,))` from scikit-learn."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype("float32"), digits.target.astype("int64")


class DigitStrips:
    """Strip images `(n, 8, 8 * max_digits, 1)`, their numbers and captions."""

    def __init__(self, images, numbers, captions):
        self.images, self.numbers, self.captions = images, numbers, captions

    def __len__(self):
        return len(self.numbers)


def make_strips(
    count, scans, labels, pool, rng, *, min_digits=2, max_digits=4, lang="en"
) -> DigitStrips:
    """`count` random strips whose digits are drawn from the scans in `pool`.

    Args:
        scans, labels: from `load_digit_scans`.
        pool: indices of the scans this split may use.
        min_digits, max_digits: digits per number (the first is never 0).
    """
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"need 1 <= min_digits <= max_digits, got {min_digits}, {max_digits}")
    by_digit = [pool[labels[pool] == d] for d in range(10)]
    missing = [d for d, idx in enumerate(by_digit) if len(idx) == 0]
    if missing:
        raise ValueError(f"no scans of digit(s) {missing} in this split")
    h, w = scans.shape[1:]
    images = np.zeros((count, h, w * max_digits, 1), dtype="float32")
    numbers = np.zeros(count, dtype="int64")
    for i in range(count):
        k = rng.integers(min_digits, max_digits + 1)
        digits = [int(rng.integers(1, 10))] + [int(d) for d in rng.integers(0, 10, k - 1)]
        for j, d in enumerate(digits):
            images[i, :, j * w : (j + 1) * w, 0] = scans[rng.choice(by_digit[d])]
        numbers[i] = int("".join(map(str, digits)))
    return DigitStrips(images, numbers, [number_words(n, lang) for n in numbers])


def digit_captions(cfg):
    """Train and test strips, the test ones from scans never used in training.

    Args:
        cfg: the data config: `seed`, `test_scans` (share of the scans kept for test strips),
            `train_size`, `test_size`, `min_digits`, `max_digits`, `lang`.

    Returns:
        `((train images, captions), (test images, references))`, one reference per image.
    """
    rng = np.random.default_rng(cfg.seed)
    scans, labels = load_digit_scans()
    order = rng.permutation(len(scans))
    n_test = int(round(cfg.test_scans * len(scans)))
    test_pool, train_pool = order[:n_test], order[n_test:]
    kwargs = dict(min_digits=cfg.min_digits, max_digits=cfg.max_digits, lang=cfg.lang)
    train = make_strips(cfg.train_size, scans, labels, train_pool, rng, **kwargs)
    test = make_strips(cfg.test_size, scans, labels, test_pool, rng, **kwargs)
    console.say(
        f"data: {len(train)} train / {len(test)} test digit strips from scikit-learn's "
        f"digits ({len(train_pool)} / {len(test_pool)} distinct scans), captions by num2words"
    )
    return (train.images, train.captions), (test.images, [[c] for c in test.captions])
