"""Model builders: the architectures of the curriculum, from our layers.

The configs here are plain dataclasses; Keras is imported inside the builders,
so that declaring an experiment imports no framework (see `rnnexp.catalog`).
"""

import dataclasses
from typing import Literal

from rnnexp import presets
from rnnexp.config import Positive, check

__all__ = [
    "ClassifierConfig",
    "build_bag_of_embeddings",
    "build_classifier",
    "build_window_classifier",
    "matched_units",
    "recurrent_params",
]

Cell = Literal["rnn", "gru", "lstm"]
#: `rnnexp`: our cells; `keras`: Keras's built-in layers with the same weights
#: (cuDNN for LSTM/GRU on a GPU). A trial's `model.kernel` tag says what ran.
Impl = Literal["rnnexp", "keras"]


def _check_impl(impl):
    check(impl in presets.IMPLS, "model.impl", impl, " or ".join(map(repr, presets.IMPLS)))


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Many-to-one: Embedding -> recurrent stack -> Dense(1, sigmoid).

    `match_params`: size every cell to the parameter count of an LSTM with
    `units` units (Chung et al. 2014), instead of giving each `units` units.
    `activation` applies to the SimpleRNN only: `"relu"` builds the `irnn`
    preset of `rnnexp.presets` (ReLU with an identity recurrent matrix).
    """

    units: Positive = 32
    embed_dim: Positive = 16
    depth: Positive = 1
    bidirectional: bool = False
    activation: str = "tanh"
    match_params: bool = False
    impl: Impl = "rnnexp"

    def __post_init__(self):
        _check_impl(self.impl)
        check(self.units > 0, "model.units", self.units, "a positive integer")
        check(self.embed_dim > 0, "model.embed_dim", self.embed_dim, "a positive integer")
        check(
            self.activation in ("tanh", "relu"),
            "model.activation",
            self.activation,
            "'tanh' or 'relu' (the irnn preset: ReLU, identity recurrent matrix)",
        )


_GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def recurrent_params(cell: str, units: int, input_dim: int) -> int:
    """Weights of one of our layers (GRU with `reset_after`: two biases)."""
    gates = _GATES[cell]
    biases = 2 if cell == "gru" else 1
    return gates * (input_dim * units + units * units + biases * units)


def matched_units(cell: str, reference_units: int, input_dim: int) -> int:
    """The `units` of `cell` whose parameter count is closest to an LSTM's."""
    target = recurrent_params("lstm", reference_units, input_dim)
    return min(
        range(1, 8 * reference_units + 1),
        key=lambda u: abs(recurrent_params(cell, u, input_dim) - target),
    )


def build_classifier(
    cfg: ClassifierConfig,
    cell: str,
    vocab_size: int,
    length: int,
    clipnorm=None,
    learning_rate=1e-3,
):
    """A compiled binary classifier over `(batch, length)` token ids.

    Returns:
        `(model, embed, body)`: `embed` maps tokens to `(B, T, E)` and `body`
        maps that to probabilities, for the gradient probe.
    """
    import keras

    from rnnexp.layers.wrappers import DeepRNN

    units = matched_units(cell, cfg.units, cfg.embed_dim) if cfg.match_params else cfg.units
    embed = keras.layers.Embedding(vocab_size, cfg.embed_dim, name="embedding")
    x_in = keras.Input((length, cfg.embed_dim))
    layer_kwargs = {}
    if cell == "rnn":  # gated cells keep tanh: their gates already fight vanishing
        relu = cfg.activation == "relu"  # the irnn preset, not a plain ReLU SimpleRNN
        layer_kwargs = presets.get("irnn").kwargs() if relu else {"activation": cfg.activation}
    h = DeepRNN(
        cell,
        units,
        depth=cfg.depth,
        bidirectional=cfg.bidirectional,
        layer_kwargs=layer_kwargs,
        impl=cfg.impl,
        name="recurrent",
    )(x_in)
    body = keras.Model(
        x_in, keras.layers.Dense(1, activation="sigmoid", name="head")(h), name="body"
    )
    tokens = keras.Input((length,), dtype="int32")
    model = keras.Model(tokens, body(embed(tokens)), name=f"{cell}_classifier")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model, embed, body


def build_bag_of_embeddings(cfg: ClassifierConfig, vocab_size: int, length: int, optimizer):
    """The order-free control: Embedding -> mean over time -> Dense(1, sigmoid).

    It sees every token of the window at the same distance from the read-out
    (no recurrence, no gradient through time), so its accuracy measures how
    much label evidence a window holds for a model that cannot forget.
    """
    import keras

    tokens = keras.Input((length,), dtype="int32")
    h = keras.layers.Embedding(vocab_size, cfg.embed_dim, name="embedding")(tokens)
    h = keras.layers.GlobalAveragePooling1D(name="mean_over_time")(h)
    out = keras.layers.Dense(1, activation="sigmoid", name="head")(h)
    model = keras.Model(tokens, out, name="bag_of_embeddings")
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


@dataclasses.dataclass(frozen=True)
class StackConfig:
    """A recurrent stack (see `rnnexp.layers.DeepRNN`)."""

    units: Positive = 32
    depth: Positive = 1
    bidirectional: bool = False
    merge_mode: Literal["concat", "sum", "ave", "mul", "weighted_sum"] = "concat"
    residual: bool = False
    impl: Impl = "rnnexp"

    def __post_init__(self):
        _check_impl(self.impl)
        check(self.units > 0, "model.units", self.units, "a positive integer")


def build_sequence_model(
    stack: StackConfig,
    cell: str,
    input_shape,
    head,
    *,
    return_sequences=False,
    layer_kwargs=None,
    name=None,
):
    """`Input(input_shape) -> DeepRNN -> head`: the many-to-one / many-to-many body.

    Args:
        stack: the recurrent stack's shape.
        cell: `"rnn"`, `"gru"` or `"lstm"`.
        input_shape: `(T, d)` for float inputs.
        head: a Keras layer applied to the stack's output.
        return_sequences: many-to-many (True) or many-to-one (False).
        layer_kwargs: per-layer options (activation, initializers, ...).
    """
    import keras

    from rnnexp.layers.wrappers import DeepRNN

    inputs = keras.Input(input_shape)
    h = DeepRNN(
        cell,
        stack.units,
        depth=stack.depth,
        bidirectional=stack.bidirectional,
        merge_mode=stack.merge_mode,
        residual=stack.residual,
        return_sequences=return_sequences,
        layer_kwargs=layer_kwargs,
        impl=stack.impl,
        name="recurrent",
    )(inputs)
    return keras.Model(inputs, head(h), name=name or f"{cell}_model")


def build_window_classifier(cfg: ClassifierConfig, kind: str, vocab_size: int, length: int, train):
    """A compiled binary classifier of `(batch, length)` token ids, `kind` a cell (as in
    `build_classifier`, with `train`'s learning rate and clipnorm) or `"bow"`, the order-free
    control (`build_bag_of_embeddings`, `train.adam()`).

    Returns:
        `(model, embed, body)` as `build_classifier` returns them; `embed` and `body` are None
        for the control, which has no recurrence for the gradient probe to read.
    """
    if kind == "bow":
        return build_bag_of_embeddings(cfg, vocab_size, length, train.adam()), None, None
    return build_classifier(
        cfg,
        kind,
        vocab_size,
        length,
        clipnorm=train.clipnorm or None,
        learning_rate=train.learning_rate,
    )
