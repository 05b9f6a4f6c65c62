"""Train an encoder-decoder with teacher forcing and score the text it writes.

Shared by the one-to-many (captioning) and many-to-many (translation)
experiments: the model differs, the loop does not. Generated text is scored
against references with `rnnexp.text_metrics`.
"""

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from rnnexp import text_metrics
from rnnexp.config import Positive
from rnnexp.decoding import beam_search, greedy_decode
from rnnexp.training import fit

if TYPE_CHECKING:  # Keras-only module: imported where models train
    from rnnexp.seq2seq import Seq2Seq

__all__ = ["DecodeConfig", "Writer", "samples_table"]


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How a trial writes its outputs at test time.

    `beam_width` 1 means greedy only; above 1, beam search is scored too.
    `eval_size`: held-out inputs decoded greedily after every epoch.
    """

    beam_width: Positive = 4
    length_penalty: float = 0.0
    eval_size: Positive = 300


class Writer:
    """A `Seq2Seq` with its output vocabulary and longest output.

    Args:
        model: the three views of the encoder-decoder.
        vocab: the output `Vocabulary` (start/end ids).
        max_length: decoding steps, the end token included.
    """

    def __init__(self, model: "Seq2Seq", vocab, max_length: int):
        self.model, self.vocab, self.max_length = model, vocab, max_length

    def write(self, sources, beam_width=1, length_penalty=0.0):
        """Decoded texts (greedy for `beam_width=1`) and attention maps or None."""
        args = dict(start=self.vocab.start, end=self.vocab.end, max_length=self.max_length)
        if beam_width == 1:
            ids, weights = greedy_decode(self.model, sources, **args)
        else:
            ids = beam_search(
                self.model, sources, beam_width=beam_width, length_penalty=length_penalty, **args
            )
            weights = None
        return [self.vocab.decode(row) for row in ids], weights

    def train(self, sources, targets, train_cfg, *, reporter, label, eval_sources, eval_refs):
        """Teacher-forced training; greedy BLEU-4 on `eval_*` after every epoch.

        Args:
            targets: output id lists (no start/end) aligned with `sources`.
            eval_refs: reference text(s) per eval source (a str or a list).
        """
        from rnnexp.callbacks import EvaluateEachEpoch
        from rnnexp.seq2seq import compile_for_training, teacher_forcing

        compile_for_training(self.model, train_cfg.learning_rate, train_cfg.clipnorm)
        dec_in, dec_out = teacher_forcing(targets, self.vocab.start, self.vocab.end)

        def per_epoch():
            hyp, _ = self.write(eval_sources)
            return {
                "val_bleu4": text_metrics.bleu(hyp, eval_refs),
                "val_exact_match": text_metrics.exact_match(hyp, eval_refs),
            }

        return fit(
            self.model.train,
            (sources, dec_in),
            dec_out,
            epochs=train_cfg.epochs,
            batch_size=train_cfg.batch_size,
            reporter=reporter,
            label=label,
            callbacks=[EvaluateEachEpoch(per_epoch)],
        )

    def token_accuracy(self, sources, targets) -> float:
        """Teacher-forced next-token accuracy (end token included, padding not)."""
        from rnnexp.seq2seq import teacher_forcing

        dec_in, dec_out = teacher_forcing(targets, self.vocab.start, self.vocab.end)
        logits = self.model.train.predict([sources, dec_in], verbose=0, batch_size=256)
        return text_metrics.token_accuracy(np.argmax(logits, -1), dec_out)


def train_and_score(writer: Writer, cfg, ctx, train, sources, refs, token_pairs, chrf=False):
    """Train `writer` on `train` (sources, encoded targets), then write every test source
    greedily and, when `cfg.decode.beam_width` > 1, with the beam; score both.

    `token_pairs` (sources, encoded targets) is what teacher-forced token accuracy reads.
    Returns `(metrics, greedy texts, beam texts, greedy attention weights or None)`.
    """
    n_eval = min(cfg.decode.eval_size, len(sources))
    writer.train(
        *train,
        cfg.train,
        reporter=ctx.reporter,
        label=ctx.label,
        eval_sources=sources[:n_eval],
        eval_refs=refs[:n_eval],
    )
    greedy, weights = writer.write(sources)
    metrics = text_metrics.score_texts(greedy, refs, chrf_score=chrf)
    metrics["token_accuracy"] = writer.token_accuracy(*token_pairs)
    beam = greedy
    if cfg.decode.beam_width > 1:
        beam, _ = writer.write(sources, cfg.decode.beam_width, cfg.decode.length_penalty)
        metrics["beam_bleu4"] = text_metrics.bleu(beam, refs)
        metrics["beam_exact_match"] = text_metrics.exact_match(beam, refs)
    return metrics, greedy, beam, weights


def samples_table(columns: dict[str, list], limit=25) -> str:
    """A markdown table of the first `limit` rows of equally long columns."""
    names = list(columns)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in list(zip(*columns.values()))[:limit]:
        cells = [" / ".join(v) if isinstance(v, (list, tuple)) else str(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
