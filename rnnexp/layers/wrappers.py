"""Bidirectional with a learned weighted-sum merge, and the deep (stacked) RNN.

Study note 000: "the final output of the bidirectional RNN is the weighted sum of the
outputs of the two composing RNNs" -- `WeightedSumBidirectional` learns that
weighting per unit. Study notes 002/004: a deep RNN feeds each layer's output
sequence to the next layer -- `DeepRNN`.
"""

import keras
from keras import ops

from rnnexp.layers import kernels
from rnnexp.layers.recurrent import IMPLS, recurrent_layer

__all__ = ["MERGE_MODES", "DeepRNN", "WeightedSumBidirectional"]

#: Keras's merge modes plus ours.
MERGE_MODES = ("concat", "sum", "ave", "mul", "weighted_sum")


@keras.saving.register_keras_serializable(package="rnnexp")
class WeightedSumBidirectional(keras.layers.Bidirectional):
    """`Bidirectional` whose output is `a * forward + b * backward`.

    `a` and `b` are learned vectors of the layer's width, both starting at 0.5
    (so the layer starts as `merge_mode="ave"`).

    Args:
        layer: a recurrent layer (ours or Keras's).
        backward_layer: optional explicit backward layer, as in Keras.
    """

    def __init__(self, layer, backward_layer=None, **kwargs):
        kwargs.pop("merge_mode", None)
        super().__init__(layer, merge_mode=None, backward_layer=backward_layer, **kwargs)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        out_shape = self.forward_layer.compute_output_shape(sequences_shape)
        if self.return_state:
            out_shape = out_shape[0]
        self.merge_weights = self.add_weight(
            shape=(2, out_shape[-1]),
            name="merge_weights",
            initializer=keras.initializers.Constant(0.5),
        )

    def call(self, sequences, initial_state=None, mask=None, training=None):
        outputs = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        y, y_rev, states = outputs[0], outputs[1], tuple(outputs[2:])
        merged = self.merge_weights[0] * y + self.merge_weights[1] * y_rev
        if self.return_state:
            return (merged,) + states
        return merged

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        if self.return_state:
            return tuple(shape) + tuple(shape[1:])
        return shape

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state and self.states is not None:
            return (output_mask,) + (None,) * (2 * len(self.forward_layer.states))
        return output_mask


@keras.saving.register_keras_serializable(package="rnnexp")
class DeepRNN(keras.layers.Layer):
    """`depth` recurrent layers, each reading the previous layer's sequence.

    Args:
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        units: hidden size of every layer.
        depth: number of stacked layers (>= 1).
        bidirectional: wrap every layer in a bidirectional wrapper.
        merge_mode: how the two directions merge (`MERGE_MODES`).
        return_sequences: whether the *last* layer returns its sequence; inner
            layers always do.
        residual: add each layer's input to its output when their widths match
            (every layer after the first, as in GNMT).
        layer_kwargs: options for every recurrent layer (dropout, activation...).
        impl: `"rnnexp"` (our cells) or `"keras"` (Keras's built-in layers,
            cuDNN on a GPU where Keras can); see `recurrent_layer`.

    Input `(batch, T, d)`; output `(batch, [T,] width)`, `width = units` or
    `2 * units` for bidirectional concat.
    """

    def __init__(
        self,
        cell,
        units,
        depth=1,
        bidirectional=False,
        merge_mode="concat",
        return_sequences=False,
        residual=False,
        layer_kwargs=None,
        impl="rnnexp",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if impl not in IMPLS:
            raise ValueError(f"unknown impl {impl!r}; choose one of {list(IMPLS)}")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a positive integer, got {depth!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"unknown merge_mode {merge_mode!r}; choose one of {list(MERGE_MODES)}"
            )
        self.cell, self.units, self.depth = cell, units, depth
        self.bidirectional, self.merge_mode = bidirectional, merge_mode
        self.return_sequences, self.residual = return_sequences, residual
        self.layer_kwargs = dict(layer_kwargs or {})
        self.impl = impl
        self.supports_masking = True
        self.rnn_layers = []
        for i in range(depth):
            last = i == depth - 1
            layer = recurrent_layer(
                cell,
                units,
                impl=impl,
                reads_backwards=bidirectional,
                return_sequences=(not last) or return_sequences,
                name=f"{cell}_{i}",
                **self.layer_kwargs,
            )
            if bidirectional:
                layer = bidirectional_wrapper(layer, merge_mode, name=f"bi_{cell}_{i}")
            self.rnn_layers.append(layer)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.rnn_layers:
            layer.build(shape)
            shape = (shape[0], shape[1], layer.compute_output_shape(shape)[-1])
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = inputs
        for i, layer in enumerate(self.rnn_layers):
            kernels.note_layer(layer, masked=mask is not None)
            y = layer(x, mask=mask, training=training)
            if self.residual and i > 0 and ops.ndim(y) == 3 and y.shape[-1] == x.shape[-1]:
                y = y + x
            x = y
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.rnn_layers:
            shape = layer.compute_output_shape((shape[0], shape[1], shape[-1]))
        return shape

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        return {
            **super().get_config(),
            "cell": self.cell,
            "units": self.units,
            "depth": self.depth,
            "bidirectional": self.bidirectional,
            "merge_mode": self.merge_mode,
            "return_sequences": self.return_sequences,
            "residual": self.residual,
            "layer_kwargs": self.layer_kwargs,
            "impl": self.impl,
        }


def bidirectional_wrapper(layer, merge_mode="concat", **kwargs):
    """`keras.layers.Bidirectional`, or ours for `merge_mode="weighted_sum"`."""
    if merge_mode == "weighted_sum":
        return WeightedSumBidirectional(layer, **kwargs)
    return keras.layers.Bidirectional(layer, merge_mode=merge_mode, **kwargs)
