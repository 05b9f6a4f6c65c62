"""char_lm: a character-level language model -- one-to-one text generation (study note 004).

Study note 004's one-to-one architecture: at every step the network reads one
character and predicts the next; to generate, the character it samples at
step t is fed back as the input of step t+1. Models: Embedding -> our
recurrent stack -> Dense(softmax) over the characters, trained on
fixed-length windows with next-character targets.

Data: real text. By default CPython's bundled `pydoc_data.topics` -- the
help pages of the Python Language Reference (~465,000 characters of English
prose with code; no download) -- or any UTF-8 file with `data.source=path
data.path=FILE` (e.g. tiny-shakespeare). The first 90% trains, the last 10%
tests.

Reported: test bits per character (cross-entropy / ln 2) for each cell,
against the best memoryless model (training character frequencies, the
"unigram" bpc), and samples at several temperatures (`samples.md` on each
trial; temperature 0.2 is near-greedy and repetitive, 1.0 samples the
model's own distribution).

    python -m rnnexp run char_lm
    python -m rnnexp run char_lm --profile ci --check

Measured results, and what each profile costs: `docs/experiments/char_lm.md` (generated).

Expected result (asserted by `--check`): every cell beats the unigram bpc
by at least `finding.min_gain_bits`. Which cell is best is reported, not
asserted: the gap between the cells shrinks or grows with the epochs.
"""

import dataclasses
from typing import Literal

import numpy as np

from rnnexp import console
from rnnexp.report import plots
from rnnexp.catalog import Check, Finding, TrialResult, group_mean, group_metric, register
from rnnexp.finding_cases import FindingCases, finished
from rnnexp.config import ConfigError, NonNegative, Positive, check
from rnnexp.data import text_corpus
from rnnexp.names import plain
from rnnexp.recipes.supervised import CellSweep, Split, SupervisedExperiment, grid
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class CharData:
    source: Literal["pydoc", "path"] = "pydoc"
    path: str = ""
    max_chars: NonNegative = 0  # use the first max_chars characters (0 = all)
    window: Positive = 100
    min_count: NonNegative = 5  # rarer characters share one "unknown" id
    test_fraction: float = 0.1

    def __post_init__(self):
        check(self.window >= 2, "data.window", self.window, "an integer >= 2")
        check(0 < self.test_fraction < 0.5, "data.test_fraction", self.test_fraction, "(0, 0.5)")


@dataclasses.dataclass(frozen=True)
class CharModel:
    units: Positive = 128
    embed_dim: Positive = 32
    depth: Positive = 1

    def __post_init__(self):
        check(self.units > 0, "model.units", self.units, "a positive integer")


@dataclasses.dataclass(frozen=True)
class Sampling:
    temperatures: tuple[float, ...] = (0.2, 0.5, 1.0)
    length: Positive = 300
    prompt: str = "The "

    def __post_init__(self):
        check(min(self.temperatures) > 0, "sample.temperatures", self.temperatures, "all > 0")


@dataclasses.dataclass(frozen=True)
class FindingThresholds:
    min_gain_bits: float = 1.5  # unigram bpc - model bpc, every cell


@dataclasses.dataclass(frozen=True)
class CharLMConfig:
    seed: int = 0
    data: CharData = CharData()
    model: CharModel = CharModel()
    train: TrainConfig = TrainConfig(epochs=10, batch_size=64, learning_rate=3e-3)
    sample: Sampling = Sampling()
    sweep: CellSweep = CellSweep()
    finding: FindingThresholds = FindingThresholds()


def build_char_model(cfg: CharModel, cell: str, vocab_size: int):
    import keras

    from rnnexp.layers import DeepRNN

    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(vocab_size, cfg.embed_dim)(tokens)
    h = DeepRNN(cell, cfg.units, depth=cfg.depth, return_sequences=True, name="recurrent")(h)
    probs = keras.layers.Dense(vocab_size, activation="softmax", name="next_char")(h)
    return keras.Model(tokens, probs, name=f"{cell}_char_lm")


def sample(model, vocab, prompt, temperatures, length, rng):
    """One text per temperature, sampled together (a batch), each step fed back."""
    ids = np.tile(vocab.encode(prompt), (len(temperatures), 1))
    temps = np.asarray(temperatures, dtype="float64")[:, None]
    context = 100  # characters of history each step re-reads
    for _ in range(length):
        probs = model.predict_on_batch(ids[:, -context:])[:, -1].astype("float64")
        logits = np.log(np.maximum(probs, 1e-12)) / temps
        logits[:, 0] = -np.inf  # never emit the unknown id
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        nxt = np.array([rng.choice(len(row), p=row) for row in p])
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
    return [vocab.decode(row) for row in ids]


@register
class CharLM(SupervisedExperiment):
    name = "char_lm"
    metric = "test_bpc"
    higher_is_better = False
    description = "character-level LM on real text (Python's bundled docs): bits/char, samples"
    shows = (
        "one-to-one character LM on real text: CPython's bundled `pydoc_data` reference pages (or "
        "any UTF-8 file); bits per character, samples at three temperatures"
    )
    config = CharLMConfig()
    profiles = {
        "ci": {"data.max_chars": 200000, "train.epochs": 15, "model.units": 96},
        "full": {"sweep.seeds": 3, "train.epochs": 30, "model.units": 256, "model.depth": 2},
    }

    def trials(self, cfg):
        return grid(cfg.seed, cfg.sweep.seeds, cell=cfg.sweep.cells)

    def data_source(self, cfg, data=None):
        return "pydoc" if cfg.data.source == "pydoc" else "file"

    def prepare(self, cfg):
        text, label = text_corpus.load_text(cfg.data.source, cfg.data.path)
        if cfg.data.max_chars:
            text = text[: cfg.data.max_chars]
        split = int(len(text) * (1 - cfg.data.test_fraction))
        shortest = min(split, len(text) - split)  # each split must hold one window + target
        if cfg.data.window + 1 >= shortest:
            raise ConfigError(
                f"invalid value for data.window: {cfg.data.window} (allowed: < {shortest - 1}, "
                f"the shorter split of {label} has {shortest:,} characters)"
            )
        vocab = text_corpus.CharVocab.fit(text[:split], cfg.data.min_count)
        corpus = text_corpus.CharCorpus(
            vocab.encode(text[:split]), vocab.encode(text[split:]), vocab, label
        )
        console.say(
            f"data: {label}, {len(text):,} characters ({len(corpus.train):,} train, "
            f"{len(corpus.test):,} test), {vocab.size} symbols"
        )
        return corpus

    def split(self, cfg, trial, ctx):
        corpus = ctx.data
        x_tr, y_tr = text_corpus.windows(corpus.train, cfg.data.window)
        x_te, y_te = text_corpus.windows(corpus.test, cfg.data.window)
        ctx.reporter.set_tags({"data.description": corpus.label})
        # validates on the test text
        return Split(x_tr, y_tr, x_te, y_te, extras={"vocab_size": corpus.vocab.size})

    def build(self, cfg, trial, split):
        return build_char_model(cfg.model, trial["cell"], split.extras["vocab_size"])

    def score(self, cfg, trial, fitted, split, ctx):
        corpus, model = ctx.data, fitted.model
        test_nats = float(model.evaluate(split.x_val, split.y_val, verbose=0, batch_size=256))
        unigram = text_corpus.unigram_bits(corpus.train, corpus.test, corpus.vocab.size)
        texts = sample(
            model,
            corpus.vocab,
            cfg.sample.prompt,
            cfg.sample.temperatures,
            cfg.sample.length,
            np.random.default_rng(trial["seed"]),
        )
        ctx.reporter.log_text(
            "\n\n".join(
                f"## temperature {t}\n\n```\n{s}\n```"
                for t, s in zip(cfg.sample.temperatures, texts)
            )
            + "\n",
            "samples.md",
        )
        bpc = text_corpus.bits(test_nats)
        return TrialResult(
            trial,
            metrics={
                "test_bpc": bpc,
                "unigram_bpc": unigram,
                "gain_bits": unigram - bpc,
                "params": int(model.count_params()),
            },
            extras={
                "val_bpc": [text_corpus.bits(v) for v in fitted.history.history["val_loss"]],
                "samples": dict(zip(map(str, cfg.sample.temperatures), texts)),
            },
        )

    def answer_figure(self, cfg, results):
        """Test bits per character by cell, each cell's distance below the unigram model
        in its legend | validation bits per character by epoch, sharing y."""
        bpc = group_metric(results, "test_bpc", ("cell",))
        unigram = next((r.metrics["unigram_bpc"] for r in results if r.status == "FINISHED"), None)
        fig, axes = plots.answer_panels(
            ["test bits per character by cell", "test bits per character by epoch"],
            title="char_lm: does every cell learn more than letter frequencies?",
            note=plots.seed_note([len(v) for v in bpc.values()])
            + "; legend: bits below the unigram model",
        )
        series = {}
        for (cell,), values in bpc.items():
            below = f": {plots.interval_text([unigram - v for v in values])} bits below unigram"
            series[plain(cell) + (below if unigram is not None else "")] = {cell: values}
        order = {c: i for i, c in enumerate(cfg.sweep.cells)}
        plots.interval_lines(axes[0], series, positions=order, dodge=False)
        plots.reference_line(axes[0], unigram, "unigram (no memory)")
        axes[0].set(xlabel="cell", ylabel="bits per character (lower is better)")
        plots.mean_curves(axes[1], plots.curves_by(results, "val_bpc", lambda t: plain(t["cell"])))
        plots.reference_line(axes[1], unigram, "unigram (no memory)")
        axes[1].set(xlabel="epoch")
        return plots.finish(fig, axes)

    def summarize(self, cfg, results, out_dir):
        finished = [r for r in results if r.status == "FINISHED"]
        unigram = finished[0].metrics["unigram_bpc"] if finished else None
        paths = plots.mean_curves_figure(
            results,
            "val_bpc",
            lambda t: plain(t["cell"]),
            out_dir / "bpc_by_epoch.png",
            title="char_lm: test bits per character",
            xlabel="epoch",
            ylabel="test bits per character",
            hline=unigram,
            hline_label="unigram (no memory)",
        )
        samples = out_dir / "samples.md"
        samples.write_text(
            "\n".join(
                f"# {plain(r.trial['cell'])} seed {r.trial['seed']} "
                f"({r.metrics['test_bpc']:.2f} bpc)\n\n"
                + "\n".join(f"T={t}:\n```\n{s}\n```\n" for t, s in r.extras["samples"].items())
                for r in finished
            )
        )
        return paths + [samples]

    def finding(self, cfg, results):
        f = cfg.finding
        bpc = group_mean(results, "test_bpc", "cell")
        if missing := Finding.require(bpc):
            return missing
        unigram = next(r.metrics["unigram_bpc"] for r in results if r.status == "FINISHED")
        worst = max(bpc, key=bpc.get)
        checks = [
            Check("unigram - worst cell bits per char", unigram - bpc[worst], ">=", f.min_gain_bits)
        ]
        detail = f"test bpc (worst: {worst}): unigram {unigram:.3f}, " + ", ".join(
            f"{c} {v:.3f}" for c, v in sorted(bpc.items())
        )
        return Finding.from_checks(detail, checks, {f"bpc_{c}": v for c, v in bpc.items()})

    def finding_cases(self):
        return FindingCases(
            passing=lambda cfg: synthetic_results([2.6, 2.4, 2.8]),
            failing=lambda cfg: synthetic_results([2.0, 2.5, 3.6]),  # the LSTM gains 1.4 bits
            at_margin=(lambda cfg: synthetic_results([2.0, 2.5, 5.0 - cfg.finding.min_gain_bits]),),
        )


# -- synthetic results its finding is tested with (rnnexp.finding_cases) ----------


def synthetic_results(bpcs, unigram=5.0):
    """Test bits/char of the SimpleRNN, GRU and LSTM, against a `unigram` model."""
    return [
        finished({"test_bpc": b, "unigram_bpc": unigram}, cell=c)
        for c, b in zip(("rnn", "gru", "lstm"), bpcs)
    ]
