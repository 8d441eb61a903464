"""Nested config dicts and their dotted keys (``cluster.sync_interval_s``).

Sweep axes, constraints and result columns all speak dotted keys; the simulator's config is nested.
These helpers convert between the two without knowing the simulator's schema, so the sweep machinery
works for any model whose config is a nested dict.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hasim.errors import ConfigError


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> {dotted key: leaf value}; lists (e.g. ``faults``) stay whole values."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def apply_overrides(
    tree: Mapping[str, Any], overrides: Mapping[str, Any], *, allow_new: bool = False
) -> dict[str, Any]:
    """Return a deep copy of ``tree`` with each dotted key set; an unknown key raises ConfigError.

    This is the schema-free fallback used for models other than the simulator (whose own
    ``with_overrides`` validates against its dataclasses).
    """
    out = copy.deepcopy(dict(tree))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or (part not in node and not allow_new):
                raise ConfigError(dotted, f"unknown config key (no section {'.'.join(parts[: i + 1])!r})")
            node = node.setdefault(part, {})
        if not isinstance(node, dict) or (parts[-1] not in node and not allow_new):
            raise ConfigError(dotted, "unknown config key")
        node[parts[-1]] = copy.deepcopy(value)
    return out


def flatten_overrides(table: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A TOML table of overrides -> dotted keys.

    Accepts both quoted dotted keys (``"cluster.sync_interval_s" = 1``) and nested tables
    (``cluster = { sync_interval_s = 1 }``), which TOML produces for unquoted dotted keys.
    """
    if not isinstance(table, Mapping):
        raise ConfigError(key, f"expected a table of dotted config keys, got {type(table).__name__}")
    return flatten(table)
