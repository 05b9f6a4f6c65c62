"""The sequence-to-sequence recipe without training: its data, and the order a trial runs in."""

import numpy as np

from rnnexp import training
from rnnexp.recipes import seq2seq
from rnnexp.recipes.seq2seq import Seq2SeqData, Seq2SeqExperiment
from rnnexp.report import plots


def test_from_texts_gives_token_accuracy_one_row_per_reference():
    images = np.arange(3)[:, None]
    refs = [["one", "one two"], ["three"], ["two three four", "four"]]
    data = Seq2SeqData.from_texts((images, ["one two", "three four"]), (images, refs), 50)
    inputs, targets = data.token_pairs
    assert inputs[:, 0].tolist() == [0, 0, 1, 2, 2]
    assert [data.vocab.decode(t) for t in targets] == [r for rs in refs for r in rs]
    assert data.max_length == 4  # the longest text, a reference here, and its end token
    assert [data.vocab.decode(t) for t in data.train[1]] == ["one two", "three four"]


def test_from_texts_takes_one_reference_text_per_input():
    sources = np.array([[5, 6], [7, 0]])
    data = Seq2SeqData.from_texts((sources, ["a b"]), (sources, ["a", "b a b"]), 50)
    inputs, targets = data.token_pairs
    assert inputs.tolist() == sources.tolist() and len(targets) == 2
    assert data.max_length == 4


def test_from_pairs_encodes_each_side_with_its_own_vocabulary():
    train = [("un deux", "one two"), ("trois", "three")]
    data = Seq2SeqData.from_pairs(train, [("deux trois", "two three")], 50)
    source_vocab = data.extras["source_vocab"]
    assert [source_vocab.decode(row) for row in data.train[0]] == ["un deux", "trois"]
    assert [data.vocab.decode(t) for t in data.train[1]] == ["one two", "three"]
    assert data.test_sources == ["deux trois"] and data.test_refs == ["two three"]
    assert source_vocab.decode(data.test_inputs[0]) == "deux trois"


def test_a_trial_seeds_builds_trains_scores_then_logs_samples_and_figures(monkeypatch):
    log = []
    monkeypatch.setattr(training, "set_seed", lambda seed: log.append(("seed", seed)))

    class FakeModel:
        train = type("Train", (), {"count_params": lambda self: 42})()

    class FakeWriter:
        def __init__(self, model, vocab, max_length):
            log.append(("writer", max_length))
            self.model = model

    def fake_train_and_score(writer, cfg, ctx, train, sources, refs, token_pairs, chrf=False):
        log.append(("train", train, sources, refs, token_pairs, chrf))
        return {"bleu4": 50.0}, ["g1", "g2"], ["b1", "b2"], None

    monkeypatch.setattr(seq2seq, "Writer", FakeWriter)
    monkeypatch.setattr(seq2seq, "train_and_score", fake_train_and_score)
    monkeypatch.setattr(plots, "close", lambda figure: log.append(("closed", figure)))

    class Reporter:
        def log_text(self, text, name):
            log.append(("text", name, text.splitlines()[0]))

        def log_figure(self, figure, name):
            log.append(("figure", name, figure))

    class Ctx:
        reporter, label = Reporter(), "toy"
        data = Seq2SeqData(("x", "y"), "tx", ["r1", "r2"], ("tx", "ty"), None, 5, ["s1", "s2"])

    class Toy(Seq2SeqExperiment):
        chrf = True

        def build(self, cfg, trial, data):
            log.append(("build", trial["cell"]))
            return FakeModel()

        def score(self, cfg, data, decoded):
            return {"own": len(decoded.greedy)}, {"kept": decoded.beam}

        def trial_figures(self, cfg, data, decoded, label):
            return {"a.png": f"{label} figure"}

    result = Toy().run_trial(None, {"cell": "gru", "seed": 7}, Ctx())
    assert list(result.metrics.items()) == [("bleu4", 50.0), ("own", 2), ("params", 42)]
    assert result.extras == {"kept": ["b1", "b2"]}
    assert log == [
        ("seed", 7),
        ("build", "gru"),
        ("writer", 5),
        ("train", ("x", "y"), "tx", ["r1", "r2"], ("tx", "ty"), True),
        ("text", "samples.md", "| source | reference | greedy | beam |"),
        ("figure", "a.png", "toy figure"),
        ("closed", "toy figure"),
    ]
