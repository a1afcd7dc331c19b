"""games.spec.parse_call: the one parser of NAME(key=value, ...) specs."""

import pytest

import games
from games.spec import parse_call


@pytest.mark.parametrize(
    "text, name, kwargs",
    [
        ("penalty", "penalty", {}),
        (" penalty() ", "penalty", {}),
        ("penalty(k=-50)", "penalty", {"k": -50}),
        (
            "x(a=1.5, b=TRUE, c=none, d='p,q', e=[1, 2], f=(3, 4))",
            "x",
            {"a": 1.5, "b": True, "c": None, "d": "p,q", "e": [1, 2], "f": (3, 4)},
        ),
        ("mod.env_v3(kind=cooperative)", "mod.env_v3", {"kind": "cooperative"}),
        ("x(s=__import__('os'))", "x", {"s": "__import__('os')"}),  # kept as text, never run
    ],
)
def test_parse_call(text, name, kwargs):
    assert parse_call(text) == (name, kwargs)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "bad spec ''"),
        ("1abc", "bad spec"),
        ("x(", "bad spec"),
        ("x(3)", "argument '3' has no name"),
        ("x(a=1, a=2)", "given twice"),
        ("x(3a=1)", "not a parameter name"),
    ],
)
def test_bad_syntax_is_one_line_game_error(text, message):
    with pytest.raises(games.GameError, match=message) as e:
        parse_call(text)
    assert "\n" not in str(e.value)


def test_every_prefix_uses_it():
    assert games.load("matrix:penalty(k=-50)").info.name
    with pytest.raises(games.GameError, match="bad matrix game spec"):
        games.load("matrix:pen alty")
    with pytest.raises(games.GameError, match="bad control task spec"):
        games.load("control:(x)")
    with pytest.raises(games.GameError, match="must be a number, got 'fast'"):
        games.load("control:rendezvous(speed=fast)")
