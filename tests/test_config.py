import dataclasses
from typing import Literal

import pytest

from rnnexp.config import (
    ConfigError,
    NonNegative,
    Positive,
    apply_overrides,
    check,
    check_common,
    flatten,
    parse_assignment,
)


@dataclasses.dataclass(frozen=True)
class Inner:
    units: int = 8
    cell: Literal["rnn", "gru", "lstm"] = "rnn"
    rate: float = 0.5
    lengths: tuple[int, ...] = (10, 20)

    def __post_init__(self):
        check(self.units > 0, "model.units", self.units, "a positive integer")


@dataclasses.dataclass(frozen=True)
class Outer:
    seed: int = 0
    flag: bool = False
    model: Inner = Inner()


def test_parse_assignment_values():
    assert parse_assignment("model.units=64") == ("model.units", 64)
    assert parse_assignment("sweep.lengths=[10,50]") == ("sweep.lengths", [10, 50])
    assert parse_assignment("model.cell=gru") == ("model.cell", "gru")
    assert parse_assignment("sweep.cells=[rnn,gru]") == ("sweep.cells", ["rnn", "gru"])
    assert parse_assignment("flag=true") == ("flag", True)
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_assignment("model.units")


def test_overrides_apply_and_coerce():
    cfg = apply_overrides(
        Outer(),
        {
            "model.units": 64,
            "model.lengths": [5],
            "model.rate": 1,
            "model.cell": "gru",
            "flag": True,
        },
    )
    assert cfg.model == Inner(units=64, cell="gru", rate=1.0, lengths=(5,))
    assert isinstance(cfg.model.rate, float) and cfg.flag is True
    assert flatten(cfg)["model.units"] == 64


def test_unknown_key_suggests_closest():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'model.unit'; did you mean 'model.units'"
    ):
        apply_overrides(Outer(), {"model.unit": 3})


@pytest.mark.parametrize(
    "key,value,pattern",
    [
        ("model.units", "abc", r"model.units: 'abc' \(expected int\)"),
        ("model.units", 1.5, r"model.units: 1.5"),
        ("flag", 3, r"flag: 3 \(expected bool\)"),
        ("model.cell", "cnn", r"model.cell: 'cnn' \(choose one of 'rnn', 'gru', 'lstm'\)"),
        ("model.lengths", ["a"], r"model.lengths"),
        ("model.units", -3, r"model.units: -3 \(allowed: a positive integer\)"),
        ("model", 3, r"'model' is a group"),
        ("seed.x", 3, r"'seed' is a value"),
    ],
)
def test_bad_values_are_one_line_errors(key, value, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        apply_overrides(Outer(), {key: value})
    assert "\n" not in str(err.value)


def test_group_checks_see_all_overrides_at_once():
    @dataclasses.dataclass(frozen=True)
    class Window:
        lo: int = 0
        hi: int = 10

        def __post_init__(self):
            check(self.lo < self.hi, "w.lo", self.lo, "< hi")

    @dataclasses.dataclass(frozen=True)
    class Root:
        w: Window = Window()

    # lo=20 alone would be invalid; together with hi=30 it is fine.
    assert apply_overrides(Root(), {"w.lo": 20, "w.hi": 30}).w == Window(20, 30)


def test_bare_none_selects_a_literal_none_choice():
    @dataclasses.dataclass(frozen=True)
    class C:
        mode: tuple[Literal["none", "luong"], ...] = ("luong",)

    key, value = parse_assignment("mode=[none,luong]")
    assert apply_overrides(C(), {key: value}).mode == ("none", "luong")


def test_a_positive_or_non_negative_field_is_checked_under_its_dotted_key():
    @dataclasses.dataclass(frozen=True)
    class Grid:
        repeats: Positive = 2
        keep: NonNegative = 0

    @dataclasses.dataclass(frozen=True)
    class Top:
        grid: Grid = Grid()

    check_common(apply_overrides(Top(), {"grid.repeats": 1, "grid.keep": 0}))
    for key, value, low in [("grid.repeats", 0, 1), ("grid.keep", -1, 0)]:
        cfg = apply_overrides(Top(), {key: value})  # a count's type is still int for --set
        with pytest.raises(ConfigError, match=rf"{key}: {value} \(allowed: an integer >= {low}\)"):
            check_common(cfg)
    with pytest.raises(ConfigError, match=r"grid.repeats: 1.5 \(expected int\)"):
        apply_overrides(Top(), {"grid.repeats": 1.5})
