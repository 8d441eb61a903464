"""Sweep files (TOML) and their expansion into runs, each with its own config, run id and seed.

A sweep file::

    [sweep]
    name = "sync_vs_skip"                     # default: the sweep file's folder name
    base = "../scenarios/site_to_site.toml"   # relative to the sweep file
    replications = 5
    root_seed = 6311
    seeding = "index"                         # or "replication" (common random numbers)
    skip_if = ["variant == 'legacy' and policy.skip_forward > 0"]

    [fixed]                                   # overrides applied to every run
    "scenario.duration_s" = 60

    [[axes]]                                  # see sweep_axes.py for grid / range / zip / list
    kind = "grid"
    key = "cluster.sync_interval_s"
    values = [0.5, 1, 2]

    [[exclude]]                               # explicit combinations to skip (all fields equal)
    variant = "legacy"
    "cluster.sync_interval_s" = 0.5

    [[timelines]]                             # runs whose event records are kept for timeline figures
    name = "rfc6311"
    where = { variant = "rfc6311" }

    [report]                                  # figures and title of the HTML report (report.py)

``replications`` may ask for a precision instead of a count::

    replications = { min = 20, max = 2000, metric = "sa_survival", half_width = 0.02 }

Each point then runs ``min`` replications and doubles them (capped at ``max``) until the 95%
interval of ``metric`` has at most that half width (runner.py).

Runs are keyed by (point, replication): a point's key is a digest of its labels and overrides, not its
position, so adding replications or axis values and resuming reuses every finished run. Seeds come
from the key: ``SeedSequence(root_seed, spawn_key=(point_key, replication))`` (or
``spawn_key=(replication,)`` with common random numbers), so results depend neither on worker count,
on completion order nor on which other points or replications the sweep holds. The run id adds a
digest of the resolved config and the seed, so a resumed sweep never reuses a run whose config or
seed changed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hasim.errors import ConfigError, parse_toml, read_utf8
from hasim.experiments.config_tree import flatten, flatten_overrides
from hasim.experiments.constraint_expr import Constraint, parse_constraint
from hasim.experiments.model import Model
from hasim.experiments.report_spec import check_report
from hasim.experiments.results_store import check_column_name, check_folder_name
from hasim.experiments.sweep_axes import Axis, parse_axis

_TOP = {"sweep", "fixed", "axes", "exclude", "timelines", "report"}
_SWEEP = {"name", "base", "replications", "root_seed", "seeding", "skip_if", "description"}


@dataclass(frozen=True)
class TimelineSpec:
    """Keep the event records of the first run whose columns match ``where`` under the name ``name``."""

    name: str
    where: dict[str, Any]


@dataclass(frozen=True)
class Adaptive:
    """Replications chosen per point for a precision: ``min`` first, doubled up to ``max`` until the
    95% interval of ``metric`` has a half width of at most ``half_width``."""

    min: int
    max: int
    metric: str
    half_width: float

    def as_dict(self) -> dict[str, Any]:
        """The TOML table this was read from (for the manifest)."""
        return {"min": self.min, "max": self.max, "metric": self.metric, "half_width": self.half_width}


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file (not yet expanded). ``path`` and the hashes are its provenance."""

    name: str
    path: Path
    base_path: Path
    base: dict[str, Any]
    replications: int
    """Replications per point (the minimum of an adaptive sweep)."""
    adaptive: Adaptive | None
    root_seed: int
    seeding: str
    fixed: dict[str, Any]
    axes: tuple[Axis, ...]
    constraints: tuple[Constraint, ...]
    excludes: tuple[dict[str, Any], ...]
    timelines: tuple[TimelineSpec, ...]
    report: dict[str, Any]
    description: str
    sweep_hash: str
    base_hash: str
    text: str
    base_text: str

    @property
    def param_columns(self) -> list[str]:
        """The result columns that identify a parameter point (axis labels and swept keys), in order."""
        cols: list[str] = []
        for axis in self.axes:
            for col in axis.columns:
                if col not in cols:
                    cols.append(col)
            for key in sorted(axis.keys()):
                if key not in cols:
                    cols.append(key)
        return cols


@dataclass(frozen=True)
class PointSpec:
    """One parameter point: its position, key (digest of labels and overrides), values and config."""

    point: int
    key: str
    params: dict[str, Any] = field(compare=False)
    config: dict[str, Any] = field(compare=False)
    config_digest: str = ""


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: position, identity, seed, parameter values and full resolved config."""

    index: int
    run_id: str
    point: int
    replication: int
    seed: int
    params: dict[str, Any] = field(compare=False)
    config: dict[str, Any] = field(compare=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _int(table: Mapping[str, Any], key: str, where: str, default: int | None, minimum: int) -> int:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(where, "required")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(where, f"expected an integer >= {minimum}, got {value!r}")
    return value


def _replications(value: Any) -> tuple[int, Adaptive | None]:
    """``replications``: a count, or ``{ min, max, metric, half_width }`` for a precision."""
    if not isinstance(value, Mapping):
        return _int({"replications": value}, "replications", "sweep.replications", 1, 1), None
    where = "sweep.replications"
    extra = set(value) - {"min", "max", "metric", "half_width"}
    if extra:
        allowed = "unknown field; allowed: half_width, max, metric, min"
        raise ConfigError(f"{where}.{sorted(extra)[0]}", allowed)
    low = _int(value, "min", f"{where}.min", None, 2)
    high = _int(value, "max", f"{where}.max", None, low)
    metric = value.get("metric")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"{where}.metric", f"expected a metric name, got {metric!r}")
    hw = value.get("half_width")
    if isinstance(hw, bool) or not isinstance(hw, int | float) or not hw > 0:
        raise ConfigError(f"{where}.half_width", f"expected a number > 0, got {hw!r}")
    return low, Adaptive(low, high, metric, float(hw))


def _tables(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(key, f"expected [[{key}]] tables, got {value!r}")
    return value


def parse_sweep(text: str, path: Path) -> SweepSpec:
    """Parse sweep TOML text; ``path`` locates the base scenario. Errors name the offending key."""
    doc = parse_toml(text, str(path))
    for key in doc:
        if key not in _TOP:
            raise ConfigError(key, f"unknown section; allowed: {sorted(_TOP)}")
    sweep = doc.get("sweep")
    if not isinstance(sweep, Mapping):
        raise ConfigError("sweep", "a [sweep] table is required")
    for key in sweep:
        if key not in _SWEEP:
            raise ConfigError(f"sweep.{key}", f"unknown field; allowed: {sorted(_SWEEP)}")
    name = check_folder_name(sweep.get("name", path.resolve().parent.name), "sweep.name")
    base_rel = sweep.get("base")
    if not isinstance(base_rel, str):
        raise ConfigError("sweep.base", f"expected the path of a scenario TOML file, got {base_rel!r}")
    base_path = (path.parent / base_rel).resolve()
    try:
        base_bytes = base_path.read_bytes()
        base = parse_toml(base_bytes.decode(), f"sweep.base ({base_path})")
    except OSError as exc:
        raise ConfigError("sweep.base", f"cannot read {base_path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("sweep.base", f"{base_path} is not UTF-8 text (byte offset {exc.start})") from None
    replications, adaptive = _replications(sweep.get("replications", 1))
    root_seed = _int(sweep, "root_seed", "sweep.root_seed", None, 0)
    seeding = sweep.get("seeding", "index")
    if seeding not in ("index", "replication"):
        raise ConfigError("sweep.seeding", f"expected 'index' or 'replication', got {seeding!r}")
    skip_if = sweep.get("skip_if", [])
    if isinstance(skip_if, str):
        skip_if = [skip_if]
    if not isinstance(skip_if, list):
        raise ConfigError("sweep.skip_if", "expected a list of expressions")
    constraints = tuple(parse_constraint(t, f"sweep.skip_if[{i}]") for i, t in enumerate(skip_if))
    fixed = flatten_overrides(doc.get("fixed", {}), "fixed")
    raw_axes = doc.get("axes", [])
    if not isinstance(raw_axes, list):
        raise ConfigError("axes", "expected [[axes]] tables")
    axes = tuple(parse_axis(t, f"axes[{i}]") for i, t in enumerate(raw_axes))
    seen: dict[str, str] = {k: "fixed" for k in fixed}
    for i, axis in enumerate(axes):
        clash = set(axis.columns if axis.kind == "list" else ()) & axis.keys()
        if clash:
            raise ConfigError(
                f"axes[{i}].name", f"label column {sorted(clash)[0]!r} is also a config key it sets"
            )
        for key in sorted(axis.keys()) + list(axis.columns if axis.kind == "list" else ()):
            if key in seen:
                raise ConfigError(f"axes[{i}]", f"key {key!r} is already set by {seen[key]}")
            seen[key] = f"axes[{i}]"
    for i, axis in enumerate(axes):
        for col in axis.columns:
            check_column_name(col, f"axes[{i}].name" if axis.kind == "list" else f"axes[{i}]")
    excludes = []
    for i, table in enumerate(_tables(doc, "exclude")):
        flat = flatten_overrides(table, f"exclude[{i}]")
        if not flat:
            raise ConfigError(f"exclude[{i}]", "an exclude table needs at least one key")
        excludes.append(flat)
    timelines = []
    for i, table in enumerate(_tables(doc, "timelines")):
        if not isinstance(table, Mapping) or not isinstance(table.get("name"), str):
            raise ConfigError(f"timelines[{i}].name", "expected a name")
        extra = set(table) - {"name", "where"}
        if extra:
            raise ConfigError(f"timelines[{i}].{sorted(extra)[0]}", "unknown field; allowed: name, where")
        timelines.append(
            TimelineSpec(table["name"], flatten_overrides(table.get("where", {}), f"timelines[{i}].where"))
        )
    report = doc.get("report", {})
    check_report(report)
    description = sweep.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("sweep.description", "expected a string")
    return SweepSpec(
        name=name,
        path=path.resolve(),
        base_path=base_path,
        base=base,
        replications=replications,
        adaptive=adaptive,
        root_seed=root_seed,
        seeding=seeding,
        fixed=fixed,
        axes=axes,
        constraints=constraints,
        excludes=tuple(excludes),
        timelines=tuple(timelines),
        report=dict(report),
        description=description,
        sweep_hash=_sha256(text.encode()),
        base_hash=_sha256(base_bytes),
        text=text,
        base_text=base_bytes.decode(),
    )


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and parse a sweep file."""
    p = Path(path)
    text = read_utf8(p, "a sweep file (TOML)")
    return parse_sweep(text, p)


def run_seed(root_seed: int, *key: int) -> int:
    """The seed of one run: a 63-bit integer from ``SeedSequence(root_seed, spawn_key=key)``."""
    state = np.random.SeedSequence(root_seed, spawn_key=key).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


def _matches(where: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    for key, want in where.items():
        if key not in env:
            return False
        have = env[key]
        if isinstance(want, int | float) and not isinstance(want, bool) and isinstance(have, int | float):
            if float(want) != float(have):
                return False
        elif want != have:
            return False
    return True


def _scalar(value: Any) -> Any:
    """Result columns hold scalars: a list or table value (e.g. a fault schedule) becomes JSON text."""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return value


def expand_points(spec: SweepSpec, model: Model) -> list[PointSpec]:
    """All parameter points of the sweep, in axis order (first axis slowest).

    Each point's config is resolved (validated) by the model once; constraints and exclude tables see
    the point's labels and its full resolved config as dotted keys.
    """
    points: list[PointSpec] = []
    columns = spec.param_columns
    asked = _selector_keys(spec)
    found: set[str] = set()
    for combo in itertools.product(*(axis.settings for axis in spec.axes)):
        labels: dict[str, Any] = {}
        overrides = dict(spec.fixed)
        for lab, ov in combo:
            labels.update(lab)
            overrides.update(ov)
        config = model.resolve(spec.base, overrides)
        env = {**flatten(config), **labels}
        found.update(k for k in asked if k in env)
        if any(c.evaluate(env) for c in spec.constraints) or any(_matches(ex, env) for ex in spec.excludes):
            continue
        params = {c: _scalar(env.get(c, overrides.get(c))) for c in columns}
        ident = json.dumps({"labels": labels, "overrides": overrides}, sort_keys=True, default=str)
        key = _sha256(ident.encode())[:16]
        digest = _sha256(json.dumps(config, sort_keys=True, default=str).encode())[:16]
        points.append(PointSpec(len(points), key, params, config, digest))
    for key, where in asked.items():
        if key not in found:
            raise ConfigError(
                where, "names no label or config key of any point of the sweep, so it would match nothing"
            )
    return points


def _selector_keys(spec: SweepSpec) -> dict[str, str]:
    """The keys ``[[exclude]]`` and ``[[timelines]].where`` tables compare, each with where it is
    written (a mistyped one would silently leave nothing out, or keep no timeline)."""
    keys: dict[str, str] = {}
    for i, ex in enumerate(spec.excludes):
        for k in ex:
            keys.setdefault(k, f"exclude[{i}].{k}")
    for i, tl in enumerate(spec.timelines):
        for k in tl.where:
            if k not in ("replication", "index"):  # run columns, not a point's
                keys.setdefault(k, f"timelines[{i}].where.{k}")
    return keys


def point_runs(spec: SweepSpec, point: PointSpec, replications: range) -> list[RunSpec]:
    """The runs of ``point`` for the given replications (``index`` is filled in by ``number_runs``)."""
    runs = []
    for rep in replications:
        key = (int(point.key, 16), rep) if spec.seeding == "index" else (rep,)
        seed = run_seed(spec.root_seed, *key)
        tag = _sha256(f"{point.config_digest}|{seed}".encode())[:8]
        run_id = f"{point.key[:12]}-{rep:05d}-{tag}"
        runs.append(RunSpec(0, run_id, point.point, rep, seed, point.params, point.config))
    return runs


def number_runs(runs: list[RunSpec]) -> list[RunSpec]:
    """The runs ordered by (point, replication) with ``index`` = position in that order."""
    ordered = sorted(runs, key=lambda r: (r.point, r.replication))
    return [
        RunSpec(i, r.run_id, r.point, r.replication, r.seed, r.params, r.config)
        for i, r in enumerate(ordered)
    ]


def expand(spec: SweepSpec, model: Model, counts: Mapping[int, int] | None = None) -> list[RunSpec]:
    """All runs of the sweep: ``counts[point]`` (default ``spec.replications``) replications per point,
    in order of (point, replication)."""
    runs = []
    for p in expand_points(spec, model):
        n = spec.replications if counts is None else counts.get(p.point, spec.replications)
        runs.extend(point_runs(spec, p, range(n)))
    return number_runs(runs)


def select_run(runs: list[RunSpec], where: Mapping[str, Any]) -> RunSpec | None:
    """The first run whose parameters (or resolved config) match ``where``."""
    for run in runs:
        env = {**flatten(run.config), **run.params, "replication": run.replication, "index": run.index}
        if _matches(where, env):
            return run
    return None
