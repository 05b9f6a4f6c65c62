"""Keras's private names our layers use still exist and still look as we use them.

If a Keras release moves or reshapes them, this fails first and says which.
"""

import inspect
import subprocess
import sys

import keras

from rnnexp.layers import _keras_private


def test_dropout_rnn_cell_mixin_has_the_mask_methods_our_cells_call():
    mixin = _keras_private.DropoutRNNCell
    for method in ("get_dropout_mask", "get_recurrent_dropout_mask", "reset_dropout_mask"):
        assert callable(getattr(mixin, method, None)), f"DropoutRNNCell lost {method}"
    # keras.layers.RNN resets exactly this mixin's masks around its loop
    assert "DropoutRNNCell" in inspect.getsource(keras.src.layers.rnn.rnn)


def test_backend_rnn_takes_the_arguments_our_layers_pass():
    params = inspect.signature(_keras_private.backend_rnn).parameters
    for name in (
        "step_function",
        "inputs",
        "initial_states",
        "go_backwards",
        "mask",
        "unroll",
        "input_length",
        "time_major",
        "zero_output_for_mask",
        "return_all_outputs",
    ):
        assert name in params, f"keras.src.backend.rnn lost the argument {name!r}"


def test_only_the_private_module_imports_keras_src():
    from pathlib import Path

    package = Path(_keras_private.__file__).resolve().parent.parent
    users = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "keras.src" in p.read_text() and p.name != "_keras_private.py"
    )
    assert users == [], f"private Keras imports outside layers/_keras_private.py: {users}"


def test_a_moved_name_is_one_clear_line():
    code = (
        "import sys, keras.src.backend as b; del b.rnn; "
        "sys.modules.pop('rnnexp.layers._keras_private', None)\n"
        "try:\n    import rnnexp.layers._keras_private\n"
        "except ImportError as err:\n    print(err)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "moved a private name rnnexp.layers needs" in proc.stdout, proc.stdout + proc.stderr
    assert "keras>=3.13,<3.16" in proc.stdout
