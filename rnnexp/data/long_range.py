"""Generated long-range benchmarks: the adding problem and the copy task.

Both are the classic probes of a recurrent network's memory (Hochreiter &
Schmidhuber 1997; Le et al. 2015; Arjovsky et al. 2016); both come with a
closed-form baseline that any model without memory reaches.
"""

import math

import numpy as np

__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "copy_baseline_xent", "copy_memory"]

#: MSE of always predicting 1 (the mean of two U(0, 1) draws summed): Var = 2/12.
ADDING_BASELINE_MSE = 2.0 / 12.0


def adding_problem(n: int, length: int, rng: np.random.Generator):
    """`n` sequences of `length` steps with 2 channels, and their targets.

    Channel 0 holds U(0, 1) values; channel 1 marks two steps, one in each
    half of the sequence. The target is the sum of the two marked values, so
    the first marked value must be carried across at least `length / 2` steps.

    Returns:
        `x (n, length, 2)` float32, `y (n, 1)` float32.
    """
    if length < 2:
        raise ValueError(f"adding problem needs length >= 2, got {length}")
    values = rng.random((n, length)).astype("float32")
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype="float32")
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second]).astype("float32")[:, None]
    return np.stack([values, markers], axis=-1), y


def copy_memory(n: int, delay: int, rng: np.random.Generator, symbols: int = 8, to_copy: int = 10):
    """The copy task: remember `to_copy` symbols across `delay` blank steps.

    Token ids: 1..symbols are data, 0 blank, `symbols + 1` the "go" marker.
    The input is `to_copy` symbols, `delay - 1` blanks, "go", then `to_copy`
    blanks; the target is blanks everywhere except the last `to_copy` steps,
    which repeat the symbols.

    Returns:
        `x (n, T)` int32 and `y (n, T)` int32 with `T = delay + 2 * to_copy`.
    """
    data = rng.integers(1, symbols + 1, size=(n, to_copy))
    length = delay + 2 * to_copy
    x = np.zeros((n, length), dtype="int32")
    y = np.zeros((n, length), dtype="int32")
    x[:, :to_copy] = data
    x[:, to_copy + delay - 1] = symbols + 1
    y[:, -to_copy:] = data
    return x, y


def copy_baseline_xent(delay: int, symbols: int = 8, to_copy: int = 10) -> float:
    """Mean per-step cross-entropy of the memoryless strategy (Arjovsky et al.).

    Predict blank until the "go" marker, then a uniform guess over the symbols:
    `to_copy * log(symbols) / (delay + 2 * to_copy)`.
    """
    return to_copy * math.log(symbols) / (delay + 2 * to_copy)
