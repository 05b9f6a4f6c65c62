"""Scores of generated text against references: BLEU-1..4, chrF, exact match.

BLEU and chrF come from sacrebleu (the reference implementation papers report,
so numbers are comparable); our texts are already tokenized and standardized,
so sacrebleu's own tokenizer is switched off (`tokenize="none"`). Scores are
on sacrebleu's 0-100 scale. `copy_baselines` scores two captioners that only
copy a training caption: the bar a captioning decoder must clear.
"""

import collections

import numpy as np

__all__ = [
    "bleu",
    "bleu_by_length",
    "bleu_error",
    "chrf",
    "copy_baselines",
    "exact_match",
    "score_texts",
    "token_accuracy",
]


def bleu(hypotheses, references, max_order: int = 4) -> float:
    """Corpus BLEU-n (cumulative: geometric mean of 1..n-gram precisions).

    Args:
        references: one reference string per hypothesis, or a list of
            reference strings per hypothesis (e.g. five captions per image).
    """
    refs = _reference_streams(references)
    from sacrebleu.metrics import BLEU  # imported when text is scored, not when declared

    metric = BLEU(max_ngram_order=max_order, tokenize="none")
    return float(metric.corpus_score(list(hypotheses), refs).score)


def chrf(hypotheses, references) -> float:
    from sacrebleu.metrics import CHRF

    return float(CHRF().corpus_score(list(hypotheses), _reference_streams(references)).score)


def exact_match(hypotheses, references) -> float:
    """Share of hypotheses equal to (one of) their reference(s)."""
    hits = [
        h in (r if isinstance(r, (list, tuple)) else [r]) for h, r in zip(hypotheses, references)
    ]
    return float(np.mean(hits)) if hits else 0.0


def token_accuracy(predicted_ids, target_ids, pad: int = 0) -> float:
    """Teacher-forced next-token accuracy over non-padding targets."""
    predicted_ids, target_ids = np.asarray(predicted_ids), np.asarray(target_ids)
    keep = target_ids != pad
    return float((predicted_ids[keep] == target_ids[keep]).mean()) if keep.any() else 0.0


def score_texts(hypotheses, references, *, chrf_score=False) -> dict[str, float]:
    """`bleu1..bleu4`, `exact_match` (and `chrf`) in one dict."""
    out = {f"bleu{n}": bleu(hypotheses, references, n) for n in (1, 2, 3, 4)}
    out["exact_match"] = exact_match(hypotheses, references)
    if chrf_score:
        out["chrf"] = chrf(hypotheses, references)
    return out


def bleu_by_length(sources, references, hypotheses, edges):
    """BLEU-4 grouped by source length in words: `{"1_4": ..., "13_up": ...}`."""
    lengths = np.array([len(s.split()) for s in sources])
    out = {}
    for lo, hi in zip(edges, list(edges[1:]) + [None]):
        name = f"{lo}_up" if hi is None else f"{lo}_{hi - 1}"
        keep = np.flatnonzero((lengths >= lo) & ((lengths < hi) if hi else True))
        if len(keep):
            hyp = [hypotheses[i] for i in keep]
            out[name] = bleu(hyp, [references[i] for i in keep])
    return out


def bleu_error(scores) -> float:
    """Mean of 100 - BLEU, each clipped at 0: BLEU can round to a hair above 100 ("error -0.00")."""
    return np.mean([max(0.0, 100.0 - b) for b in scores])


def copy_baselines(train, test) -> dict:
    """Scores of two decoder-free captioners on the test images.

    `frequent`: the training set's most frequent caption for every image.
    `nearest`: the caption of the closest training image in pixel space
    (Devlin et al. 2015's nearest-neighbour captioner, without a CNN).

    Args:
        train: `(images, captions)`, one caption per image.
        test: `(images, references)`, per image a list of reference captions.
    """
    (train_images, train_captions), (test_images, test_refs) = train, test
    frequent = collections.Counter(train_captions).most_common(1)[0][0]
    flat_train = train_images.reshape(len(train_images), -1)
    flat_test = test_images.reshape(len(test_images), -1)
    distances = (
        (flat_test**2).sum(1)[:, None] - 2 * flat_test @ flat_train.T + (flat_train**2).sum(1)
    )
    nearest = [train_captions[i] for i in np.argmin(distances, axis=1)]
    return {
        "frequent": score_texts([frequent] * len(test_refs), test_refs),
        "nearest": score_texts(nearest, test_refs),
    }


def _reference_streams(references):
    """sacrebleu wants `[stream_1, stream_2, ...]`, each one reference per sentence."""
    references = [r if isinstance(r, (list, tuple)) else [r] for r in references]
    width = max((len(r) for r in references), default=1)
    # Pad ragged reference sets by repeating the first reference (no new n-grams).
    return [[r[k] if k < len(r) else r[0] for r in references] for k in range(width)]
