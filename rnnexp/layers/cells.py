"""SimpleRNN, LSTM and GRU cells written from their equations.

Each cell follows the Keras cell contract (`state_size`, `output_size`,
`call(inputs, states, training)`, `get_initial_state`) and Keras's weight names
and layouts, so weights copy one-to-one from `keras.layers.*Cell`:

- SimpleRNN: `kernel (d, u)`, `recurrent_kernel (u, u)`, `bias (u,)`;
  `h_t = act(x_t W + h_{t-1} U + b)`.
- LSTM: gates stacked in the order i, f, c, o along the last axis
  (`kernel (d, 4u)`, `recurrent_kernel (u, 4u)`, `bias (4u,)`).
- GRU: gates z, r, h (`kernel (d, 3u)`, `recurrent_kernel (u, 3u)`); with
  `reset_after=True` (the cuDNN convention) `bias` is `(2, 3u)`: input bias
  then recurrent bias. Keras's `z` is the *keep* gate:
  `h_t = z * h_{t-1} + (1 - z) * h~_t` (the study notes write `1 - z`; the two
  conventions are the same model with `z` relabelled).

Every cell splits its step in two: `project_inputs` (the input half, which
has no time dependency) and `recurrent_step` (the half that must run inside the
loop). `call` composes them for one step; the sequence layers in
`rnnexp.layers.recurrent` can project *all* steps with one matmul before the
loop instead.

Biases are added with `ops.add(product, bias)`, as Keras's cells do: on
TensorFlow that is a `BiasAdd`, which grappler fuses into the matmul before it
and whose gradient is one `BiasAddGrad`, where `product + bias` is a
broadcasting `AddV2` whose gradient is a `Sum`. Stepped, each cell adds in
the order Keras's cell does (the LSTM overrides `call` for that), so the
stepped loop on TensorFlow computes Keras's numbers bit for bit
(`tests/test_layer_paths.py`).
"""

import keras
from keras import ops

from rnnexp.layers._keras_private import DropoutRNNCell

__all__ = ["GRUCell", "LSTMCell", "SimpleRNNCell"]


def _check_rate(name, value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class _CellBase(DropoutRNNCell, keras.layers.Layer):
    """Weights, options and config shared by the three cells.

    Subclasses set `GATES` (how many `units`-wide blocks the kernels hold) and
    implement `recurrent_step`.
    """

    GATES = 1

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = units
        self.output_size = units

    # -- weights ---------------------------------------------------------
    def build(self, input_shape):
        width = self.GATES * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            name="kernel",
            initializer=self.kernel_initializer,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(),
                name="bias",
                initializer=self._bias_initializer(),
            )
        self.built = True

    def _bias_shape(self):
        return (self.GATES * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    # -- the step, in two halves -----------------------------------------
    def _input_bias(self):
        return self.bias

    def project_inputs(self, inputs):
        """`x W + b_in` for any leading shape: `(..., d) -> (..., GATES*u)`.

        `recurrent_step` adds whatever else the gates need (the GRU's
        recurrent bias with `reset_after`).
        """
        projected = ops.matmul(inputs, self.kernel)
        bias = self._input_bias()
        if bias is not None:
            projected = ops.add(projected, bias)
        return projected

    def recurrent_step(self, projected, states, training=False):
        raise NotImplementedError

    def _dropped_state(self, h_tm1, training):
        if training and self.recurrent_dropout > 0.0:
            return h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return h_tm1

    def call(self, inputs, states, training=False):
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        return self.recurrent_step(self.project_inputs(inputs), states, training)

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "recurrent_initializer": ser(self.recurrent_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rnnexp")
class SimpleRNNCell(_CellBase):
    """Elman cell: `h_t = activation(x_t W + h_{t-1} U + b)`.

    `activation="relu"` with `recurrent_initializer="identity"` is the IRNN of
    Le et al. (2015), the ReLU remedy for vanishing gradients of study note 000.

    Args:
        units: size of the hidden state.
        activation: `"tanh"` (default) or any Keras activation, e.g. `"relu"`.
        (other arguments as `keras.layers.SimpleRNNCell`; no recurrent
        activation is used.)
    """

    GATES = 1

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h_in = self._dropped_state(h_tm1, training)
        h = self.activation(ops.add(projected, ops.matmul(h_in, self.recurrent_kernel)))
        return h, [h]


@keras.saving.register_keras_serializable(package="rnnexp")
class LSTMCell(_CellBase):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997).

    With `z = x_t W + h_{t-1} U + b` split into `[z_i, z_f, z_c, z_o]`:
    `c_t = f * c_{t-1} + i * tanh(z_c)`, `h_t = o * tanh(c_t)` where
    `i, f, o = sigmoid(z_i, z_f, z_o)`.

    Args:
        units: size of `h` and `c`.
        unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al.
            2015), as Keras does by default.
    """

    GATES = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype=None):
            return ops.concatenate(
                [
                    base((units,), dtype=dtype),
                    keras.initializers.get("ones")((units,), dtype=dtype),
                    base((units * 2,), dtype=dtype),
                ]
            )

        return init

    def call(self, inputs, states, training=False):
        # One step in the order of Keras's LSTMCell, (x W + h U) + b, so that a
        # stepped loop computes Keras's LSTM bit for bit; the projected loop
        # has the bias in `project_inputs` instead.
        if training and self.dropout > 0.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        h_tm1 = self._dropped_state(states[0], training)
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h_tm1, self.recurrent_kernel))
        if self.use_bias:
            z = ops.add(z, self.bias)
        return self._gates(z, states[1])

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = self._dropped_state(states[0], training)
        z = ops.add(projected, ops.matmul(h_tm1, self.recurrent_kernel))
        return self._gates(z, states[1])

    def _gates(self, z, c_tm1):
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [zeros, zeros]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package="rnnexp")
class GRUCell(_CellBase):
    """Gated recurrent unit (Cho et al. 2014), Keras's gate order z, r, h.

    `z, r = sigmoid(...)`, `h~ = tanh(x W_h + r * (h_{t-1} U_h + b_rh))` when
    `reset_after` (cuDNN-compatible, Keras's default), else
    `h~ = tanh(x W_h + (r * h_{t-1}) U_h + b_h)`; `h_t = z*h_{t-1} + (1-z)*h~`.

    Args:
        units: size of the hidden state.
        reset_after: apply the reset gate after the recurrent matmul.
    """

    GATES = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = reset_after

    def _bias_shape(self):
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    def _input_bias(self):
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def recurrent_step(self, projected, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        h_in = self._dropped_state(h_tm1, training)
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        u = self.units
        if self.reset_after:
            rec = ops.matmul(h_in, self.recurrent_kernel)
            if self.use_bias:
                rec = ops.add(rec, self.bias[1])
            r_z, r_r, r_h = ops.split(rec, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + r * r_h)
        else:
            rec_zr = ops.matmul(h_in, self.recurrent_kernel[:, : 2 * u])
            r_z, r_r = ops.split(rec_zr, 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + ops.matmul(r * h_in, self.recurrent_kernel[:, 2 * u :]))
        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}
