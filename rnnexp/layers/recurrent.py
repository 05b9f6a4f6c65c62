"""Sequence layers `SimpleRNN`, `LSTM`, `GRU` running our cells.

They are `keras.layers.RNN` subclasses (so `return_sequences`, `return_state`,
`go_backwards`, masking, `initial_state`, `stateful`, `unroll` and
`keras.layers.Bidirectional` all behave as in Keras), with one optional change
to the time loop: the input half of every gate, `x_t W + b_in`, has no time
dependency, so it can be computed for all `T` steps as one
`(B*T, d) x (d, G*u)` matmul before the loop, leaving the loop body only
`h_{t-1} U` and the gate arithmetic. `PROJECT_FIRST` says per backend and device
whether the layers do that or step the cell as Keras does.
"""

import functools

import keras
from keras import ops

from rnnexp.layers import kernels
from rnnexp.layers._keras_private import backend_rnn
from rnnexp.layers.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnnexp.presets import IMPLS  # framework-free: config checks read it too

__all__ = [
    "CELLS",
    "GRU",
    "IMPLS",
    "LSTM",
    "REVISION",
    "SimpleRNN",
    "layers_label",
    "recurrent_layer",
    "time_loop",
]

_CELL_KEYS = (
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "dropout",
    "recurrent_dropout",
    "seed",
)


# Whether a layer projects every step's input before the loop, per backend and device:
# whichever loop `python -m rnnexp bench --loop both` measured faster (docs/layers-and-speed.md);
# anything not listed steps the cell as Keras does.
PROJECT_FIRST = {
    ("tensorflow", "cpu"): False,
    ("jax", "cpu"): False,
    ("jax", "gpu"): True,
    ("torch", "cpu"): True,
    ("torch", "gpu"): True,
}

# The revision of the layers' floating-point order: bump it whenever a change
# to the cells or loops changes the bits a trained model ends with, so that
# robustness records keep only outcomes of the arithmetic that runs now.
# 1: TensorFlow projected first, biases added as `product + bias`.
# 2: TensorFlow steps the cell, biases through `ops.add` (BiasAdd on TF).
REVISION = 2


def time_loop(backend: str | None = None) -> str:
    """How our layers run their time loop on `backend` (default: Keras's active one).

    Returns:
        `"project"` (every step's input projected before the loop) or `"step"`
        (the cell stepped as Keras does); see `PROJECT_FIRST`.
    """
    backend = backend or keras.backend.backend()
    return "project" if PROJECT_FIRST.get((backend, _device(backend)), False) else "step"


@functools.cache
def _device(backend: str) -> str:
    """Where `backend` computes by default: `"gpu"`, `"cpu"`, or another kind (`"tpu"`).

    A backend that is not installed answers `"cpu"`.
    """
    try:
        if backend == "jax":
            import jax

            kind = jax.default_backend()
            return "gpu" if kind in ("gpu", "cuda", "rocm") else kind
        if backend == "torch":
            import torch

            return "gpu" if torch.cuda.is_available() else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf

            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    except ImportError:
        pass
    return "cpu"


def layers_label(impl: str = "rnnexp", backend: str | None = None) -> str:
    """What computed a run's recurrent layers: `"tensorflow, step (r2)"`.

    The Keras backend, our time loop and `REVISION`; for `impl="keras"`,
    Keras's own layers and its version instead of our loop.
    """
    backend = backend or keras.backend.backend()
    if impl == "keras":
        return f"{backend}, keras {keras.__version__} layers"
    return f"{backend}, {time_loop(backend)} (r{REVISION})"


class _RecurrentLayer(keras.layers.RNN):
    """`keras.layers.RNN` over our cell; it projects inputs first where `PROJECT_FIRST` says."""

    CELL = None
    runs_rnnexp_loop = True  # `kernels.kernel_of` tells our layers from Keras's by it
    CELL_EXTRA = ()

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell_kwargs = {
            key: kwargs.pop(key) for key in _CELL_KEYS + self.CELL_EXTRA if key in kwargs
        }
        cell = self.CELL(
            units,
            dtype=kwargs.get("dtype"),
            name=f"{self.CELL.__name__.lower()}",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    def _create_state_variables(self, batch_size):
        super()._create_state_variables(batch_size)
        if keras.backend.backend() == "jax":
            # Keras creates a stateful layer's carried state untracked, so JAX's stateless
            # train/test/predict steps (which return only the model's variables) drop its
            # updates: every batch starts from zeros (Keras 3.15). Tracked, it is a
            # non-trainable variable of the model and is carried as on TensorFlow.
            self._carried_state = list(keras.tree.flatten(self.states))
            self.reset_state()  # an LSTM's h and c start as one array: JAX donates each once

    #: Project all steps' inputs before the loop (`True`), or step the cell
    #: as Keras does (`False`); `None`: `PROJECT_FIRST` for the active backend.
    project_first = None

    def projects_first(self):
        if self.project_first is not None:
            return self.project_first
        return time_loop() == "project"

    def call(self, sequences, initial_state=None, mask=None, training=False):
        kernels.note("rnnexp-loop")
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.projects_first():
            last, outputs, states = super().inner_loop(
                sequences, initial_state, mask, training=training
            )
            if mask is not None and not self.unroll and keras.backend.backend() == "jax":
                if isinstance(mask, (list, tuple)):
                    mask = mask[0]
                last, outputs = _zero_before_first_step(
                    last, outputs, mask, self.go_backwards, False, self.return_sequences
                )
            return last, outputs, states
        cell = self.cell
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if training and cell.dropout > 0.0:
            dp_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(dp_mask, 1)
        # Go time-major on the narrow raw input (d wide) rather than letting
        # the loop transpose the G*u-wide projection, and project all steps
        # with one 2-D matmul.
        transposed = ops.transpose(sequences, (1, 0, 2))
        steps, batch = ops.shape(transposed)[0], ops.shape(transposed)[1]  # maybe dynamic
        flat = cell.project_inputs(ops.reshape(transposed, (-1, sequences.shape[-1])))
        projected = ops.reshape(flat, (steps, batch, flat.shape[-1]))
        # Keras's TensorFlow `rnn` takes `inputs.shape[1]` as the number of
        # steps when `input_length` is None, even for time-major inputs, where
        # that is the batch size: with a static batch and a dynamic length it
        # would run `batch` steps. Hand it batch-major inputs in that case.
        time_major = not (sequences.shape[1] is None and sequences.shape[0] is not None)
        if time_major and mask is not None:
            mask = ops.transpose(mask, (1, 0))
        if not time_major:
            projected = ops.transpose(projected, (1, 0, 2))

        def step(projected_t, states):
            return cell.recurrent_step(projected_t, states, training=training)

        go_backwards = self.go_backwards
        if go_backwards and self.unroll and mask is not None:
            # Keras's torch loop crashes on this combination ("'tuple' object
            # has no attribute 'shape'"): reverse time here instead.
            projected, mask = _reversed_in_time(projected, mask, time_major)
            go_backwards = False
        last, outputs, states = backend_rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            time_major=time_major,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )
        if mask is not None and not self.unroll and keras.backend.backend() == "jax":
            last, outputs = _zero_before_first_step(
                last, outputs, mask, self.go_backwards, time_major, self.return_sequences
            )
        if self.return_sequences and time_major:
            outputs = ops.transpose(outputs, (1, 0, 2))
        return last, outputs, states

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        config = super().get_config()
        config.pop("cell")
        cell_config = self.cell.get_config()
        for key in ("units",) + _CELL_KEYS + self.CELL_EXTRA:
            config[key] = cell_config[key]
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _reversed_in_time(projected, mask, time_major):
    axis = 0 if time_major else 1
    return ops.flip(projected, axis=axis), ops.flip(mask, axis=axis)


def _zero_before_first_step(last, outputs, mask, go_backwards, time_major, all_outputs):
    """Outputs of masked steps that come before any unmasked step, as zeros.

    Keras's JAX `lax.scan` loop gives a masked step `states[0]` as its output
    where every other loop (TensorFlow's, every unrolled one) gives the
    previous output, zeros before the first. The two differ only on the steps
    before a sequence's first unmasked one, and only with a non-zero initial
    state.

    `mask` is `(T, B)` if `time_major` else `(B, T)`; `outputs` is in the
    order the loop ran (reversed for `go_backwards`), `(T, B, u)` or
    `(B, T, u)`, or only the last step's unless `all_outputs`.
    """
    axis = 0 if time_major else 1
    mask = ops.cast(mask, "int32")
    if go_backwards:
        mask = ops.flip(mask, axis=axis)
    seen = ops.expand_dims(ops.cumsum(mask, axis=axis) > 0, -1)
    last_seen = seen[-1] if time_major else seen[:, -1]
    last = ops.where(last_seen, last, ops.zeros_like(last))
    if all_outputs:
        outputs = ops.where(seen, outputs, ops.zeros_like(outputs))
    return last, outputs


@keras.saving.register_keras_serializable(package="rnnexp")
class SimpleRNN(_RecurrentLayer):
    """Fully connected RNN over a sequence; see `SimpleRNNCell`.

    Input `(batch, T, d)`; output `(batch, units)` or, with
    `return_sequences`, `(batch, T, units)`.
    """

    CELL = SimpleRNNCell


@keras.saving.register_keras_serializable(package="rnnexp")
class LSTM(_RecurrentLayer):
    """LSTM over a sequence; see `LSTMCell`. States are `[h, c]`."""

    CELL = LSTMCell
    CELL_EXTRA = ("unit_forget_bias",)


@keras.saving.register_keras_serializable(package="rnnexp")
class GRU(_RecurrentLayer):
    """GRU over a sequence; see `GRUCell`."""

    CELL = GRUCell
    CELL_EXTRA = ("reset_after",)


CELLS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
_KERAS = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def recurrent_layer(cell, units, impl="rnnexp", reads_backwards=False, **kwargs):
    """Build a sequence layer by its catalog name.

    Args:
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        units: hidden size.
        impl: `"rnnexp"` (our cells) or `"keras"` (`keras.layers.SimpleRNN`,
            `GRU`, `LSTM`, which take the same arguments and weights).
        reads_backwards: the layer will also run backwards (it goes into a
            `Bidirectional`); `go_backwards=True` says so too.
        **kwargs: passed to the layer (`return_sequences`, `dropout`, ...).
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(CELLS)}")
    if impl not in IMPLS:
        raise ValueError(f"unknown impl {impl!r}; choose one of {list(IMPLS)}")
    if impl == "keras":
        backwards = reads_backwards or kwargs.get("go_backwards", False)
        if cell == "lstm" and backwards and keras.backend.backend() == "jax":
            # Keras 3.15's cuDNN LSTM on JAX returns a go_backwards sequence in
            # forward time order (its generic loop and TensorFlow's return it
            # reversed): seen on an H100, 0.40 apart, 9e-8 from the generic
            # output reversed in time. Its generic loop is the correct one.
            kwargs.setdefault("use_cudnn", False)
        return getattr(keras.layers, _KERAS[cell])(units, **kwargs)
    return CELLS[cell](units, **kwargs)
