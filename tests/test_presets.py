"""The preset registry: one name, one architecture, everywhere it is used."""

import typing

import pytest

from rnnexp import presets
from rnnexp.recipes.long_range import arch_layer


def test_a_name_registers_once_and_an_unknown_one_lists_the_known():
    with pytest.raises(ValueError, match="already registered"):
        presets.register("irnn", cell="rnn")
    with pytest.raises(ValueError, match=r"unknown architecture 'bi3'.*irnn.*bi2"):
        presets.get("bi3")


def test_the_literals_name_exactly_the_registered_presets():
    assert typing.get_args(presets.Arch) == presets.ARCHS
    assert typing.get_args(presets.Stack) == presets.STACKS
    for name in presets.ARCHS:
        assert presets.get(name).cell in ("rnn", "gru", "lstm")
    for name in presets.STACKS:
        assert presets.get(name).cell is None  # a stack shape runs the trial's cell


def test_stack_presets_are_what_sentiment_parsed_from_the_name():
    for name in presets.STACKS:
        stack = presets.get(name)
        assert (stack.bidirectional, stack.depth) == (name.startswith("bi"), int(name[-1]))


def test_cell_presets_give_the_layer_options_of_le_et_al():
    irnn = {"activation": "relu", "recurrent_initializer": "identity"}
    assert arch_layer("irnn") == ("rnn", irnn)
    assert arch_layer("rnn_relu") == ("rnn", {"activation": "relu"})
    assert arch_layer("lstm") == ("lstm", {})
    kwargs = presets.get("irnn").kwargs()
    kwargs["activation"] = "tanh"  # a caller's copy: the preset stays as registered
    assert presets.get("irnn").kwargs()["activation"] == "relu"
