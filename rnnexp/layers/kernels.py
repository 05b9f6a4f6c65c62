"""Which kernel runs a recurrent layer's time loop, and a record of what ran.

Names (`model.kernel` on every trial):

- `rnnexp-loop`: our layers: the backend's generic time loop over our step.
- `cudnn`: Keras's LSTM or GRU handed to cuDNN (on a GPU, compatible arguments).
- `keras-fused`: Keras's backend-specific LSTM/GRU loop that is not cuDNN:
  its GRU on JAX (a `lax.scan` over a pre-projected input, on any device) and
  its LSTM/GRU fallback on PyTorch without CUDA.
- `keras-generic`: Keras's generic loop over its cell (SimpleRNN always; LSTM
  and GRU wherever the fast paths refuse: no GPU, a mask on JAX/PyTorch,
  `unroll`, recurrent dropout, a non-tanh activation, ...).

`kernel_of` follows Keras 3.15's own dispatch (`LSTM.inner_loop`,
`GRU.inner_loop` and each backend's `lstm`/`gru`, which call that backend's
`cudnn_ok`). Layers `note` what they run each time they are traced or run
for real (never while Keras only infers shapes), and the runner tags a trial
with `ran()`: what actually ran, not what the config asked for.
"""

import keras

__all__ = ["kernel_of", "note", "note_layer", "ran", "reset"]

_RAN: set[str] = set()


def reset():
    """Forget what ran (the runner calls it before each trial)."""
    _RAN.clear()


def note(name: str):
    """Record that `name` ran, unless Keras is only inferring shapes."""
    from rnnexp.layers._keras_private import in_symbolic_scope

    if not in_symbolic_scope():
        _RAN.add(name)


def ran() -> str:
    """The kernels run since `reset`, comma-separated; `none` if no recurrent layer ran."""
    return ",".join(sorted(_RAN)) or "none"


def note_layer(layer, masked: bool):
    """`note` the kernel of `layer`, a recurrent layer or a Bidirectional around one."""
    if isinstance(layer, keras.layers.Bidirectional):
        note_layer(layer.forward_layer, masked)
        note_layer(layer.backward_layer, masked)
        return
    note(kernel_of(layer, masked))


def kernel_of(layer, masked: bool) -> str:
    """The kernel Keras will run `layer`'s time loop with (see the module docstring).

    Args:
        layer: one of our sequence layers or `keras.layers.SimpleRNN/GRU/LSTM`.
        masked: whether the call carries a mask.
    """
    if getattr(type(layer), "runs_rnnexp_loop", False):
        return "rnnexp-loop"
    is_lstm = isinstance(layer, keras.layers.LSTM)
    if not (is_lstm or isinstance(layer, keras.layers.GRU)):
        return "keras-generic"
    cell = layer.cell
    if layer.use_cudnn not in ("auto", True) or cell.recurrent_dropout:
        return "keras-generic"
    backend = keras.backend.backend()
    from rnnexp.layers._keras_private import cudnn_ok

    reset_after = getattr(cell, "reset_after", True)
    args = (cell.activation, cell.recurrent_activation, layer.unroll)
    if backend == "tensorflow":
        extra = {} if is_lstm else {"reset_after": reset_after}
        ok = cudnn_ok(*args, use_bias=cell.use_bias, **extra)
        return "cudnn" if ok else "keras-generic"
    if backend == "jax":
        if masked:
            return "keras-generic"
        if is_lstm:
            return "cudnn" if cudnn_ok(*args, use_bias=cell.use_bias) else "keras-generic"
        return "keras-fused" if reset_after and not layer.unroll else "keras-generic"
    if backend == "torch":
        if masked or not (is_lstm or reset_after):
            return "keras-generic"
        return "cudnn" if cudnn_ok(*args, use_bias=cell.use_bias) else "keras-fused"
    return "keras-generic"
