"""MNIST-1D (Greydanus 2020), generated here by the `mnist1d` package; nothing is downloaded.

`mnist1d.data.make_dataset` draws the 10 digit templates through random
padding, translation, scaling, shear and noise into sequences of length 40;
with its default arguments (seed 42, 5,000 examples, 80% for training) it
rebuilds the data set of the paper and the package's README, to floating-point
rounding. Its `get_dataset` downloads a pickle first: never used here.
`shuffle_seq=True` applies one fixed permutation to the 40 positions of every
sequence (the README's "shuffle" row).
"""

import dataclasses

import numpy as np

from rnnexp.config import check
from rnnexp.data.card import DataCard, array_digest
from rnnexp.data.records import DataUnavailable

__all__ = ["Mnist1dData", "Mnist1dSplit", "data_card", "load"]

INSTALL_HINT = "MNIST-1D needs the mnist1d package: pip install mnist1d (or pip install -e .)"


@dataclasses.dataclass(frozen=True)
class Mnist1dData:
    """`make_dataset`'s arguments that we expose; the rest keep the package's defaults."""

    seed: int = 42  # the package's default: the published data set
    num_samples: int = 5000  # 4,000 train and 1,000 test at train_split 0.8
    train_split: float = 0.8

    def __post_init__(self):
        check(self.num_samples >= 20, "data.num_samples", self.num_samples, "an integer >= 20")
        check(0 < self.train_split < 1, "data.train_split", self.train_split, "in (0, 1)")


@dataclasses.dataclass
class Mnist1dSplit:
    """One variant of the data: `x` `(n, 40)` float32, `y` `(n,)` int32 digit labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shuffled: bool


def _make_dataset():
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DataUnavailable(INSTALL_HINT) from None
    return get_dataset_args, make_dataset


def load(cfg: Mnist1dData, shuffled: bool) -> Mnist1dSplit:
    """Generate MNIST-1D (`shuffled`: the fixed permutation of positions) with `cfg`'s arguments.

    `make_dataset` seeds NumPy's global generator; the caller's state is restored after.
    """
    get_dataset_args, make_dataset = _make_dataset()
    args = get_dataset_args()
    args.seed, args.num_samples, args.train_split = cfg.seed, cfg.num_samples, cfg.train_split
    args.shuffle_seq = shuffled
    state = np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(state)
    return Mnist1dSplit(
        data["x"].astype("float32"),
        data["y"].astype("int32"),
        data["x_test"].astype("float32"),
        data["y_test"].astype("int32"),
        shuffled,
    )


def data_card(split: Mnist1dSplit) -> DataCard:
    name = "mnist1d-shuffled" if split.shuffled else "mnist1d"
    return DataCard(
        name,
        "mnist1d.data.make_dataset (generated, not downloaded)",
        True,
        {"train": len(split.y_train), "test": len(split.y_test)},
        array_digest(split.x_train, split.x_test),
    )
