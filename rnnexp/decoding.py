"""Greedy and beam-search decoding with a `Seq2Seq`'s one-step model.

Both run a whole batch at once in NumPy around `step.predict_on_batch`, so a
test set decodes in `max_length` model calls (times the beam width in batch).
Outputs are `(n, max_length)` int32 ids, 0 after the end token. Padding (0)
and the start token are never emitted.
"""

import numpy as np

__all__ = ["beam_search", "greedy_decode"]


def _encode(model, source):
    outs = model.encoder.predict_on_batch(source)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    memory = outs[:2] if model.attention else []
    return memory, outs[len(memory) :]


def _step(model, tokens, memory, states, start):
    outs = model.step.predict_on_batch([tokens[:, None]] + memory + states)
    outs = [np.asarray(o) for o in outs]
    log_probs, states = outs[0], outs[1 : 1 + model.n_state_tensors]
    log_probs[:, 0] = -np.inf  # padding
    log_probs[:, start] = -np.inf
    weights = outs[-1] if model.attention else None
    return log_probs, states, weights


def greedy_decode(model, source, *, start, end, max_length, batch_size=512):
    """The most likely next token at every step.

    Returns:
        `(ids (n, max_length), attention (n, max_length, S) or None)`.
    """
    ids, attention = [], []
    for lo in range(0, len(source), batch_size):
        chunk = source[lo : lo + batch_size]
        memory, states = _encode(model, chunk)
        tokens = np.full(len(chunk), start, dtype="int32")
        done = np.zeros(len(chunk), bool)
        out = np.zeros((len(chunk), max_length), dtype="int32")
        maps = []
        for t in range(max_length):
            log_probs, states, weights = _step(model, tokens, memory, states, start)
            tokens = np.argmax(log_probs, -1).astype("int32")
            out[:, t] = np.where(done, 0, tokens)
            if weights is not None:
                maps.append(weights)
            done |= tokens == end
            if done.all():
                break
        ids.append(out)
        if maps:
            full = np.zeros((len(chunk), max_length, maps[0].shape[-1]), "float32")
            full[:, : len(maps)] = np.stack(maps, 1)
            attention.append(full)
    return np.concatenate(ids), (np.concatenate(attention) if attention else None)


def beam_search(
    model, source, *, start, end, max_length, beam_width=4, length_penalty=0.0, batch_size=128
):
    """Keep the `beam_width` best prefixes (sum of log-probabilities) per input.

    A finished hypothesis keeps its score. The winner maximises
    `score / length ** length_penalty` (0 = plain log-probability, as greedy;
    Wu et al. 2016 use about 0.6). `beam_width=1` is exactly greedy decoding.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    return np.concatenate(
        [
            _beam_chunk(
                model,
                source[lo : lo + batch_size],
                start,
                end,
                max_length,
                beam_width,
                length_penalty,
            )
            for lo in range(0, len(source), batch_size)
        ]
    )


def _beam_chunk(model, source, start, end, max_length, k, length_penalty):
    n = len(source)
    memory, states = _encode(model, source)
    memory = [np.repeat(m, k, axis=0) for m in memory]
    states = [np.repeat(s, k, axis=0) for s in states]
    scores = np.full((n, k), -np.inf)
    scores[:, 0] = 0.0  # one live beam per input at the start
    seqs = np.zeros((n, k, 0), dtype="int32")
    done = np.zeros((n, k), bool)
    lengths = np.zeros((n, k), dtype="int32")
    tokens = np.full(n * k, start, dtype="int32")
    rows = np.arange(n)[:, None]
    for _ in range(max_length):
        log_probs, states, _ = _step(model, tokens, memory, states, start)
        vocab = log_probs.shape[-1]
        log_probs = log_probs.reshape(n, k, vocab).astype("float64")
        stay = np.full(vocab, -np.inf)
        stay[end] = 0.0  # a finished beam only repeats `end`, at no cost
        log_probs = np.where(done[:, :, None], stay, log_probs)
        cand = (scores[:, :, None] + log_probs).reshape(n, k * vocab)
        top = np.argsort(-cand, axis=1, kind="stable")[:, :k]
        beam, tok = top // vocab, (top % vocab).astype("int32")
        scores = np.take_along_axis(cand, top, 1)
        seqs = np.concatenate([seqs[rows, beam], tok[:, :, None]], axis=2)
        lengths = np.where(done[rows, beam], lengths[rows, beam], lengths[rows, beam] + 1)
        done = done[rows, beam] | (tok == end)
        states = [s.reshape(n, k, -1)[rows, beam].reshape(n * k, -1) for s in states]
        tokens = tok.reshape(-1)
        if done.all():
            break
    final = scores / np.maximum(lengths, 1) ** length_penalty if length_penalty else scores
    best = seqs[np.arange(n), np.argmax(final, axis=1)]
    out = np.zeros((n, max_length), dtype="int32")
    for i, seq in enumerate(best):
        stop = np.flatnonzero(seq == end)
        seq = seq[: stop[0] + 1] if len(stop) else seq
        out[i, : len(seq)] = seq
    return out
