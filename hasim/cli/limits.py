"""The cost limits ``hasim run`` and ``hasim sweep`` share: ``--max-events``, ``--max-cpu``, ``--max-memory``.

A run the estimate (hasim.sim.scenario.cost) puts beyond a limit is refused before it starts, in one
line naming the keys that drive the cost; ``--force`` runs it anyway.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from hasim.errors import ConfigError
from hasim.sim.scenario.cost import DEFAULT_MAX_CPU_S, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY, Limits

F = TypeVar("F", bound=Callable[..., Any])
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]i?[bB]?|[bB])?\s*")
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def parse_size(text: str, key: str) -> float:
    """``8G``, ``512MiB``, ``2e9`` -> bytes; anything else is a ConfigError naming ``key``."""
    m = _SIZE.fullmatch(text)
    if m is None:
        raise ConfigError(key, f"expected a size such as 8G or 512MiB, got {text!r}")
    unit = (m.group(2) or "").lower().removesuffix("b")
    value = float(m.group(1)) * _UNITS[unit]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, f"expected a positive size, got {text!r}")
    return value


def parse_positive(text: str, key: str) -> float:
    """A positive finite number (``1e9``), else a ConfigError naming ``key``."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(key, f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(key, f"expected a positive number, got {text!r}")
    return value


def cost_options(fn: F) -> F:
    """The three limit options, as click options."""
    fn = click.option(
        "--max-memory",
        default=None,
        metavar="SIZE",
        help=f"Refuse a run estimated to need more memory (default {DEFAULT_MAX_MEMORY / 2**30:g}GiB).",
    )(fn)
    fn = click.option(
        "--max-cpu",
        default=None,
        metavar="SECONDS",
        help=f"Refuse a run estimated to need more CPU seconds (default {DEFAULT_MAX_CPU_S:g}).",
    )(fn)
    fn = click.option(
        "--max-events",
        default=None,
        metavar="N",
        help=f"Refuse a run estimated to simulate more events (default {DEFAULT_MAX_EVENTS:g}).",
    )(fn)
    return fn


def limits_from(max_events: str | None, max_cpu: str | None, max_memory: str | None) -> Limits:
    """The Limits the options ask for (defaults where not given)."""
    return Limits(
        events=DEFAULT_MAX_EVENTS if max_events is None else parse_positive(max_events, "--max-events"),
        cpu_s=DEFAULT_MAX_CPU_S if max_cpu is None else parse_positive(max_cpu, "--max-cpu"),
        memory_bytes=DEFAULT_MAX_MEMORY if max_memory is None else parse_size(max_memory, "--max-memory"),
    )
