"""Findings as claims that a program checks against a sweep's summary.

An experiment states its findings in ``claims.toml`` beside its sweep file::

    [[claims]]
    id = "rfc6311_keeps_sas"
    text = "RFC 6311 keeps at least 99% of the SAs when the counters sync at least every 2 s"
    metric = "sa_survival"
    stat = "ci_low"                 # mean | ci_low | ci_high
    op = ">="                       # >= | <= | > | < | ==
    value = 0.99
    where = "variant == 'rfc6311' and cluster.sync_interval_s <= 2"   # sweep constraint syntax
    at = "every"                    # every matching point (default) or "some" point

A claim holds when the statistic of the metric satisfies the comparison at every (or some) summary
point that ``where`` selects, and there is at least one such point with a value. So a finding cannot
drift from its data: ``hasim report`` prints each claim with its numbers, the README's findings table
is generated from the claims (report_claims.py) and a test fails when a committed claim fails.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hasim.errors import ConfigError, parse_toml, read_utf8, shown
from hasim.experiments.constraint_expr import Constraint, parse_constraint

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_STATS = ("mean", "ci_low", "ci_high")
_FIELDS = {"id", "text", "metric", "stat", "op", "value", "where", "at"}


@dataclass(frozen=True)
class Claim:
    """One finding: ``stat`` of ``metric`` ``op`` ``value`` at every (or some) point ``where`` selects."""

    id: str
    text: str
    metric: str
    stat: str
    op: str
    value: float
    where: str
    at: str
    condition: Constraint | None

    @property
    def test(self) -> str:
        """The comparison in words, e.g. ``sa_survival ci_low >= 0.99``."""
        return f"{self.metric} {self.stat} {self.op} {self.value:g}"


@dataclass(frozen=True)
class PointValue:
    """The claim's statistic at one summary point, with the runs that defined it."""

    labels: dict[str, Any]
    value: float
    n: int
    holds: bool


@dataclass(frozen=True)
class ClaimResult:
    """A claim evaluated: whether it holds, and the value at each point it covers."""

    claim: Claim
    holds: bool
    points: tuple[PointValue, ...]

    @property
    def deciding(self) -> PointValue | None:
        """The point that decides: for "every", the worst one (a failing one if any); for "some",
        the best one."""
        if not self.points:
            return None
        worse_is_low = self.claim.op in (">=", ">", "==")
        ordered = sorted(self.points, key=lambda p: (p.holds, p.value if worse_is_low else -p.value))
        if self.claim.at == "some":
            ordered = sorted(self.points, key=lambda p: (not p.holds, -p.value if worse_is_low else p.value))
        return ordered[0]


def _claim(table: Any, where: str) -> Claim:
    if not isinstance(table, Mapping):
        raise ConfigError(where, "expected a table")
    extra = set(table) - _FIELDS
    if extra:
        raise ConfigError(f"{where}.{sorted(extra)[0]}", f"unknown field; allowed: {sorted(_FIELDS)}")
    for key in ("id", "text", "metric"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{where}.{key}", "expected a non-empty string")
    stat = table.get("stat", "mean")
    if stat not in _STATS:
        raise ConfigError(f"{where}.stat", f"expected one of {list(_STATS)}, got {stat!r}")
    op = table.get("op")
    if op not in _OPS:
        raise ConfigError(f"{where}.op", f"expected one of {list(_OPS)}, got {op!r}")
    value = table.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise ConfigError(f"{where}.value", f"expected a finite number, got {shown(value)}")
    at = table.get("at", "every")
    if at not in ("every", "some"):
        raise ConfigError(f"{where}.at", f"expected 'every' or 'some', got {at!r}")
    text = table.get("where", "")
    if not isinstance(text, str):
        raise ConfigError(f"{where}.where", "expected an expression (sweep constraint syntax)")
    condition = parse_constraint(text, f"{where}.where") if text.strip() else None
    return Claim(table["id"], table["text"], table["metric"], stat, op, float(value), text, at, condition)


def _finite(value: float) -> bool:
    """NaN never compares true (a claim that can never hold); 10**400 is beyond a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def parse_claims(text: str, source: str) -> list[Claim]:
    """The claims of a claims.toml text; every mistake names its key (``claims[2].op``)."""
    doc = parse_toml(text, source)
    extra = set(doc) - {"claims"}
    if extra:
        raise ConfigError(sorted(extra)[0], "unknown section; allowed: claims")
    raw = doc.get("claims", [])
    if not isinstance(raw, list):
        raise ConfigError("claims", "expected [[claims]] tables")
    claims = [_claim(t, f"claims[{i}]") for i, t in enumerate(raw)]
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError("claims", f"duplicate id {dupes[0]!r}")
    return claims


def load_claims(path: str | Path) -> list[Claim]:
    """Read and parse a claims file."""
    p = Path(path)
    text = read_utf8(p, "a claims file (TOML)")
    return parse_claims(text, str(p))


def evaluate(claim: Claim, summary: pd.DataFrame, params: list[str]) -> ClaimResult:
    """The claim against a summary (summary.csv): its value at each selected point, and the verdict."""
    column = f"{claim.metric}_{claim.stat}"
    if column not in summary.columns:
        raise ConfigError(f"claim {claim.id}", f"the summary has no column {column!r}")
    compare = _OPS[claim.op]
    points = []
    for _, row in summary.iterrows():
        labels = {p: _plain(row[p]) for p in params if p in summary.columns}
        if claim.condition is not None and not claim.condition.evaluate(labels):
            continue
        value = float(row[column])
        n = int(row[f"{claim.metric}_n"]) if f"{claim.metric}_n" in summary.columns else int(row["n_runs"])
        ok = not math.isnan(value) and compare(value, claim.value)
        points.append(PointValue(labels, value, n, ok))
    if not points:
        holds = False
    elif claim.at == "every":
        holds = all(p.holds for p in points)
    else:
        holds = any(p.holds for p in points)
    return ClaimResult(claim, holds, tuple(points))


def _plain(value: Any) -> Any:
    """Summary cells as the constraint language compares them (numpy scalars to Python)."""
    return value.item() if hasattr(value, "item") else value
