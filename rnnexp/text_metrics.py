"""Scores of generated text against references: BLEU-1..4, chrF, exact match.

BLEU and chrF come from sacrebleu (the reference implementation papers report,
so numbers are comparable); our texts are already tokenized and standardized,
so sacrebleu's own tokenizer is switched off (`tokenize="none"`). Scores are
on sacrebleu's 0-100 scale.
"""

import numpy as np

__all__ = ["bleu", "chrf", "exact_match", "score_texts", "token_accuracy"]


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


def _reference_streams(references):
    """sacrebleu wants `[stream_1, stream_2, ...]`, each one reference per sentence."""
    references = [r if isinstance(r, (list, tuple)) else [r] for r in references]
    width = max((len(r) for r in references), default=1)
    # Pad ragged reference sets by repeating the first reference (no new n-grams).
    return [[r[k] if k < len(r) else r[0] for r in references] for k in range(width)]
