"""mnist1d and pos_tagging: their real-data loaders and models, on tiny shapes (no training)."""

import importlib.metadata
import sys

import numpy as np
import pytest

from rnnexp import catalog
from rnnexp.data import mnist1d, pos_treebank
from rnnexp.data.records import DataError, DataUnavailable

catalog.load_catalog()

TINY = mnist1d.Mnist1dData(num_samples=50)


# -- MNIST-1D ---------------------------------------------------------------------------------


def test_mnist1d_is_generated_with_the_requested_split_and_leaves_numpy_seeded_as_it_was():
    np.random.seed(123)
    expected_next = np.random.rand()
    np.random.seed(123)
    data = mnist1d.load(TINY, shuffled=False)
    assert np.random.rand() == expected_next  # make_dataset's own seeding was undone
    assert data.x_train.shape == (40, 40) and data.x_test.shape == (10, 40)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert set(np.unique(np.concatenate([data.y_train, data.y_test]))) <= set(range(10))
    again = mnist1d.load(TINY, shuffled=False)
    np.testing.assert_array_equal(data.x_train, again.x_train)  # one fixed data set


def test_mnist1d_shuffled_is_the_same_sequences_under_one_permutation_of_positions():
    ordered = mnist1d.load(TINY, shuffled=False)
    shuffled = mnist1d.load(TINY, shuffled=True)
    np.testing.assert_array_equal(ordered.y_train, shuffled.y_train)
    both = np.concatenate([ordered.x_train, ordered.x_test])
    moved = np.concatenate([shuffled.x_train, shuffled.x_test])
    # Each shuffled position is one original position, every position used once.
    distance = np.abs(moved.T[:, None, :] - both.T[None, :, :]).max(-1)
    permutation = distance.argmin(1)
    assert distance.min(1).max() < 1e-6
    assert sorted(permutation) == list(range(40))
    assert (permutation != np.arange(40)).any()


def test_mnist1d_without_its_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)  # import fails
    with pytest.raises(DataUnavailable, match="pip install mnist1d"):
        mnist1d.load(TINY, shuffled=False)


@pytest.mark.parametrize(
    "model, params", [("gru", 5134), ("cnn", 5210), ("mlp", 15210), ("logistic", 410)]
)
def test_mnist1d_models_have_the_papers_parameter_counts(model, params):
    # The counts notebooks/models.py prints for GRUBase, ConvBase, MLPBase and LinearBase.
    exp = catalog.get("mnist1d")
    module = sys.modules[type(exp).__module__]
    assert module.build_model(exp.resolve(), model, 40).count_params() == params


def test_mnist1d_profiles_resolve():
    exp = catalog.get("mnist1d")
    assert {"ci", "default", "greydanus2020"} <= set(exp.profile_names())
    ci = exp.resolve("ci")
    assert ci.sweep.models == ("gru",) and ci.sweep.seeds >= 3
    paper = exp.resolve("greydanus2020")
    assert paper.train.epochs * 4000 // paper.train.batch_size == 6000  # the paper's steps


# -- part-of-speech treebank -------------------------------------------------------------------

CONLLU = """# sent_id = a
# text = Ev güzel.
1\tEv\tev\tNOUN\tNN\t_\t2\tnsubj\t_\t_
2\tgüzel\tgüzel\tADJ\tJJ\t_\t0\troot\t_\tSpaceAfter=No
3\t.\t.\tPUNCT\t.\t_\t2\tp\t_\t_

# sent_id = b
1-2\tEvde\t_\t_\t_\t_\t_\t_\t_\t_
1\tEv\tev\tNOUN\tNN\t_\t0\troot\t_\t_
1.1\tx\t_\tX\t_\t_\t_\t_\t_\t_
2\tde\tde\tADP\tIN\t_\t1\tcase\t_\t_
"""


def test_conllu_reads_forms_and_coarse_tags_skipping_ranges_and_empty_nodes():
    assert pos_treebank.parse_conllu(CONLLU) == [
        (["Ev", "güzel", "."], ["NOUN", "ADJ", "PUNCT"]),
        (["Ev", "de"], ["NOUN", "ADP"]),
    ]


def test_a_malformed_word_line_is_named():
    with pytest.raises(DataError, match="10 tab-separated columns"):
        pos_treebank.parse_conllu("1\tEv\tNOUN\n", "bad.conllu")


def test_the_packages_split_rule():
    assert [pos_treebank.split_of(i) for i in range(12)] == ["train"] * 8 + ["dev", "test"] + [
        "train"
    ] * 2


def _tiny_corpus(max_length=4, min_count=2):
    splits = {
        "train": [
            (["Ev", "güzel", "."], ["NOUN", "ADJ", "PUNCT"]),
            (["ev", "büyük", "."], ["NOUN", "ADJ", "PUNCT"]),
            (["kedi"], ["NOUN"]),
        ],
        "dev": [(["ev", "."], ["NOUN", "PUNCT"])],
        "test": [
            (["ev", "yeni", "yeni", ".", "ev", "."], ["NOUN", "ADJ", "ADJ", "PUNCT", "X", "PUNCT"])
        ],
    }
    cfg = pos_treebank.TreebankData(max_length=max_length, min_count=min_count)
    return pos_treebank.encode(splits, cfg)


def test_encoding_pads_marks_rare_words_unknown_and_tags_long_sentences_in_pieces():
    corpus = _tiny_corpus()
    assert corpus.words == [".", "ev"]  # lower-cased; seen once -> unknown
    assert corpus.tags == ["ADJ", "NOUN", "PUNCT", "X"]  # every split's tags: the scheme's
    x, y = corpus.arrays["test"]
    ev, dot, unk = corpus.words.index("ev") + 2, corpus.words.index(".") + 2, pos_treebank.UNKNOWN
    np.testing.assert_array_equal(x, [[ev, unk, unk, dot], [ev, dot, 0, 0]])
    tag = {t: k + 1 for k, t in enumerate(corpus.tags)}
    np.testing.assert_array_equal(
        y, [[tag["NOUN"], tag["ADJ"], tag["ADJ"], tag["PUNCT"]], [tag["X"], tag["PUNCT"], 0, 0]]
    )
    assert (x == 0).sum() == (y == 0).sum() == 2  # padding is where tags are 0, nowhere else


def test_the_majority_tagger_uses_each_words_training_tag_and_the_commonest_for_new_words():
    corpus = _tiny_corpus()
    # ev -> NOUN (right), new word yeni x2 -> NOUN, the commonest tag (wrong), "." -> PUNCT
    # (right), ev tagged X -> NOUN (wrong), "." (right): 3 of 6.
    assert pos_treebank.majority_baseline(corpus) == pytest.approx(3 / 6)


def test_the_packaged_treebank_reads_with_14_tags_and_the_split_rule():
    splits = pos_treebank.read_sections(("web",))
    sizes = {k: len(v) for k, v in splits.items()}
    total = sum(sizes.values())
    assert total > 2000
    assert sizes["test"] == total // 10 and sizes["dev"] == (total + 1) // 10
    tags = {t for sentences in splits.values() for _, ts in sentences for t in ts}
    assert len(tags) <= 14 and {"NOUN", "VERB", "PUNCT"} <= tags


def test_the_treebank_without_its_package_says_what_to_install(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataUnavailable, match="pip install turkish-treebanks"):
        pos_treebank.read_sections(("web",))


def test_a_section_outside_the_package_is_refused():
    from rnnexp.config import ConfigError

    with pytest.raises(ConfigError, match="data.sections"):
        pos_treebank.TreebankData(sections=("news",))


def test_left_to_right_tags_do_not_see_the_words_after_them_bidirectional_ones_do():
    exp = catalog.get("pos_tagging")
    module = sys.modules[type(exp).__module__]
    cfg = exp.resolve("ci", {"data.max_length": 6, "model.embed_dim": 4, "model.stack.units": 3})
    x = np.array([[5, 6, 7, 8, 0, 0]], dtype="int32")
    changed = x.copy()
    changed[0, 3] = 9  # the last real word
    for bidirectional in (False, True):
        tagger = module.build_tagger(cfg, "lstm", bidirectional, vocab=10, tags=4)
        before, after = tagger.predict(x, verbose=0), tagger.predict(changed, verbose=0)
        earlier_moved = not np.allclose(before[0, :3], after[0, :3], atol=1e-7)
        assert earlier_moved is bidirectional
