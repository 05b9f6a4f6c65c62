"""Model builders: parameter matching and shapes."""

import numpy as np
import pytest

from rnnexp.models import ClassifierConfig, build_classifier, matched_units, recurrent_params


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_recurrent_params_match_the_built_layer(cell):
    cfg = ClassifierConfig(units=12, embed_dim=5)
    model, _, body = build_classifier(cfg, cell, vocab_size=50, length=7)
    recurrent = body.get_layer("recurrent")
    assert recurrent.count_params() == recurrent_params(cell, 12, 5)


def test_parameter_matched_units_follow_chung_et_al():
    lstm = recurrent_params("lstm", 32, 16)
    for cell in ("rnn", "gru"):
        units = matched_units(cell, 32, 16)
        assert units > 32, "a cell with fewer gates gets more units"
        assert abs(recurrent_params(cell, units, 16) - lstm) / lstm < 0.05
    cfg = ClassifierConfig(units=32, embed_dim=16, match_params=True)
    counts = [
        build_classifier(cfg, c, 100, 9)[2].get_layer("recurrent").count_params()
        for c in ("rnn", "gru", "lstm")
    ]
    assert max(counts) / min(counts) < 1.05


def test_classifier_runs_on_token_windows():
    model, embed, body = build_classifier(ClassifierConfig(units=4, embed_dim=3), "gru", 20, 6)
    probs = np.asarray(model(np.ones((2, 6), dtype="int32")))
    assert probs.shape == (2, 1) and ((probs > 0) & (probs < 1)).all()
