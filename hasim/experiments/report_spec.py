"""The shape of a sweep's ``[report]`` section and of the sweep file a manifest records.

``[report]`` is checked when the sweep file is read (a figure with a mistake is refused before hours
of runs, not when the report is drawn), and again with the rest of the recorded sweep file when a
results folder is loaded: a damaged or hand-edited ``manifest.json`` is one line naming it, never a
traceback from deep inside a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hasim.errors import ConfigError, shown
from hasim.experiments.config_tree import flatten_overrides

FIGURE_FIELDS = {
    "heatmap": ({"x", "y"}, {"metric", "facet", "where", "caption", "vmin", "vmax"}),
    "curves": ({"x", "metric"}, {"group", "facet", "where", "logx", "logy", "caption"}),
    "timeline": (set(), {"timeline", "window", "esp", "caption"}),
}
_NAMES = {"x", "y", "metric", "facet", "group", "timeline", "caption"}


def _bad(key: str, value: Any, want: str) -> ConfigError:
    return ConfigError(key, f"got {shown(value)}; expected {want}")


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the largest float
        return False


def check_figure(spec: Any, where: str) -> dict[str, Any]:
    """One ``[[report.figures]]`` table, checked field by field; ``where`` flattened to dotted keys."""
    if not isinstance(spec, Mapping):
        raise _bad(where, spec, "a table with a kind (heatmap, curves or timeline)")
    kind = spec.get("kind")
    if kind not in FIGURE_FIELDS:
        raise ConfigError(f"{where}.kind", f"expected one of {sorted(FIGURE_FIELDS)}, got {shown(kind)}")
    required, optional = FIGURE_FIELDS[kind]
    for field in sorted(required):
        if field not in spec:
            raise ConfigError(f"{where}.{field}", "required")
    out = dict(spec)
    for field, value in spec.items():
        key = f"{where}.{field}"
        if field != "kind" and field not in required | optional:
            raise ConfigError(key, f"unknown field; allowed: {sorted(required | optional)}")
        if field in _NAMES and not isinstance(value, str):
            raise _bad(key, value, "a string")
        if field in ("logx", "logy") and not isinstance(value, bool):
            raise _bad(key, value, "true or false")
        if field in ("vmin", "vmax") and not _number(value):
            raise _bad(key, value, "a finite number")
        if field == "esp" and value not in ("out", "in"):
            raise _bad(key, value, "'out' or 'in'")
        if field == "window" and not (
            isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)
        ):
            raise _bad(key, value, "[start, end] in seconds")
        if field == "where":
            out["where"] = flatten_overrides(value, key)
    return out


def check_report(report: Any, where: str = "report") -> list[dict[str, Any]] | None:
    """ConfigError for a ``[report]`` table of the wrong shape; its figure specs (None: defaults)."""
    if not isinstance(report, Mapping):
        raise _bad(where, report, "a table")
    title = report.get("title", "")
    if not isinstance(title, str):
        raise _bad(f"{where}.title", title, "a string")
    metrics = report.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise _bad(f"{where}.metrics", metrics, "a list of metric names")
    figures = report.get("figures")
    if figures is None:
        return None
    if not isinstance(figures, list):
        raise _bad(f"{where}.figures", figures, "[[report.figures]] tables")
    return [check_figure(spec, f"{where}.figures[{i}]") for i, spec in enumerate(figures)]


def check_recorded_sweep(doc: Mapping[str, Any]) -> None:
    """ConfigError for a recorded sweep file whose sections the readers use have the wrong shape."""
    for name in ("sweep", "fixed", "report"):
        if not isinstance(doc.get(name, {}), Mapping):
            raise _bad(name, doc[name], "a table")
    description = doc.get("sweep", {}).get("description", "")
    if not isinstance(description, str):
        raise _bad("sweep.description", description, "a string")
    check_report(doc.get("report", {}))
    axes = doc.get("axes", [])
    if not isinstance(axes, list):
        raise _bad("axes", axes, "[[axes]] tables")
    for i, axis in enumerate(axes):
        if not isinstance(axis, Mapping):
            raise _bad(f"axes[{i}]", axis, "a table")
        points = axis.get("points", [])
        if not isinstance(points, list) or not all(
            isinstance(p, Mapping) and isinstance(p.get("set", {}), Mapping) for p in points
        ):
            raise _bad(f"axes[{i}].points", points, "a list of { label = ..., set = {...} }")
