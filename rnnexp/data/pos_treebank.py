"""Part-of-speech tagged sentences: the Turkish Web Treebank of the `turkish-treebanks` package.

The package (Google Research, Apache-2.0) installs two CoNLL-U files, `web`
(forums, blogs) and `wiki` (Wikipedia), annotated with 14 coarse
part-of-speech tags (NOUN, VERB, ADJ, ..., the universal tagset of Petrov et
al. 2012 with ONOM and AFFIX). Tokens are the treebank's own: a word's
derivational parts (inflectional groups) are tokens of their own, each
tagged. We read the files directly: the package's reader imports protobuf
code generated in 2020 that current protobuf refuses. The split is the
package's: in each file, sentence `i` is train when `i % 10 < 8`, dev when
`i % 10 == 8` and test when `i % 10 == 9`.
"""

import collections
import dataclasses
from pathlib import Path

import numpy as np

from rnnexp.config import Positive, check
from rnnexp.data.card import DataCard, array_digest
from rnnexp.data.records import DataError, DataUnavailable

__all__ = [
    "PAD",
    "UNKNOWN",
    "Sentence",
    "TaggedCorpus",
    "TreebankData",
    "data_card",
    "encode",
    "load",
    "majority_baseline",
    "parse_conllu",
    "read_sections",
    "split_of",
]

SECTIONS = ("web", "wiki")
INSTALL_HINT = (
    "the part-of-speech data needs the turkish-treebanks package: pip install turkish-treebanks"
    " (or pip install -e .)"
)
PAD, UNKNOWN = 0, 1  # word ids; tag id 0 is padding too, real tags start at 1

Sentence = tuple[list[str], list[str]]  # (word forms, tags)


@dataclasses.dataclass(frozen=True)
class TreebankData:
    sections: tuple[str, ...] = SECTIONS
    # Words seen fewer times in training read as unknown: the model learns an unknown-word
    # embedding from the training words seen once, which it needs for the test set's new ones.
    min_count: Positive = 2
    # Sentences longer than this are tagged in consecutive pieces (every token is scored).
    max_length: int = 48

    def __post_init__(self):
        for section in self.sections:
            check(section in SECTIONS, "data.sections", self.sections, f"a subset of {SECTIONS}")
        check(len(self.sections) >= 1, "data.sections", self.sections, "at least one section")
        check(self.max_length >= 2, "data.max_length", self.max_length, "an integer >= 2")


def parse_conllu(text: str, where: str = "CoNLL-U") -> list[Sentence]:
    """`[(forms, tags), ...]` from CoNLL-U text: columns FORM and UPOS of every word line.

    Comment lines are skipped, and so are multiword ranges (`1-2`) and empty nodes (`1.1`).
    """
    sentences = []
    for block in text.split("\n\n"):
        forms, tags = [], []
        for line in block.strip().split("\n"):
            if not line or line.startswith("#"):
                continue
            columns = line.split("\t")
            if len(columns) != 10:
                raise DataError(f"{where}: a word line without 10 tab-separated columns: {line!r}")
            if not columns[0].isdigit():
                continue
            forms.append(columns[1])
            tags.append(columns[3])
        if forms:
            sentences.append((forms, tags))
    return sentences


def split_of(index: int) -> str:
    """The package's split of sentence `index` of a file."""
    return "train" if index % 10 < 8 else ("dev" if index % 10 == 8 else "test")


def _section_file(section: str) -> Path:
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution("turkish-treebanks")
    except importlib.metadata.PackageNotFoundError:
        raise DataUnavailable(INSTALL_HINT) from None
    path = Path(dist.locate_file(f"data/{section}.conllu"))
    if not path.is_file():
        raise DataUnavailable(f"turkish-treebanks is installed without {path}; reinstall it")
    return path


def read_sections(sections) -> dict[str, list[Sentence]]:
    """`{"train": [...], "dev": [...], "test": [...]}` over the package's files for `sections`."""
    splits: dict[str, list[Sentence]] = {"train": [], "dev": [], "test": []}
    for section in sections:
        path = _section_file(section)
        for index, sentence in enumerate(parse_conllu(path.read_text("utf-8"), str(path))):
            splits[split_of(index)].append(sentence)
    return splits


@dataclasses.dataclass
class TaggedCorpus:
    """Sentences as padded id arrays `(n, max_length)`: words (0 pad, 1 unknown), tags (0 pad)."""

    words: list[str]  # id 2 + k is words[k]
    tags: list[str]  # id 1 + k is tags[k]
    arrays: dict  # split -> (word ids, tag ids)
    sentences: dict  # split -> [(forms, tags)], as read
    label: str

    @property
    def vocab_size(self) -> int:
        return len(self.words) + 2

    @property
    def num_tags(self) -> int:
        return len(self.tags) + 1


def _normalize(form: str) -> str:
    return form.lower()


def _pieces(sentence: Sentence, max_length: int):
    forms, tags = sentence
    for start in range(0, len(forms), max_length):
        yield forms[start : start + max_length], tags[start : start + max_length]


def encode(splits: dict, cfg: TreebankData, label: str = "") -> TaggedCorpus:
    """Vocabulary from the training split, the tag set from all (it is the annotation scheme's);
    every split as padded id arrays."""
    counts = collections.Counter(_normalize(f) for forms, _ in splits["train"] for f in forms)
    words = sorted(w for w, n in counts.items() if n >= cfg.min_count)
    tags = sorted({t for sentences in splits.values() for _, ts in sentences for t in ts})
    word_id = {w: k + 2 for k, w in enumerate(words)}
    tag_id = {t: k + 1 for k, t in enumerate(tags)}
    arrays = {}
    for name, sentences in splits.items():
        pieces = [p for s in sentences for p in _pieces(s, cfg.max_length)]
        x = np.zeros((len(pieces), cfg.max_length), dtype="int32")
        y = np.zeros((len(pieces), cfg.max_length), dtype="int32")
        for row, (forms, ts) in enumerate(pieces):
            x[row, : len(forms)] = [word_id.get(_normalize(f), UNKNOWN) for f in forms]
            y[row, : len(ts)] = [tag_id[t] for t in ts]
        arrays[name] = (x, y)
    return TaggedCorpus(words, tags, arrays, splits, label)


def load(cfg: TreebankData) -> TaggedCorpus:
    label = "Turkish Web Treebank (turkish-treebanks): " + ", ".join(cfg.sections)
    return encode(read_sections(cfg.sections), cfg, label)


def majority_baseline(corpus: TaggedCorpus, split: str = "test") -> float:
    """Token accuracy of tagging each word with its most frequent training tag.

    Words not seen in training get the most frequent tag overall.
    """
    by_word: dict = collections.defaultdict(collections.Counter)
    overall: collections.Counter = collections.Counter()
    for forms, tags in corpus.sentences["train"]:
        for f, t in zip(forms, tags):
            by_word[_normalize(f)][t] += 1
            overall[t] += 1
    fallback = overall.most_common(1)[0][0]
    right = total = 0
    for forms, tags in corpus.sentences[split]:
        for f, t in zip(forms, tags):
            seen = by_word.get(_normalize(f))
            right += (seen.most_common(1)[0][0] if seen else fallback) == t
            total += 1
    return right / total


def data_card(corpus: TaggedCorpus) -> DataCard:
    return DataCard(
        "turkish-web-treebank-pos",
        corpus.label,
        True,
        {name: int((y > 0).sum()) for name, (_, y) in corpus.arrays.items()},
        array_digest(*[x for x, _ in corpus.arrays.values()]),
    )
