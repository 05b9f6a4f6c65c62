"""Named recurrent architectures: one registry of small diffs from a base cell and stack.

As fairseq's named architectures, a preset names what differs from the plain
model: a cell's activation and initializer (`irnn`: ReLU with an identity
recurrent matrix, Le et al. 2015), or a stack's direction and depth (`bi2`:
bidirectional, two layers, the keras-io IMDB model). Experiments sweep preset
names (`sweep.archs`, `sweep.variants`); builders look them up here, so a name
means the same model everywhere. Registering a name twice raises; an unknown
name lists the known ones.
"""

import dataclasses
from typing import Literal

__all__ = [
    "ARCHS",
    "Arch",
    "IMPLS",
    "Preset",
    "STACKS",
    "Stack",
    "get",
    "register",
]


#: Who implements a recurrent layer: our cells, or Keras's built-ins (the vendor
#: fast path: cuDNN for LSTM/GRU on a GPU). Same weight layouts, same arguments.
IMPLS = ("rnnexp", "keras")


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named diff from the plain model.

    Attributes:
        cell: the cell it runs (`"rnn"`, `"gru"` or `"lstm"`), or None: the trial's.
        layer_kwargs: options for every recurrent layer (activation, initializers).
        bidirectional: read both ways, or None: as the config says.
        depth: stacked layers, or None: as the config says.
    """

    cell: str | None = None
    layer_kwargs: tuple[tuple[str, str], ...] = ()  # (option, value) pairs, frozen
    bidirectional: bool | None = None
    depth: int | None = None

    def kwargs(self) -> dict:
        """A fresh, mutable copy of `layer_kwargs`."""
        return dict(self.layer_kwargs)


_PRESETS: dict[str, Preset] = {}


def register(name: str, **fields) -> Preset:
    """Add the preset `name`; a second use of a name raises."""
    if name in _PRESETS:
        raise ValueError(f"preset {name!r} is already registered")
    if "layer_kwargs" in fields:
        fields["layer_kwargs"] = tuple(dict(fields["layer_kwargs"]).items())
    _PRESETS[name] = Preset(**fields)
    return _PRESETS[name]


def get(name: str) -> Preset:
    """The preset `name`; an unknown name lists the known ones."""
    if name not in _PRESETS:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(_PRESETS)}")
    return _PRESETS[name]


# Cells, and the SimpleRNN variants of Le et al. (2015).
register("rnn", cell="rnn")
register("rnn_relu", cell="rnn", layer_kwargs={"activation": "relu"})
register(
    "irnn", cell="rnn", layer_kwargs={"activation": "relu", "recurrent_initializer": "identity"}
)
register("gru", cell="gru")
register("lstm", cell="lstm")
Arch = Literal["rnn", "rnn_relu", "irnn", "gru", "lstm"]
ARCHS: tuple[Arch, ...] = ("rnn", "rnn_relu", "irnn", "gru", "lstm")

# Stack shapes: direction and depth, any cell (sentiment's variants).
register("uni1", bidirectional=False, depth=1)
register("uni2", bidirectional=False, depth=2)
register("bi1", bidirectional=True, depth=1)
register("bi2", bidirectional=True, depth=2)
Stack = Literal["uni1", "uni2", "bi1", "bi2"]
STACKS: tuple[Stack, ...] = ("uni1", "uni2", "bi1", "bi2")
