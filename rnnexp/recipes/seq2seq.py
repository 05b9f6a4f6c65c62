"""The sequence-to-sequence recipe: one encoder-decoder per trial writes text, and is scored on it.

- `Seq2SeqData`: what every trial trains on and writes, prepared once
  (`from_texts`; `from_pairs` where the inputs are text too).
- `Decoded`: what a trial's model wrote for the test inputs.
- `Seq2SeqExperiment`: seed, build, train with teacher forcing, write greedily
  and with the beam, score, log samples; a subclass gives its data, its model
  and its own scores and figures.

Captioning (one image in, a sentence out) and translation (a sentence in,
another out) differ in their encoder and their data, not in this loop. Like
the experiments, importing this module imports no framework.
"""

import dataclasses
from pathlib import Path
from typing import Any

from rnnexp.catalog import Experiment
from rnnexp.data.vocab import Vocabulary, pad_batch
from rnnexp.recipes.generation import Writer, samples_table, train_and_score
from rnnexp.results import TrialResult

__all__ = ["Decoded", "Seq2SeqData", "Seq2SeqExperiment"]


@dataclasses.dataclass
class Seq2SeqData:
    """What every trial trains on and writes: `Seq2SeqExperiment.prepare` returns it."""

    train: tuple  # (inputs, encoded target texts): what the model is taught
    test_inputs: Any
    test_refs: list  # per test input: its reference text, or a list of them
    token_pairs: tuple  # (inputs, encoded targets), one row per reference: token accuracy
    vocab: Vocabulary  # the target side's: its start and end ids, and decoding
    max_length: int  # decoding steps, the end token included
    test_sources: list[str] | None = None  # the test inputs as text, where they are text
    extras: dict = dataclasses.field(default_factory=dict)  # what else `build`, `score` read

    @classmethod
    def from_texts(cls, train, test, vocab_size: int, **fields) -> "Seq2SeqData":
        """The target texts encoded with a vocabulary of the training texts.

        Args:
            train: `(inputs, texts)`, one target text per input.
            test: `(inputs, refs)`, per input its reference text or a list of them.
            vocab_size: the target vocabulary's size, specials included.
            fields: `test_sources`, `extras`.
        """
        inputs, texts = train
        test_inputs, refs = test
        vocab = Vocabulary.from_texts(texts, vocab_size)
        every_ref = [
            (i, r) for i, rs in enumerate(refs) for r in ([rs] if isinstance(rs, str) else rs)
        ]
        longest = max(len(t.split()) for t in [*texts, *(r for _, r in every_ref)])
        return cls(
            train=(inputs, [vocab.encode(t) for t in texts]),
            test_inputs=test_inputs,
            test_refs=refs,
            token_pairs=(
                test_inputs[[i for i, _ in every_ref]],
                [vocab.encode(r) for _, r in every_ref],
            ),
            vocab=vocab,
            max_length=longest + 1,
            **fields,
        )

    @classmethod
    def from_pairs(cls, train, test, vocab_size: int) -> "Seq2SeqData":
        """Text to text: `from_texts` with the sources encoded too, by their own vocabulary.

        Args:
            train, test: `[(source text, target text), ...]`.
            vocab_size: each side's vocabulary size, specials included.

        Returns:
            The data, with `test_sources` and `extras["source_vocab"]`.
        """
        source_vocab = Vocabulary.from_texts([s for s, _ in train], vocab_size)

        def source_ids(pairs):
            return pad_batch([source_vocab.encode(s) for s, _ in pairs])

        return cls.from_texts(
            (source_ids(train), [t for _, t in train]),
            (source_ids(test), [t for _, t in test]),
            vocab_size,
            test_sources=[s for s, _ in test],
            extras={"source_vocab": source_vocab},
        )


@dataclasses.dataclass
class Decoded:
    """The test inputs' texts as the trained model wrote them."""

    greedy: list[str]
    beam: list[str]  # the greedy texts again where `decode.beam_width` is 1
    attention: Any = None  # the greedy pass's attention maps, where the model attends


class Seq2SeqExperiment(Experiment):
    """A trial trains one encoder-decoder and scores the text it writes.

    `run_trial` seeds Python, NumPy and the backend with `trial["seed"]`, builds
    the model, trains it with teacher forcing on `data.train` (greedy BLEU-4 on
    the first `cfg.decode.eval_size` test inputs after every epoch), writes every
    test input greedily and, with `cfg.decode.beam_width` > 1, with the beam, and
    scores both against `data.test_refs` (`rnnexp.recipes.generation`). It logs the
    first samples (`samples.md`), then the subclass's figures. A subclass gives:

    - `prepare(cfg) -> Seq2SeqData`
    - `build(cfg, trial, data) -> rnnexp.seq2seq.Seq2Seq`
    - `answer_figure(cfg, results)`, saved as `answer_file` in the parent's summary

    and may set `chrf` (score chrF too) and `data_sources` (`cfg.data.source` -> the
    label its runs are tagged with), or override `score(cfg, data, decoded)`
    (its own metrics and the trial's extras) and `trial_figures(cfg, data,
    decoded, label)`.
    """

    metric = "bleu4"
    answer_file: str = ""  # the answer figure's file name, e.g. "bleu4_by_cell.png"
    chrf: bool = False
    data_sources: dict = {}  # `cfg.data.source` -> what the run's records name its data

    def data_source(self, cfg, data=None):
        if not self.data_sources:
            return super().data_source(cfg, data)
        return self.data_sources[cfg.data.source]

    def build(self, cfg, trial: dict, data: Seq2SeqData):
        raise NotImplementedError

    def score(self, cfg, data: Seq2SeqData, decoded: Decoded) -> tuple[dict, dict]:
        """Metrics of its own (logged after the shared ones) and the trial's extras."""
        return {}, {}

    def trial_figures(self, cfg, data: Seq2SeqData, decoded: Decoded, label: str) -> dict:
        """`{file name: figure}` logged on the trial's run; none by default."""
        return {}

    def run_trial(self, cfg, trial, ctx):
        from rnnexp.report import plots
        from rnnexp.training import set_seed

        data: Seq2SeqData = ctx.data
        set_seed(trial["seed"])
        writer = Writer(self.build(cfg, trial, data), data.vocab, data.max_length)
        metrics, greedy, beam, attention = train_and_score(
            writer,
            cfg,
            ctx,
            data.train,
            data.test_inputs,
            data.test_refs,
            data.token_pairs,
            chrf=self.chrf,
        )
        decoded = Decoded(greedy, beam, attention)
        own, extras = self.score(cfg, data, decoded)
        metrics.update(own)
        metrics["params"] = int(writer.model.train.count_params())

        sources = {} if data.test_sources is None else {"source": data.test_sources}
        table = {**sources, "reference": data.test_refs, "greedy": greedy, "beam": beam}
        ctx.reporter.log_text(samples_table(table), "samples.md")
        for name, figure in self.trial_figures(cfg, data, decoded, ctx.label).items():
            ctx.reporter.log_figure(figure, name)
            plots.close(figure)  # a sweep's trials would otherwise keep every figure open
        return TrialResult(trial, metrics=metrics, extras=extras)

    def summarize(self, cfg, results, out_dir: Path) -> list[Path]:
        from rnnexp.report import plots

        if not any(r.status == "FINISHED" for r in results):
            return []
        return [plots.save(self.answer_figure(cfg, results), out_dir / self.answer_file)]
