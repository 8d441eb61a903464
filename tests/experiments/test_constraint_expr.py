"""The constraint language: Python-like precedence, no code execution, errors naming the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasim.errors import ConfigError
from hasim.experiments.constraint_expr import parse_constraint

ENV = {"a.x": 2, "a.y": 0.5, "v": "legacy", "flag": True}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.x > 1", True),
        ("a.x > 1 and a.y > 1", False),
        ("a.x > 1 or a.y > 1", True),
        ("not a.x > 1 or a.y < 1", True),
        ("1 < a.x <= 2", True),
        ("1 < a.x < 2", False),
        ("a.x * a.y == 1", True),
        ("a.x + 2 * 3 == 8", True),
        ("(a.x + 2) * 3 == 12", True),
        ("-a.x == -2", True),
        ("a.x % 2 == 0", True),
        ("v == 'legacy'", True),
        ('v != "legacy"', False),
        ("v in ['legacy', 'other']", True),
        ("v not in ['legacy']", False),
        ("flag and true", True),
        ("1e3 > 999.5", True),
    ],
)
def test_expressions_evaluate_like_python(text: str, expected: bool) -> None:
    assert parse_constraint(text, "k").evaluate(ENV) is expected


@pytest.mark.parametrize("text", ["a.x >", "(a.x", "a.x == = 1", "lambda: 1", "a.x; 1", "open('f')", ""])
def test_syntax_errors_name_the_key(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_constraint(text, "sweep.skip_if[3]")
    assert err.value.key == "sweep.skip_if[3]"


def test_type_errors_and_unknown_names_name_the_key() -> None:
    with pytest.raises(ConfigError, match="nope"):
        parse_constraint("nope > 1", "k").evaluate(ENV)
    with pytest.raises(ConfigError) as err:
        parse_constraint("v > 1", "k2").evaluate(ENV)
    assert err.value.key == "k2"


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-50, 50))
def test_arithmetic_and_comparison_agree_with_python(x: int, y: int, z: int) -> None:
    env = {"x": x, "y": y, "z": z}
    text = "x + y * z > z - x and not (x == y or y >= z)"
    expected = x + y * z > z - x and not (x == y or y >= z)
    assert parse_constraint(text, "k").evaluate(env) is expected
