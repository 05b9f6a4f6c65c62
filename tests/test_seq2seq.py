"""Encoder-decoder wiring: state bridging, attention masks, greedy and beam search."""

import keras
import numpy as np
import pytest

from rnnexp import seq2seq as s2s
from rnnexp.decoding import beam_search, greedy_decode

START, END = 2, 3


def text_model(cell, *, bidirectional, enc_depth, dec_depth, attention="none", units=6):
    keras.utils.set_random_seed(0)
    source = keras.Input((None,), dtype="int32")
    memory, mask, finals = s2s.text_encoder(source, cell, units, enc_depth, bidirectional, 11, 5)
    initial = s2s.bridge_states(finals, cell, units, dec_depth)
    decoder = s2s.RecurrentDecoder(cell, units, dec_depth, 9, 5, attention)
    return s2s.build_seq2seq(source, initial, decoder, memory, mask), finals, initial


def tokens(n=4, length=6, pad_from=4, seed=0):
    x = np.random.default_rng(seed).integers(1, 11, (n, length)).astype("int32")
    x[1:, pad_from:] = 0  # every row but the first ends in padding
    return x


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enc_depth,dec_depth", [(1, 1), (2, 2), (3, 1), (1, 2)])
def test_bridge_gives_every_decoder_layer_its_states(cell, bidirectional, enc_depth, dec_depth):
    model, finals, initial = text_model(
        cell, bidirectional=bidirectional, enc_depth=enc_depth, dec_depth=dec_depth
    )
    n_states = 2 if cell == "lstm" else 1
    assert len(finals) == enc_depth and len(initial) == dec_depth
    assert all(len(layer) == n_states for layer in finals + initial)
    width = 12 if bidirectional else 6
    assert all(s.shape[-1] == width for layer in finals for s in layer)
    assert all(s.shape[-1] == 6 for layer in initial for s in layer)
    assert model.n_state_tensors == dec_depth * n_states
    x = tokens()
    states = model.encoder.predict_on_batch(x)
    states = states if isinstance(states, list) else [states]
    assert [s.shape for s in states] == [(4, 6)] * (dec_depth * n_states)
    assert model.train.predict_on_batch([x, x[:, :3] % 9]).shape == (4, 3, 9)


def test_unidirectional_same_width_bridge_is_the_identity():
    """Equal widths and depths: the decoder starts from the encoder's own states."""
    model, finals, initial = text_model("lstm", bidirectional=False, enc_depth=2, dec_depth=2)
    assert [s for layer in initial for s in layer] == [s for layer in finals for s in layer]


def test_bidirectional_final_state_skips_padding():
    """A padded row's encoder state equals the state of the same row unpadded."""
    model, _, _ = text_model("gru", bidirectional=True, enc_depth=1, dec_depth=1)
    x = tokens(n=2, length=6, pad_from=4)
    short = x[1:, :4]
    padded_state = np.asarray(model.encoder.predict_on_batch(x[1:]))
    short_state = np.asarray(model.encoder.predict_on_batch(short))
    np.testing.assert_allclose(padded_state, short_state, atol=1e-5)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_ignores_padding_and_sums_to_one(attention):
    model, _, _ = text_model(
        "lstm", bidirectional=True, enc_depth=1, dec_depth=1, attention=attention
    )
    x = tokens()
    ids, weights = greedy_decode(model, x, start=START, end=END, max_length=5)
    steps = (ids != 0).sum(1)
    for row in range(1, 4):
        w = weights[row, : steps[row]]
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
        assert np.abs(w[:, 4:]).max() < 1e-6  # padded source positions


def test_step_model_matches_the_teacher_forced_model():
    """Feeding the training model's inputs one step at a time gives its logits."""
    model, _, _ = text_model("gru", bidirectional=True, enc_depth=2, dec_depth=2, attention="luong")
    x, y = tokens(), np.array([[START, 4, 5, 6]] * 4, dtype="int32")
    full = keras.ops.convert_to_numpy(keras.ops.log_softmax(model.train.predict_on_batch([x, y])))
    memory_mask_states = model.encoder.predict_on_batch(x)
    memory, states = memory_mask_states[:2], memory_mask_states[2:]
    for t in range(y.shape[1]):
        out = model.step.predict_on_batch([y[:, t : t + 1]] + memory + states)
        np.testing.assert_allclose(out[0], full[:, t], atol=1e-4)
        states = out[1 : 1 + model.n_state_tensors]


@pytest.mark.parametrize("attention", ["none", "luong"])
def test_beam_width_one_is_greedy(attention):
    model, _, _ = text_model(
        "lstm", bidirectional=True, enc_depth=1, dec_depth=2, attention=attention
    )
    x = tokens(n=6, seed=3)
    greedy, _ = greedy_decode(model, x, start=START, end=END, max_length=7)
    beam = beam_search(model, x, start=START, end=END, max_length=7, beam_width=1)
    np.testing.assert_array_equal(greedy, beam)


def test_wide_beam_is_exact_search_so_never_below_greedy():
    """With 7 allowed tokens and 3 steps, a beam of 7**2 keeps every prefix:
    it finds the most likely output, so it scores at least greedy's. (A narrow
    beam has no such guarantee: it may prune greedy's prefix.)"""
    model, _, _ = text_model("gru", bidirectional=False, enc_depth=1, dec_depth=1)
    x = tokens(n=16, seed=5)

    def log_likelihood(ids):
        memory_states = model.encoder.predict_on_batch(x)
        states = memory_states if isinstance(memory_states, list) else [memory_states]
        prev, total = np.full(len(x), START, dtype="int32"), np.zeros(len(x))
        alive = np.ones(len(x), bool)
        for t in range(ids.shape[1]):
            out = model.step.predict_on_batch([prev[:, None]] + states)
            tok = ids[:, t]
            total += np.where(alive & (tok > 0), out[0][np.arange(len(x)), np.maximum(tok, 0)], 0)
            alive &= (tok != END) & (tok > 0)
            prev, states = np.maximum(tok, 1).astype("int32"), out[1:]
        return total

    greedy, _ = greedy_decode(model, x, start=START, end=END, max_length=3)
    beam = beam_search(model, x, start=START, end=END, max_length=3, beam_width=49)
    assert (log_likelihood(beam) >= log_likelihood(greedy) - 1e-4).all()
    assert (log_likelihood(beam) > log_likelihood(greedy) + 1e-3).any()  # it did search
    assert (beam[:, 0] != 0).all() and not (beam == START).any()


def test_image_encoder_initializes_every_layer():
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 32, 1))
    initial = s2s.image_encoder(image, "lstm", 7, 2, conv_filters=(4, 8), feature_units=10)
    decoder = s2s.RecurrentDecoder("lstm", 7, 2, 12, 4)
    model = s2s.build_seq2seq(image, initial, decoder)
    images = np.random.default_rng(0).random((3, 8, 32, 1)).astype("float32")
    ids, weights = greedy_decode(model, images, start=START, end=END, max_length=4)
    assert ids.shape == (3, 4) and weights is None
    with pytest.raises(ValueError, match="attention needs"):
        s2s.build_seq2seq(image, initial, s2s.RecurrentDecoder("lstm", 7, 2, 12, 4, "luong"))


def test_teacher_forcing_shifts_and_pads():
    dec_in, dec_out = s2s.teacher_forcing([[5, 6], [7]], START, END)
    np.testing.assert_array_equal(dec_in, [[2, 5, 6], [2, 7, 0]])
    np.testing.assert_array_equal(dec_out, [[5, 6, 3], [7, 3, 0]])


def test_unknown_attention_is_rejected():
    with pytest.raises(ValueError, match="unknown attention 'dot'"):
        s2s.RecurrentDecoder("gru", 4, 1, 10, 4, "dot")
