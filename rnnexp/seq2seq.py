"""Encoder-decoder models from our recurrent layers (one-to-many and seq2seq).

Study notes 001/002/004: an encoder reads the input (an image, or a whole sentence)
into a state; a decoder RNN starts from that state and emits one token per
step, fed its previous token (the true one in training: teacher forcing).

One `RecurrentDecoder` owns the decoder's layers and is called twice: over the
whole target sequence for training, and for a single step for inference. The
two Keras models therefore share every weight, and `rnnexp.decoding` (greedy,
beam search) drives the one-step model.

Attention (`"luong"`: general score `h_t^T W h_s`; `"bahdanau"`: additive
score `v^T tanh(W_q h_t + W_k h_s)`) is applied to the top decoder layer's
output, Luong et al. (2015) style, without input feeding, so training stays
one pass over the sequence.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from rnnexp.layers.recurrent import recurrent_layer

__all__ = [
    "ATTENTION",
    "Attention",
    "RecurrentDecoder",
    "Seq2Seq",
    "bridge_states",
    "build_seq2seq",
    "compile_for_training",
    "teacher_forcing",
    "image_captioner",
    "image_encoder",
    "text_encoder",
    "text_translator",
]

ATTENTION = ("none", "luong", "bahdanau")


def _n_states(cell: str) -> int:
    return 2 if cell == "lstm" else 1  # LSTM carries [h, c]


@keras.saving.register_keras_serializable(package="rnnexp")
class Attention(keras.layers.Layer):
    """Scores every source position for every decoder step; returns the context.

    Call with `(query (B, T, u), memory (B, S, m), memory_mask (B, S))`;
    returns `(context (B, T, m), weights (B, T, S))`. Masked (padding)
    positions get zero weight.
    """

    def __init__(self, units, score="luong", **kwargs):
        super().__init__(**kwargs)
        if score not in ATTENTION[1:]:
            raise ValueError(f"unknown attention score {score!r}; choose one of {ATTENTION[1:]}")
        self.units, self.score = units, score
        self.key = keras.layers.Dense(units, use_bias=False, name="key")
        if score == "bahdanau":
            self.query = keras.layers.Dense(units, use_bias=False, name="query")
            self.energy = keras.layers.Dense(1, use_bias=False, name="energy")

    def call(self, query, memory, memory_mask):
        keys = self.key(memory)
        if self.score == "luong":
            scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        else:
            q = ops.expand_dims(self.query(query), 2)  # (B, T, 1, u)
            scores = ops.squeeze(self.energy(ops.tanh(q + ops.expand_dims(keys, 1))), -1)
        scores = ops.where(ops.expand_dims(memory_mask, 1) > 0, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        return ops.matmul(weights, memory), weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "score": self.score}


class RecurrentDecoder:
    """Embedding -> `depth` recurrent layers -> [attention] -> vocabulary logits.

    Args:
        cell: `"rnn"`, `"gru"` or `"lstm"` (our layers).
        units: hidden size of every layer.
        depth: stacked layers; each starts from its own initial state.
        vocab_size: output vocabulary (id 0 = padding).
        embed_dim: width of the token embedding.
        attention: one of `ATTENTION`.
    """

    def __init__(self, cell, units, depth, vocab_size, embed_dim, attention="none"):
        if attention not in ATTENTION:
            raise ValueError(f"unknown attention {attention!r}; choose one of {ATTENTION}")
        self.cell, self.units, self.depth = cell, units, depth
        self.n_states = _n_states(cell)
        self.embed = keras.layers.Embedding(vocab_size, embed_dim, name="decoder_embedding")
        self.rnns = [
            recurrent_layer(
                cell, units, return_sequences=True, return_state=True, name=f"decoder_{cell}_{i}"
            )
            for i in range(depth)
        ]
        self.attention = None if attention == "none" else Attention(units, attention, name="attn")
        if self.attention is not None:
            self.combine = keras.layers.Dense(units, activation="tanh", name="attn_combine")
        self.logits = keras.layers.Dense(vocab_size, name="logits")

    def __call__(self, tokens, states, memory=None, memory_mask=None):
        """Logits `(B, T, V)`, the final states per layer, attention weights or None."""
        x = self.embed(tokens)
        finals = []
        for layer, initial in zip(self.rnns, states):
            out = layer(x, initial_state=list(initial))
            x, finals = out[0], finals + [list(out[1:])]
        weights = None
        if self.attention is not None:
            context, weights = self.attention(x, memory, memory_mask)
            x = self.combine(keras.layers.Concatenate()([x, context]))
        return self.logits(x), finals, weights


def text_encoder(source, cell, units, depth, bidirectional, vocab_size, embed_dim):
    """Embedding (0 = padding, masked) -> `depth` recurrent layers.

    Returns:
        `(memory (B, S, w), mask (B, S), final states per layer)`, where
        `w = 2 * units` for a bidirectional encoder and each layer's states
        are `[h]` or `[h, c]`, forward and backward concatenated.
    """
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="encoder_embedding")(
        source
    )
    n = _n_states(cell)
    finals = []
    for i in range(depth):
        layer = recurrent_layer(
            cell, units, return_sequences=True, return_state=True, name=f"encoder_{cell}_{i}"
        )
        if bidirectional:
            out = keras.layers.Bidirectional(layer, name=f"encoder_bi_{cell}_{i}")(x)
            fwd, bwd = out[1 : 1 + n], out[1 + n :]
            states = [
                keras.layers.Concatenate(name=f"encoder_state_{i}_{k}")([f, b])
                for k, (f, b) in enumerate(zip(fwd, bwd))
            ]
        else:
            out = layer(x)
            states = list(out[1:])
        x = out[0]
        finals.append(states)
    mask = ops.cast(ops.not_equal(source, 0), "float32")
    return x, mask, finals


def bridge_states(encoder_states, cell, units, depth):
    """Initial states for a `depth`-layer decoder from the encoder's final states.

    Layers are aligned from the top (the decoder's top layer starts from the
    encoder's top layer; extra decoder layers reuse the encoder's lowest).
    A state whose width differs from `units` (bidirectional encoder, other
    width) goes through a Dense layer: tanh for `h`, linear for the LSTM's `c`.
    """
    n = _n_states(cell)
    offset = len(encoder_states) - depth
    bridged = []
    for j in range(depth):
        source = encoder_states[min(max(j + offset, 0), len(encoder_states) - 1)]
        if len(source) != n:
            raise ValueError(f"encoder layers carry {len(source)} states, a {cell} needs {n}")
        layer = []
        for k, s in enumerate(source):
            if s.shape[-1] != units:
                s = keras.layers.Dense(
                    units, activation="tanh" if k == 0 else None, name=f"bridge_{j}_{k}"
                )(s)
            layer.append(s)
        bridged.append(layer)
    return bridged


def image_encoder(images, cell, units, depth, conv_filters=(32, 64), feature_units=128):
    """A small CNN whose features initialize every decoder layer's state.

    Each entry of `conv_filters` is a 3x3 ReLU convolution followed by 2x2 max
    pooling (skipped once the map is too small); the map is flattened (so the
    left-to-right layout survives), projected to `feature_units`, then one
    linear Dense per decoder state: a tanh there can saturate early in training
    and cut the image's gradient, leaving a decoder that ignores the image.
    """
    x = images
    for i, filters in enumerate(conv_filters):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv_{i}")(x)
        if min(x.shape[1], x.shape[2]) >= 4:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    feature = keras.layers.Dense(feature_units, activation="relu", name="image_feature")(x)
    return [
        [keras.layers.Dense(units, name=f"init_{j}_{k}")(feature) for k in range(_n_states(cell))]
        for j in range(depth)
    ]


@dataclasses.dataclass
class Seq2Seq:
    """The three views of one encoder-decoder (they share weights).

    Attributes:
        train: `[source, target_in] -> logits (B, T, V)`, teacher forcing.
        encoder: `source -> [memory, memory_mask,] *states` (flat).
        step: `[token (B, 1), [memory, memory_mask,] *states] ->
            [log_probs (B, V), *states, [attention weights (B, S)]]`.
        n_state_tensors: how many state tensors the encoder/step carry.
        attention: whether memory and weights are part of the interface.
    """

    train: keras.Model
    encoder: keras.Model
    step: keras.Model
    n_state_tensors: int
    attention: bool


def build_seq2seq(source, initial_states, decoder: RecurrentDecoder, memory=None, memory_mask=None):
    """Assemble the three models around `source` (a `keras.Input`).

    Args:
        initial_states: per decoder layer, its list of state tensors (from
            `bridge_states` or `image_encoder`).
        memory, memory_mask: the encoder's sequence, needed with attention.
    """
    attention = decoder.attention is not None
    if attention and memory is None:
        raise ValueError("attention needs the encoder's memory (a text encoder)")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    logits, _, _ = decoder(target_in, initial_states, memory, memory_mask)
    train = keras.Model([source, target_in], logits, name="seq2seq")

    flat = [s for layer in initial_states for s in layer]
    memory_out = [memory, memory_mask] if attention else []
    encoder = keras.Model(source, memory_out + flat, name="encoder")

    token = keras.Input((1,), dtype="int32", name="token")
    state_in = [keras.Input((s.shape[-1],), name=f"state_{i}") for i, s in enumerate(flat)]
    memory_in = []
    if attention:
        memory_in = [
            keras.Input((None, memory.shape[-1]), name="memory"),
            keras.Input((None,), name="memory_mask"),
        ]
    n = decoder.n_states
    grouped = [state_in[i : i + n] for i in range(0, len(state_in), n)]
    step_logits, finals, weights = decoder(token, grouped, *memory_in)
    log_probs = ops.log_softmax(step_logits[:, 0, :], axis=-1)
    outputs = [log_probs] + [s for layer in finals for s in layer]
    if attention:
        outputs.append(weights[:, 0, :])
    step = keras.Model([token] + memory_in + state_in, outputs, name="decoder_step")
    return Seq2Seq(train, encoder, step, len(flat), attention)


def image_captioner(
    image_shape, cell, vocab_size, *, units, depth, embed_dim, conv_filters, feature_units
) -> Seq2Seq:
    """One-to-many: `image_encoder` starts a `depth`-layer decoder that writes the caption."""
    image = keras.Input(image_shape, name="image")
    initial = image_encoder(image, cell, units, depth, conv_filters, feature_units)
    decoder = RecurrentDecoder(cell, units, depth, vocab_size, embed_dim)
    return build_seq2seq(image, initial, decoder)


def text_translator(
    source_vocab_size,
    vocab_size,
    cell,
    attention="none",
    *,
    units,
    embed_dim,
    encoder_depth,
    decoder_depth,
    bidirectional,
) -> Seq2Seq:
    """Seq2seq: `text_encoder`, `bridge_states`, then a decoder that may attend to the source."""
    source = keras.Input((None,), dtype="int32", name="source")
    memory, mask, finals = text_encoder(
        source, cell, units, encoder_depth, bidirectional, source_vocab_size, embed_dim
    )
    initial = bridge_states(finals, cell, units, decoder_depth)
    decoder = RecurrentDecoder(cell, units, decoder_depth, vocab_size, embed_dim, attention)
    return build_seq2seq(source, initial, decoder, memory, mask)


def teacher_forcing(targets, start: int, end: int, length: int | None = None):
    """Decoder inputs `[start] + y` and outputs `y + [end]`, right-padded with 0.

    Args:
        targets: id lists without start/end tokens.
        length: pad/cut to this many steps (default: longest target + 1).
    """
    length = length or 1 + max((len(t) for t in targets), default=0)
    dec_in = np.zeros((len(targets), length), dtype="int32")
    dec_out = np.zeros((len(targets), length), dtype="int32")
    for i, t in enumerate(targets):
        seq_in, seq_out = [start] + list(t), list(t) + [end]
        dec_in[i, : len(seq_in[:length])] = seq_in[:length]
        dec_out[i, : len(seq_out[:length])] = seq_out[:length]
    return dec_in, dec_out


def compile_for_training(model: Seq2Seq, learning_rate: float, clipnorm: float = 0.0):
    """Adam + cross-entropy over the real target tokens (padding ignored)."""
    model.train.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
