"""Sweep axes: how one ``[[axes]]`` table of a sweep file becomes a list of settings.

Four kinds, all over dotted config keys:

- ``grid``:  ``key`` and ``values`` (a list): one setting per value.
- ``range``: ``key``, ``start``, ``stop`` and either ``step`` (stop included when it lands on the
  grid) or ``num`` (evenly spaced, stop included; ``log = true`` for geometric spacing).
- ``zip``:   ``values``, a table of key -> list, all lists of one length, varied in lock-step.
- ``list``:  ``points``, a list of tables ``{ label = "...", set = { key = value, ... } }``: named
  variants (e.g. RFC 6311 vs legacy) whose label lands in the result column ``name`` (default
  ``variant``).

Axes combine as a Cartesian product, the first axis varying slowest (like nested loops).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hasim.errors import ConfigError, shown
from hasim.experiments.config_tree import flatten_overrides

# More values than this on one axis is a slip (a range with a step of 1e-12), not a sweep.
MAX_AXIS_VALUES = 100_000

# One setting of an axis: (labels for result columns, dotted overrides)
Setting = tuple[dict[str, Any], dict[str, Any]]

_ALLOWED = {
    "grid": {"kind", "key", "values"},
    "range": {"kind", "key", "start", "stop", "step", "num", "log"},
    "zip": {"kind", "values"},
    "list": {"kind", "name", "points"},
}


@dataclass(frozen=True)
class Axis:
    """One parsed axis: its kind, the columns it adds to results and its settings in order."""

    kind: str
    columns: tuple[str, ...]
    settings: tuple[Setting, ...]

    def keys(self) -> set[str]:
        """The dotted config keys this axis overrides."""
        return {k for _, overrides in self.settings for k in overrides}


def _number(table: Mapping[str, Any], field: str, where: str) -> float | int:
    value = table.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise ConfigError(f"{where}.{field}", f"expected a finite number, got {shown(value)}")
    return value


def _finite(value: float | int) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the largest float
        return False


def _check_count(count: float, where: str) -> int:
    if count > MAX_AXIS_VALUES:
        raise ConfigError(where, f"{count:.4g} values; an axis has at most {MAX_AXIS_VALUES:,}")
    return int(count)


def _tidy(x: float) -> float:
    """Remove floating-point noise from generated grid values (0.30000000000000004 -> 0.3)."""
    return float(f"{x:.12g}")


def _range_values(table: Mapping[str, Any], where: str) -> list[Any]:
    start = _number(table, "start", where)
    stop = _number(table, "stop", where)
    if not math.isfinite(stop - start):
        raise ConfigError(f"{where}.stop", f"the span from {start!r} to {stop!r} is not a finite number")
    has_step, has_num = "step" in table, "num" in table
    if has_step == has_num:
        raise ConfigError(where, "a range axis needs exactly one of 'step' or 'num'")
    log = table.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log", f"expected true or false, got {log!r}")
    if has_step:
        if log:
            raise ConfigError(f"{where}.log", "log spacing needs 'num', not 'step'")
        step = _number(table, "step", where)
        if step == 0 or (stop - start) / step < 0:
            raise ConfigError(f"{where}.step", f"step {step!r} does not lead from {start!r} to {stop!r}")
        span = (stop - start) / step
        if not math.isfinite(span):
            raise ConfigError(f"{where}.step", f"step {step!r} gives no finite number of values")
        count = _check_count(math.floor(span + 1e-9) + 1, f"{where}.step")
        if all(isinstance(v, int) for v in (start, stop, step)):
            return [int(start + i * step) for i in range(count)]
        return [_tidy(start + i * step) for i in range(count)]
    num = table["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"{where}.num", f"expected a positive integer, got {num!r}")
    _check_count(num, f"{where}.num")
    if num == 1:
        return [start]
    if log:
        if start <= 0 or stop <= 0:
            raise ConfigError(where, "log spacing needs start and stop > 0")
        ratio = (stop / start) ** (1 / (num - 1))
        return [_tidy(start * ratio**i) for i in range(num)]
    return [_tidy(start + (stop - start) * i / (num - 1)) for i in range(num)]


def parse_axis(table: Any, where: str) -> Axis:
    """Parse one ``[[axes]]`` table; every mistake raises ConfigError naming e.g. ``axes[1].values``."""
    if not isinstance(table, Mapping):
        raise ConfigError(where, "expected a table")
    kind = table.get("kind")
    if kind not in _ALLOWED:
        raise ConfigError(f"{where}.kind", f"expected one of {sorted(_ALLOWED)}, got {kind!r}")
    for field in table:
        if field not in _ALLOWED[kind]:
            raise ConfigError(
                f"{where}.{field}", f"unknown field for a {kind} axis; allowed: {sorted(_ALLOWED[kind])}"
            )
    if kind in ("grid", "range"):
        key = table.get("key")
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{where}.key", f"expected a dotted config key, got {key!r}")
        if kind == "grid":
            values = table.get("values")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.values", f"expected a non-empty list, got {values!r}")
        else:
            values = _range_values(table, where)
        return Axis(kind, (key,), tuple(({}, {key: v}) for v in values))
    if kind == "zip":
        columns = flatten_overrides(table.get("values", {}), f"{where}.values")
        if not columns:
            raise ConfigError(f"{where}.values", "expected a table of key -> list")
        lengths = set()
        for key, vals in columns.items():
            if not isinstance(vals, list) or not vals:
                raise ConfigError(f"{where}.values.{key}", f"expected a non-empty list, got {vals!r}")
            lengths.add(len(vals))
        if len(lengths) != 1:
            raise ConfigError(f"{where}.values", f"zipped lists must have one length, got {sorted(lengths)}")
        n = lengths.pop()
        return Axis(
            kind, tuple(columns), tuple(({}, {k: v[i] for k, v in columns.items()}) for i in range(n))
        )
    # list
    name = table.get("name", "variant")
    if not isinstance(name, str) or not name or "." in name:
        raise ConfigError(f"{where}.name", f"expected a label column name without dots, got {name!r}")
    points = table.get("points")
    if not isinstance(points, list) or not points:
        raise ConfigError(f"{where}.points", "expected a non-empty list of { label = ..., set = {...} }")
    settings: list[Setting] = []
    labels: set[Any] = set()
    for i, point in enumerate(points):
        pwhere = f"{where}.points[{i}]"
        if not isinstance(point, Mapping):
            raise ConfigError(pwhere, "expected a table { label = ..., set = {...} }")
        extra = set(point) - {"label", "set"}
        if extra:
            raise ConfigError(f"{pwhere}.{sorted(extra)[0]}", "unknown field; allowed: label, set")
        label = point.get("label", str(i))
        if not isinstance(label, str | int | float) or isinstance(label, bool):
            raise ConfigError(f"{pwhere}.label", f"expected a string or number, got {label!r}")
        if label in labels:
            raise ConfigError(f"{pwhere}.label", f"duplicate label {label!r}")
        labels.add(label)
        if isinstance(label, str) != isinstance(settings[0][0][name] if settings else label, str):
            raise ConfigError(
                f"{pwhere}.label",
                f"got {label!r} among labels that are {'not ' if isinstance(label, str) else ''}strings; "
                "the labels of one axis make one result column: all strings or all numbers",
            )
        settings.append(({name: label}, flatten_overrides(point.get("set", {}), f"{pwhere}.set")))
    return Axis(kind, (name,), tuple(settings))
