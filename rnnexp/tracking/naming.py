"""What runs are called in the store and the UI, and which params they log."""

import json

from rnnexp.names import plain

__all__ = [
    "sweep_run_name",
    "trial_run_name",
]


# Short spellings of trial keys in run names (`post·L200·SimpleRNN·s0`); other keys say key=value.
_SHORT_KEYS = {"seed": "s", "length": "L"}


def sweep_run_name(experiment: str, profile: str, data: str) -> str:
    """A parent run's name: `imdb_seqlen · ci · real IMDB`."""
    return f"{experiment} · {profile} · {data}"


def data_label(card, source: str) -> str:
    """The data a sweep uses, plainly: "real IMDB", "synthetic stand-in (not IMDB)", ...

    Args:
        card: the `DataCard` of the sweep's first trial, or None.
        source: `Experiment.data_source` (a config spelling such as `path`).
    """
    from rnnexp.names import plain

    if card is not None and card.real:
        return f"real {plain(card.name)}"
    if card is not None and card.name.endswith("-generated"):
        return plain("generated")
    return plain(card.name if card is not None else source)


def trial_run_name(trial: dict, trials: list[dict]) -> str:
    """A child run's name, the keys that vary across `trials` first: `post·L200·SimpleRNN·s0`.

    Short, so the UI's run-name column (about 20 characters) tells the trials apart.
    """
    varying = [k for k in trial if len({json.dumps(t.get(k), default=str) for t in trials}) > 1]
    keys = varying + [k for k in trial if k not in varying]
    return "·".join(_short(k, trial[k]) for k in keys) or "trial"


def _short(key: str, value) -> str:
    if key in _SHORT_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return f"{_SHORT_KEYS[key]}{value}"
    if isinstance(value, bool):
        return key if value else f"no-{key}"
    if isinstance(value, str) and value == "none":  # clip=none: "no-clip", not "none"
        return f"no-{key}"
    if isinstance(value, str):
        return _plain_if_short(value)
    return f"{key}={value}"


def _plain_if_short(value: str) -> str:
    # the UI's run-name column shows about 20 characters: "SimpleRNN", but "post", not its sentence
    name = plain(value)
    return name if len(name) <= 14 else value


def params_that_apply(params: dict, real_data: bool) -> dict:
    """Config parameters less those that do not apply: the stand-in's settings on real data."""
    if not real_data:
        return params
    return {k: v for k, v in params.items() if not k.startswith("data.synthetic.")}
