"""The private Keras names our layers rely on, imported in this one place.

Keras keeps no public equivalent of either, and a Keras release may move them:
this module then fails on import with one line naming what moved and the
Keras versions rnnexp supports, and `tests/test_keras_private.py` fails loudly
in CI instead of a layer failing mid-training.

- `DropoutRNNCell`: the mixin that caches one dropout mask per batch and reuses
  it for every time step; `keras.layers.RNN` configures and resets it around
  the loop (our cells inherit it, as Keras's own cells do).
- `backend_rnn`: the backend-agnostic time loop Keras's own RNN layers run
  (a `while_loop` on TensorFlow, `lax.scan` on JAX, a Python loop on PyTorch).
- `cudnn_ok`, `in_symbolic_scope`: the active backend's own test of whether
  Keras's LSTM/GRU will run cuDNN, and whether Keras is only inferring shapes;
  `rnnexp.layers.kernels` names the kernel a trial ran with them.
"""

import keras

try:
    from keras.src.backend import cudnn_ok, in_symbolic_scope
    from keras.src.backend import rnn as backend_rnn
    from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
except ImportError as err:  # pragma: no cover - only on an unsupported Keras
    raise ImportError(
        f"Keras {keras.__version__} moved a private name rnnexp.layers needs ({err}); "
        "rnnexp supports keras>=3.13,<3.16: pip install 'keras>=3.13,<3.16'"
    ) from err

__all__ = ["DropoutRNNCell", "backend_rnn", "cudnn_ok", "in_symbolic_scope"]
