"""Recurrent layers written from their equations (public API)."""

from rnnexp.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnexp.layers.recurrent import CELLS, GRU, IMPLS, LSTM, SimpleRNN, recurrent_layer
from rnnexp.layers.wrappers import (
    MERGE_MODES,
    DeepRNN,
    WeightedSumBidirectional,
    bidirectional_wrapper,
)

__all__ = [
    "CELLS",
    "GRU",
    "LSTM",
    "MERGE_MODES",
    "DeepRNN",
    "GRUCell",
    "IMPLS",
    "LSTMCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "WeightedSumBidirectional",
    "bidirectional_wrapper",
    "recurrent_layer",
]
