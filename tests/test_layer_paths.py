"""Our layers' two time loops compute the same function.

`PROJECT_FIRST` picks, per backend, whether a layer projects every step's
input before the loop or steps the cell as Keras does; tests/test_layers.py
checks the active one against Keras's built-ins, this checks the other.
"""

import numpy as np
import pytest
from keras import ops

from rnnexp.layers import recurrent_layer


def _outputs(cell, project_first, x, mask, **kwargs):
    layer = recurrent_layer(cell, 5, return_sequences=True, return_state=True, **kwargs)
    layer.project_first = project_first
    layer.build(x.shape)
    rng = np.random.default_rng(3)
    layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in layer.weights])
    return [ops.convert_to_numpy(o) for o in layer(x, mask=mask)]


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize(
    "kwargs", [{}, {"go_backwards": True}, {"unroll": True}, {"reset_after": False}]
)
def test_projected_and_stepped_loops_agree(cell, kwargs):
    if "reset_after" in kwargs and cell != "gru":
        pytest.skip("GRU only")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 4)).astype("float32")
    mask = np.ones((3, 6), bool)
    mask[1, 4:] = False
    for m in (None, mask):
        a = _outputs(cell, True, x, m, **kwargs)
        b = _outputs(cell, False, x, m, **kwargs)
        for got, want in zip(a, b):
            np.testing.assert_allclose(got, want, atol=1e-5)
