"""Numbers written out in words, in any language num2words knows.

The offline data of the sequence-to-sequence experiments: `num2words` (a
well-kept library with hand-written grammars for dozens of languages) spells
a number; we lower-case it and split hyphens and commas into separate words,
so "quatre-vingt-dix-neuf" is four tokens. The grammar differs across
languages in length and order (English "ninety-nine" is two words, French
"quatre-vingt-dix-neuf", 4 x 20 + 19, is four; "seventy-one" is "soixante et
onze", "one hundred and one" "cent un"), which is what makes the mapping a
translation rather than a word-for-word substitution. Below 10**9 an English
number runs 1 to 17 words, a French one 1 to 20.
"""

import re

import numpy as np

from rnnexp import console
from rnnexp.config import as_config_error

__all__ = ["number_pairs", "number_words", "sample_numbers"]


def number_words(n: int, lang: str = "en") -> str:
    """`n` in words, lower-case, one space between words, no punctuation."""
    from num2words import num2words

    try:
        text = num2words(int(n), lang=lang)
    except NotImplementedError as err:
        raise ValueError(f"num2words does not know the language {lang!r}") from err
    return " ".join(re.sub(r"[-,]", " ", text.lower()).split())


def sample_numbers(count: int, max_digits: int, rng, exclude=()) -> np.ndarray:
    """`count` distinct numbers with a uniform number of digits (1..max_digits).

    Sampling the digit count first keeps short and long phrases equally
    common (uniform numbers below 10**6 would be 90% six-digit). Digit counts
    with too few numbers left (1-digit: 9 of them) give what they have.
    """
    exclude = {int(e) for e in exclude}
    available = sum(9 * 10 ** (d - 1) for d in range(1, max_digits + 1)) - len(exclude)
    if count > available:
        raise ValueError(
            f"asked for {count} distinct numbers, only {available} have <= {max_digits} digits"
        )
    chosen: list[int] = []
    seen = set(exclude)
    while len(chosen) < count:
        digits = rng.integers(1, max_digits + 1, size=2 * (count - len(chosen)) + 16)
        values = rng.integers(10 ** (digits - 1), 10**digits)
        values[digits == 1] = rng.integers(1, 10, size=(digits == 1).sum())  # no zero
        for v in values.tolist():
            if v not in seen:
                seen.add(v)
                chosen.append(v)
                if len(chosen) == count:
                    break
    return np.asarray(chosen, dtype="int64")


@as_config_error()  # a language num2words does not know, more numbers than there are
def number_pairs(cfg):
    """Distinct numbers in two languages: `(train pairs, test pairs)` of `(source, target)`.

    Args:
        cfg: the data config: `seed`, `train_size`, `test_size`, `max_digits`,
            `source_lang`, `target_lang`.

    Raises:
        ConfigError: where the config asks for what cannot be made.
    """
    rng = np.random.default_rng(cfg.seed)
    numbers = sample_numbers(cfg.train_size + cfg.test_size, cfg.max_digits, rng)
    pairs = [(number_words(n, cfg.source_lang), number_words(n, cfg.target_lang)) for n in numbers]
    train, test = pairs[: cfg.train_size], pairs[cfg.train_size :]
    console.say(
        f"data: {len(train)} train / {len(test)} test number pairs "
        f"({cfg.source_lang} -> {cfg.target_lang}, generated with num2words)"
    )
    return train, test
