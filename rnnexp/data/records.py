"""What the data loaders return and raise: shared by every loader, importing none of them.

`DataError` and `DataUnavailable` are `ConfigError`s, so the CLI prints them as
one line before anything trains.
"""

import dataclasses

import numpy as np

from rnnexp.config import ConfigError

__all__ = ["DataError", "DataUnavailable", "TokenizedReviews"]


class DataError(ConfigError):
    """Local data exists but is malformed."""


class DataUnavailable(ConfigError):
    """The requested data source cannot be reached from here."""


@dataclasses.dataclass
class TokenizedReviews:
    """Reviews as token ids. `x_*` are lists of 1-D int32 arrays."""

    x_train: list
    y_train: np.ndarray
    x_test: list
    y_test: np.ndarray
    vocab_size: int
    source: str  # tfds | path | keras | synthetic
    description: str
    cache: str = ""  # "hit" / "miss" for cached sources, else ""
    load_seconds: float = 0.0

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"
