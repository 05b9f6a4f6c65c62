"""BLEU/chrF wiring (sacrebleu), exact match, token accuracy, vocabularies."""

import pytest

from rnnexp import text_metrics as tm
from rnnexp.data.vocab import Vocabulary, standardize


def test_identical_text_scores_100_and_disjoint_text_0():
    refs = ["four thousand and twelve", "seven hundred"]
    assert tm.bleu(refs, refs) == pytest.approx(100)
    assert tm.bleu(["x y z w", "q r"], refs) == 0
    assert tm.chrf(refs, refs) == pytest.approx(100)


def test_bleu_matches_sacrebleu_by_hand():
    """BLEU-2 of one pair: sqrt(p1 * p2) * brevity penalty, computed by hand."""
    hyp, ref = "a b c d", "a b c e f"
    p1, p2 = 3 / 4, 2 / 3
    bp = 2.718281828459045 ** (1 - 5 / 4)
    assert tm.bleu([hyp], [ref], 2) == pytest.approx(100 * bp * (p1 * p2) ** 0.5, rel=1e-6)


def test_multiple_references_take_the_best_match():
    two_refs = [["a cat sits on the mat", "a dog runs in the park"]]
    assert tm.bleu(["a dog runs in the park"], two_refs) == pytest.approx(100)
    assert tm.exact_match(["a dog runs", "x"], [["a cat", "a dog runs"], "y"]) == 0.5


def test_token_accuracy_ignores_padding():
    assert tm.token_accuracy([[5, 6, 9]], [[5, 7, 0]]) == 0.5


def test_score_texts_has_bleu_1_to_4():
    scores = tm.score_texts(["a b c"], ["a b d"], chrf_score=True)
    assert set(scores) == {"bleu1", "bleu2", "bleu3", "bleu4", "exact_match", "chrf"}
    assert scores["bleu1"] > scores["bleu2"] > scores["bleu4"] == 0


def test_bleu_error_is_clipped_at_zero():
    assert tm.bleu_error([100.0000001, 90.0]) == pytest.approx(5.0)


def test_bleu_by_length_groups_by_source_words():
    sources = ["a", "a b c", "a b c d e f"]
    out = tm.bleu_by_length(sources, ["x y z w"] * 3, ["x y z w"] * 3, (1, 3, 5))
    assert list(out) == ["1_2", "3_4", "5_up"] and out["5_up"] == pytest.approx(100)


def test_copy_baselines_copy_the_nearest_and_the_most_frequent_caption():
    import numpy as np

    images = np.array([[0.0], [1.0], [1.1]])
    captions = ["one two three four", "five six seven eight", "five six seven eight"]
    test = (np.array([[0.1]]), [["one two three four"]])
    scores = tm.copy_baselines((images, captions), test)
    assert scores["nearest"]["bleu4"] == pytest.approx(100)
    assert scores["frequent"]["bleu4"] == 0


def test_vocabulary_round_trip_and_specials():
    vocab = Vocabulary.from_texts(["b a", "a c", "a"], max_size=6)
    assert vocab.tokens == ["[pad]", "[unk]", "[start]", "[end]", "a", "b"]
    assert vocab.encode("a c", add_start=True, add_end=True) == [2, 4, 1, 3]
    assert vocab.decode([2, 4, 5, 3, 4]) == "a b"


def test_standardize_splits_punctuation_and_lowercases():
    assert standardize("¿Todavía está en casa?") == "¿ todavía está en casa ?"
    assert standardize("Hi,  Tom!") == "hi , tom !"


def test_pad_batch_right_pads_and_cuts():
    from rnnexp.data.vocab import pad_batch

    assert pad_batch([[5, 6], [7]]).tolist() == [[5, 6], [7, 0]]
    assert pad_batch([[5, 6, 7]], length=2).tolist() == [[5, 6]]
