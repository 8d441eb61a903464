"""Where a sweep comes from: a sweep file, the name of a packaged experiment, or a dict; plus ``--set``.

The CLI (``hasim sweep FILE --set key=value``) and the Python API (``hasim.sweep(source, set=...)``)
both come here, so a sweep means the same thing whichever way it is started. A set key
``sweep.<field>`` changes the ``[sweep]`` table (``sweep.replications=2``); any other key is a
scenario key added to ``[fixed]`` for every run. With sets (or a dict) the sweep text recorded in
the manifest is the TOML actually run, so its hash tells apart sweeps run with different sets.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from hasim.errors import ConfigError, parse_toml, read_utf8, toml_literal
from hasim.experiments.examples import find_example
from hasim.experiments.sweep_spec import SweepSpec, load_sweep, parse_sweep

SweepSource = str | Path | Mapping[str, Any]


def parse_value(key: str, text: str) -> Any:
    """A ``--set`` value read as a TOML literal (``true``, ``0.5``, ``[1, 2]``), else kept as a string."""
    return toml_literal(key, text)


def sweep_path(source: str | Path) -> Path:
    """A sweep file: the path itself if it exists, else the packaged experiment of that name."""
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir() and (path / "sweep.toml").is_file():
        return path / "sweep.toml"
    if isinstance(source, str) and "/" not in source and not source.endswith(".toml"):
        return find_example(source, "sweep").path
    raise ConfigError(str(source), "no such sweep file")


def _apply_sets(doc: dict[str, Any], sets: Mapping[str, Any]) -> None:
    if not isinstance(sets, Mapping):
        raise ConfigError("overrides", f"got {type(sets).__name__}; expected a mapping of dotted keys")
    for key, value in sets.items():
        if not isinstance(key, str):
            raise ConfigError(repr(key), "expected a dotted key (a string), as in sweep.replications")
        if key.startswith("sweep."):
            table = doc.setdefault("sweep", {})
            if not isinstance(table, dict):
                raise ConfigError("sweep", "expected a table")
            table[key[len("sweep.") :]] = value
        else:
            fixed = doc.setdefault("fixed", {})
            if not isinstance(fixed, dict):
                raise ConfigError("fixed", "expected a table")
            fixed[key] = value


def _resolve_base_name(doc: dict[str, Any], folder: Path) -> None:
    """A dict sweep may name a packaged scenario (``base = "site_to_site"``) instead of a file."""
    sweep = doc.get("sweep")
    base = sweep.get("base") if isinstance(sweep, dict) else None
    if isinstance(base, str) and not (folder / base).exists() and not base.endswith(".toml"):
        assert isinstance(sweep, dict)
        sweep["base"] = str(find_example(base, "scenario").path)


def load_sweep_source(source: SweepSource, sets: Mapping[str, Any] | None = None) -> SweepSpec:
    """Parse the sweep ``source`` with ``sets`` applied; errors name the key (ConfigError)."""
    if isinstance(source, Mapping):
        doc = copy.deepcopy(dict(source))
        sweep = doc.get("sweep")
        if not isinstance(sweep, Mapping) or not isinstance(sweep.get("name"), str):
            raise ConfigError("sweep.name", "required for a sweep given as a dict")
        path = Path.cwd() / f"{sweep['name']}.sweep.toml"
        _resolve_base_name(doc, path.parent)
        _apply_sets(doc, sets or {})
        return parse_sweep(_dumps(doc), path)
    if not isinstance(source, str | Path):
        raise ConfigError(
            "sweep", f"got {type(source).__name__}; expected a sweep file, an experiment's name or a dict"
        )
    path = sweep_path(source)
    if not sets:
        return load_sweep(path)
    text = read_utf8(path, "a sweep file (TOML)")
    doc = parse_toml(text, str(path))
    _apply_sets(doc, sets)
    return parse_sweep(_dumps(doc), path)


def _dumps(doc: Mapping[str, Any]) -> str:
    try:
        return tomli_w.dumps(doc)
    except TypeError as exc:
        raise ConfigError("sweep", f"cannot be written as TOML: {exc}") from None
