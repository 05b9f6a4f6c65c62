"""Plain names for what a person reads: figures, tables, run names and cards say them so.

Config keeps its short spellings (`rnn`, `bow`, `pre`); everything shown to a person goes through
`plain(value)`, so a legend reads "SimpleRNN", not `rnn`. Unknown values pass through unchanged.
"""

import re

__all__ = ["PLAIN", "plain", "plain_label"]

PLAIN: dict[str, str] = {
    # cells and architectures
    "rnn": "SimpleRNN",
    "gru": "GRU",
    "lstm": "LSTM",
    "rnn_relu": "ReLU SimpleRNN",
    "irnn": "IRNN (ReLU, identity init)",
    "bow": "bag of embeddings (order-free)",
    # directions and stacks
    "uni": "left-to-right",
    "bi": "bidirectional",
    "uni1": "1 layer, left-to-right",
    "uni2": "2 layers, left-to-right",
    "bi1": "1 layer, bidirectional",
    "bi2": "2 layers, bidirectional",
    # IMDB truncation: which part of a long review is kept
    "pre": "keep the end (pre-truncation)",
    "post": "keep the start (post-truncation)",
    # clipping and attention
    "none": "none",
    "per_tensor": "per-tensor clipping",
    "global": "global-norm clipping",
    "luong": "Luong attention",
    "bahdanau": "Bahdanau attention",
    # metrics and trial parameters, where a figure names them
    "test_accuracy": "test accuracy",
    "val_accuracy": "validation accuracy",
    "loss_ratio": "test loss / baseline",
    "test_loss_ratio": "test loss / baseline",
    "bleu4": "BLEU-4",
    "test_bpc": "bits per character",
    "test_nll": "test NLL per frame",
    "valid_perplexity": "validation perplexity",
    "mae_vs_naive": "MAE / naive forecast's",
    "ratio_trained": "||dL/dh_1|| / ||dL/dh_T|| after training",
    "length": "sequence length",
    "arch": "architecture",
    "clip": "gradient clipping",
    # MNIST-1D: the paper's baselines and the order of a sequence's positions
    "cnn": "CNN",
    "mlp": "MLP",
    "logistic": "logistic regression",
    "plain": "positions in order",
    "shuffled": "positions shuffled",
    # data sources
    "path": "a local copy",
    "synthetic": "synthetic stand-in",
    "imdb": "IMDB",
    "imdb-standin": "synthetic stand-in (not IMDB)",
    "generated": "generated data",
    "file": "a local text file",
    "folder": "a local folder",
    "pydoc": "Python's bundled docs",
    "sklearn-digits": "scikit-learn's digits",
    "num2words": "num2words number pairs",
}


def plain(value) -> str:
    """The plain name of a config value (`"rnn"` -> `"SimpleRNN"`); other values as `str(value)`."""
    return PLAIN.get(value, str(value)) if isinstance(value, str) else str(value)


# Config spellings of models inside a check label or claim ("best of gru/lstm loss/baseline",
# "rnn: best deeper stack", "lstm-uni1 accuracy", "lstm bi1-uni1 gain"). Records keep the label
# as their stable key; whatever a person reads renders it with `plain_label`. In a label "bow" is
# the bag of embeddings without the parenthesis `plain` adds (labels are already long), and a
# stack says its direction first ("bidirectional 2-layer"), as a person would.
_LABEL_WORDS = {
    "bow": "bag of embeddings",
    "uni": "unidirectional",
    "bi": "bidirectional",
    "uni1": "unidirectional 1-layer",
    "uni2": "unidirectional 2-layer",
    "bi1": "bidirectional 1-layer",
    "bi2": "bidirectional 2-layer",
}
_MODEL_WORDS = ("rnn_relu", "irnn", "rnn", "gru", "lstm", "bow")
_CELL = r"(rnn|gru|lstm)"
_STACK = r"((?:uni|bi)[12])"
_WORD = re.compile(r"(?<![\w.])(" + "|".join(_MODEL_WORDS) + r")(?!\w)")
# a direction or stack standing alone ("bi - uni"), not one glued to a name ("rnn-bi")
_STACK_WORD = re.compile(r"(?<![\w.-])((?:uni|bi)[12]?)(?![\w-])")
# "lstm-uni1" -> "unidirectional 1-layer LSTM"; "bi1-uni1" -> "bi1 - uni1" (a difference)
_CELL_STACK = re.compile(r"(?<![\w.])" + _CELL + "-" + _STACK + r"(?!\w)")
_STACK_MINUS = re.compile(r"(?<![\w.])" + _STACK + "-" + _STACK + r"(?!\w)")


def _word(match) -> str:
    word = match.group(1)
    return _LABEL_WORDS.get(word) or plain(word)


def plain_label(text: str) -> str:
    """`text` with the config spellings of models said plainly ("rnn gain" -> "SimpleRNN gain",
    "lstm-uni1 accuracy" -> "unidirectional 1-layer LSTM accuracy")."""
    text = _CELL_STACK.sub(lambda m: f"{m.group(2)} {m.group(1)}", str(text))
    text = _STACK_MINUS.sub(lambda m: f"{m.group(1)} - {m.group(2)}", text)
    return _WORD.sub(_word, _STACK_WORD.sub(_word, text))
