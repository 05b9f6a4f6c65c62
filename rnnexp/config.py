"""Typed experiment configs: frozen dataclasses, dotted overrides, validation.

An experiment's config is a tree of frozen dataclasses whose defaults are owned
by each component (`ImdbDataConfig`, `ClassifierConfig`, `TrainConfig`, ...).
Profiles and the CLI's `--set key=value` are both *dotted overrides* applied by
`apply_overrides`, which refuses unknown keys (suggesting the closest), wrong
types and values outside a `Literal[...]`'s choices, each with a one-line
message. Range checks live in each dataclass's `__post_init__` and raise
`ConfigError` too.
"""

import ast
import contextlib
import dataclasses
import difflib
import math
import types
import typing
from typing import Annotated, Any, Literal, Union

__all__ = [
    "AtLeast",
    "ConfigError",
    "NonNegative",
    "Positive",
    "apply_overrides",
    "as_config_error",
    "check",
    "check_common",
    "flatten",
    "parse_assignment",
    "to_dict",
]

# NumPy takes seeds below 2**32; a sweep's trials use seed, seed + 1, ...: room for them.
MAX_SEED = 2**31 - 1
# No config value needs more (and NumPy, TensorFlow and JSON all stop at 64 bits).
MAX_INT = 2**63 - 1


class ConfigError(ValueError):
    """A bad config key or value; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class AtLeast:
    """A field's lowest allowed value, checked by `check_common` with the field's dotted key."""

    low: int


# A count: zero or less never means anything useful (train_size=0 would train nothing yet
# finish "successfully").
Positive = Annotated[int, AtLeast(1)]
# A limit or minimum where 0 means "no limit" or "keep all": never negative.
NonNegative = Annotated[int, AtLeast(0)]


def _lowest(annotation) -> AtLeast | None:
    extras = getattr(annotation, "__metadata__", ())
    return next((e for e in extras if isinstance(e, AtLeast)), None)


def check(condition, key, value, allowed):
    """Raise `ConfigError` naming `key`, `value` and what is `allowed`."""
    if not condition:
        raise ConfigError(f"invalid value for {key}: {value!r} (allowed: {allowed})")


@contextlib.contextmanager
def as_config_error():
    """A `ValueError` raised inside (e.g. num2words' for an unknown language) as a `ConfigError`."""
    try:
        yield
    except ValueError as err:
        raise ConfigError(str(err)) from err


def check_common(cfg, prefix=""):
    """Checks every experiment shares, on a resolved config tree.

    Seeds are >= 0 (NumPy refuses negative ones, so every trial would fail),
    fields typed `Positive` are >= 1 and `NonNegative` >= 0, and a sweep grid
    lists each value once (a duplicate would run, record and average the same
    trial twice).
    """
    hints = typing.get_type_hints(type(cfg), include_extras=True)
    for field in dataclasses.fields(cfg):
        value, key = getattr(cfg, field.name), prefix + field.name
        lowest = _lowest(hints.get(field.name))
        if dataclasses.is_dataclass(value):
            check_common(value, key + ".")
        elif field.name == "seed" and isinstance(value, int):
            check(0 <= value <= MAX_SEED, key, value, f"an integer from 0 to {MAX_SEED}")
        elif lowest is not None and isinstance(value, int):
            check(value >= lowest.low, key, value, f"an integer >= {lowest.low}")
        elif prefix.endswith("sweep.") and isinstance(value, tuple):
            repeated = sorted({v for v in value if value.count(v) > 1}, key=str)
            check(not repeated, key, list(value), f"each value once (repeated: {repeated})")


def to_dict(cfg) -> dict:
    """The config tree as nested plain dicts (tuples become lists)."""

    def convert(value):
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [convert(v) for v in value]
        return value

    return convert(cfg)


def flatten(cfg, prefix="") -> dict[str, Any]:
    """`{"model.units": 64, ...}`: every leaf of the tree under its dotted key."""
    out = {}
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        key = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split a CLI `key=value`; the value is a Python literal or a bare word."""
    if "=" not in text:
        raise ConfigError(f"expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if raw.startswith("[") and raw.endswith("]"):  # [rnn,gru]: a list of bare words
            value = [
                parse_assignment(f"_={item}")[1] for item in raw[1:-1].split(",") if item.strip()
            ]
        else:
            value = raw  # a bare word such as `gru` or `pre`
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    if raw.lower() in ("none", "null"):
        value = None
    return key, value


def apply_overrides(cfg, overrides: dict[str, Any]):
    """Return a copy of `cfg` with dotted `overrides` applied and validated.

    All overrides of one group are applied together, so a group's
    `__post_init__` checks see the final combination, never a half-set one.
    """
    nested: dict = {}
    for key, value in overrides.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key!r} conflicts with another override")
        node[parts[-1]] = value
    return _apply(cfg, nested, "", cfg)


def _apply(node, nested: dict, prefix: str, root):
    fields = {f.name: f for f in dataclasses.fields(node)}
    hints = typing.get_type_hints(type(node))
    changes = {}
    for name, value in nested.items():
        full_key = prefix + name
        if name not in fields:
            known = sorted(flatten(root))
            close = difflib.get_close_matches(full_key, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise ConfigError(f"unknown config key {full_key!r}{hint}")
        current = getattr(node, name)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{full_key!r} is a group; set one of its keys, e.g. "
                    f"{full_key}.{dataclasses.fields(current)[0].name}=..."
                )
            changes[name] = _apply(current, value, full_key + ".", root)
        elif isinstance(value, dict):
            raise ConfigError(
                f"unknown config key {full_key}.{next(iter(value))!r}: "
                f"{full_key!r} is a value, not a group"
            )
        else:
            changes[name] = _coerce(value, hints[name], full_key)
    try:
        return dataclasses.replace(node, **changes)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid value under {prefix or 'config'}: {err}") from None


def _describe(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(annotation))
    if origin is tuple:
        return f"a list of {_describe(typing.get_args(annotation)[0])}"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def _coerce(value, annotation, key):
    """Check `value` against `annotation`, converting lists to tuples, int to float."""
    origin = typing.get_origin(annotation)
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:60] + "..."
    bad = ConfigError(f"invalid value for {key}: {shown} (expected {_describe(annotation)})")
    if origin is Literal:
        choices = typing.get_args(annotation)
        if value is None and "none" in choices:  # the CLI reads a bare `none` as None
            value = "none"
        if value not in choices:
            raise ConfigError(
                f"invalid value for {key}: {value!r} (choose one of "
                f"{', '.join(repr(c) for c in choices)})"
            )
        return value
    if origin in (Union, types.UnionType):
        for option in typing.get_args(annotation):
            try:
                return _coerce(value, option, key)
            except ConfigError:
                continue
        raise bad
    if origin is tuple:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            value = [value]  # `--set sweep.lengths=100` means a one-item grid
        if not isinstance(value, (list, tuple)) or not value:
            raise bad
        item_type = typing.get_args(annotation)[0]
        return tuple(_coerce(v, item_type, key) for v in value)
    if annotation is type(None):
        if value is not None:
            raise bad
        return None
    if annotation is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        if abs(value) > MAX_INT:
            raise ConfigError(
                f"invalid value for {key}: {shown} (expected an integer of at most 19 digits)"
            )
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        try:
            finite = math.isfinite(float(value))  # 1e999 parses as inf
        except OverflowError:  # an integer of hundreds of digits
            finite = False
        if not finite:
            raise ConfigError(f"invalid value for {key}: {shown} (expected a finite number)")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise bad
        return value
    return value
