"""The results folder of a sweep: crash-safe run fragments, runs.parquet, summary.csv, manifest.json.

Layout of ``results/<sweep>/``:

- ``parts/<run_id>.json``: one file per finished run, written as a temp file then ``os.replace``d,
  so a sweep killed at any moment (SIGKILL included) leaves only whole fragments behind.
- ``runs.parquet``: all runs, one row each, sorted by run index; rebuilt from itself plus the
  fragments (atomically: temp file + ``os.replace``), after which the fragments are removed.
- ``summary.csv``: per parameter point, mean and 95% confidence interval of every metric (chosen by
  the metric's kind, ``intervals.py``) with the runs that defined it and those that did not.
- ``manifest.json``: provenance (see runner.py).
- ``timelines.parquet``: event records of the runs named by ``[[timelines]]`` (optional).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hasim.errors import ConfigError, shown
from hasim.experiments.intervals import metric_interval
from hasim.experiments.metric_kinds import MetricKind, kind_of

# Columns that are not metrics; parameter columns come from the sweep.
ID_COLUMNS = ["run_id", "index", "point", "replication", "seed"]
META_COLUMNS = ["error", "run_wall_s", "config", "hasim_version", "git_revision"]
# Columns that legitimately differ between two executions of the same run.
VOLATILE_COLUMNS = ["run_wall_s", "wall_time_s", "git_revision"]
# Columns summary.csv adds per point; with the above, names no parameter column may take.
SUMMARY_COLUMNS = ["n_runs", "n_errors"]
RESERVED_COLUMNS = frozenset(ID_COLUMNS + META_COLUMNS + SUMMARY_COLUMNS)
_SUMMARY_SUFFIXES = ("_mean", "_ci_low", "_ci_high")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _replications(value: Any) -> bool:
    if isinstance(value, dict):
        numbers = [value.get(k) for k in ("min", "max", "half_width")]
        return isinstance(value.get("metric"), str) and all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
        )
    return isinstance(value, int) and not isinstance(value, bool)


# The manifest fields that readers (report, plot, --resume) use, with the type the sweep wrote.
_MANIFEST_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "sweep": (lambda v: isinstance(v, str), "a string"),
    "sweep_file": (lambda v: v is None or isinstance(v, str), "a path"),
    "sweep_toml": (lambda v: isinstance(v, str), "the sweep file's text"),
    "base_toml": (lambda v: isinstance(v, str), "the base scenario's text"),
    "status": (lambda v: isinstance(v, str), "a string"),
    "param_columns": (_strings, "a list of column names"),
    "metric_kinds": (
        lambda v: v is None or (isinstance(v, dict) and all(isinstance(k, str) for k in v.values())),
        "a table of metric -> kind",
    ),
    "replications": (_replications, "a count or { min, max, metric, half_width }"),
    "resumed_at": (_strings, "a list of times"),
    "mixed_results": (_strings, "a list"),
    "edited_since_start": (_strings, "a list"),
}


def check_folder_name(name: object, key: str) -> str:
    """``name`` if it is one plain folder name inside results/, else ConfigError naming ``key``.

    ``.``, ``..``, absolute paths and separators would put (and with ``--force`` delete) results
    outside their own folder.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(key, f"expected a folder name, got {name!r}")
    if name in (".", "..") or any(c in name for c in "/\\\0") or os.path.isabs(name):
        raise ConfigError(key, f"got {name!r}; expected one folder name (no '.', '..', '/', '\\' or NUL)")
    if len(name.encode()) > _NAME_MAX:  # refused by the file system only when the results are written
        raise ConfigError(
            key, f"got a name of {len(name.encode())} bytes; a folder name has at most {_NAME_MAX}"
        )
    return name


_NAME_MAX = 255  # bytes of one file name on Linux (NAME_MAX), macOS and Windows file systems


def check_column_name(name: str, key: str) -> None:
    """ConfigError naming ``key`` when a parameter column would overwrite a bookkeeping column."""
    if name in RESERVED_COLUMNS or name.endswith(_SUMMARY_SUFFIXES):
        raise ConfigError(
            key,
            f"column {name!r} is a result column of every sweep ({', '.join(sorted(RESERVED_COLUMNS))}, "
            "*_mean, *_ci_low, *_ci_high); choose another name",
        )


def read_table(path: Path, reader: Callable[[Path], pd.DataFrame], fix: str) -> pd.DataFrame:
    """``reader(path)``, with a damaged or unreadable file as one ConfigError naming it and ``fix``."""
    try:
        return reader(path)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # pyarrow, pandas and codecs each raise their own kinds for a damaged file
        what = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ConfigError(str(path), f"damaged or not a {path.suffix[1:]} file ({what}); {fix}") from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of atomic_write_bytes."""
    atomic_write_bytes(path, text.encode())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


class ResultsDir:
    """One sweep's results folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = self.path / "parts"
        self.runs_path = self.path / "runs.parquet"
        self.summary_path = self.path / "summary.csv"
        self.manifest_path = self.path / "manifest.json"
        self.timelines_path = self.path / "timelines.parquet"

    def has_results(self) -> bool:
        """True when a previous sweep left runs or a manifest here."""
        return (
            self.manifest_path.exists()
            or self.runs_path.exists()
            or (self.parts.exists() and any(self.parts.glob("*.json")))
        )

    def clear(self) -> None:
        """Remove previous results (``--force`` without ``--resume``)."""
        for p in (self.runs_path, self.summary_path, self.manifest_path, self.timelines_path):
            p.unlink(missing_ok=True)
        if self.parts.exists():
            for p in self.parts.iterdir():
                p.unlink()
            self.parts.rmdir()

    def write_part(self, row: Mapping[str, Any]) -> None:
        """Record one finished run, crash-safely."""
        text = json.dumps(row, default=_json_default, allow_nan=True)
        atomic_write_text(self.parts / f"{row['run_id']}.json", text)

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if there is none yet; a damaged one is a ConfigError naming it."""
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_bytes().decode("utf-8"))
        except OSError as exc:
            raise ConfigError(str(self.manifest_path), f"cannot read: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, deep nesting
            reason = str(exc)[:120] if isinstance(exc, ValueError) else "nested too deeply"
            raise self.damaged_manifest(reason) from None
        if not isinstance(data, dict):
            raise self.damaged_manifest("not a JSON object")
        for field, (fits, want) in _MANIFEST_FIELDS.items():
            if field in data and not fits(data[field]):
                raise self.damaged_manifest(f"{field} is {shown(data[field])}, not {want}")
        return data

    def damaged_manifest(self, reason: str) -> ConfigError:
        """The error for a manifest that cannot be what a sweep wrote."""
        return ConfigError(str(self.manifest_path), f"damaged manifest ({reason}); --force starts over")

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Write the manifest atomically (pretty, stable key order)."""
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, default=_json_default) + "\n")

    def _part_rows(self) -> list[dict[str, Any]]:
        rows = []
        if self.parts.exists():
            for p in sorted(self.parts.glob("*.json")):
                try:
                    row = json.loads(p.read_bytes().decode("utf-8"))
                except OSError as exc:
                    raise ConfigError(str(p), f"cannot read: {exc.strerror or exc}") from None
                except ValueError as exc:
                    row = exc
                if not isinstance(row, dict) or "run_id" not in row or "index" not in row:
                    raise ConfigError(
                        str(p),
                        "damaged run fragment; delete it to run that run again, or --force to start over",
                    )
                rows.append(row)
        return rows

    def load_runs(self) -> pd.DataFrame:
        """Every recorded run: runs.parquet plus fragments not yet consolidated (latest wins)."""
        frames = []
        if self.runs_path.exists():
            runs = read_table(self.runs_path, pd.read_parquet, "--force starts the sweep over")
            if "run_id" not in runs.columns or "index" not in runs.columns:
                raise ConfigError(
                    str(self.runs_path), "not a runs table (no run_id, index); --force starts over"
                )
            if len(runs):  # an empty table would widen every integer column of the fragments to float
                frames.append(runs)
        parts = self._part_rows()
        if parts:
            frames.append(pd.DataFrame(parts))
        if not frames:
            return pd.DataFrame(columns=ID_COLUMNS)
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        df = df.drop_duplicates("run_id", keep="last")
        return df.sort_values("index", kind="stable").reset_index(drop=True)

    def consolidate(
        self,
        order: Iterable[str],
        keep: set[str] | None = None,
        positions: Mapping[str, tuple[int, int]] | None = None,
    ) -> pd.DataFrame:
        """Fold fragments into runs.parquet (atomically), keeping runs in ``keep``; then drop the fragments.

        ``order`` is the preferred column order (ids, parameters); other columns follow as found.
        ``positions`` (run id -> (index, point)) renumbers rows recorded when the sweep had other
        points or replications, so that a resumed sweep's runs are numbered as a fresh one's.
        """
        df = self.load_runs()
        if keep is not None:
            df = df[df["run_id"].isin(keep)].reset_index(drop=True)
        if positions is not None and len(df):
            spare = len(positions)  # rows kept for a later round: after the current ones, no point yet
            where = [positions.get(r, (spare + k, -1)) for k, r in enumerate(df["run_id"])]
            df["index"] = [w[0] for w in where]
            df["point"] = [w[1] for w in where]
            df = df.sort_values("index", kind="stable").reset_index(drop=True)
        first = [c for c in order if c in df.columns]
        df = df[first + [c for c in df.columns if c not in first]]
        if "error" in df.columns:
            df["error"] = df["error"].astype("object").where(df["error"].notna(), None)
        fd, tmp = tempfile.mkstemp(prefix=".runs.", suffix=".parquet.tmp", dir=self.path)
        os.fchmod(fd, 0o644)
        os.close(fd)
        try:
            df.to_parquet(tmp, index=False)
            os.replace(tmp, self.runs_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for p in self.parts.glob("*.json") if self.parts.exists() else []:
            p.unlink()
        if self.parts.exists() and not any(self.parts.iterdir()):
            self.parts.rmdir()
        return df


def metric_columns(runs: pd.DataFrame, params: Iterable[str]) -> list[str]:
    """The numeric columns of a runs table that are metrics (not ids, parameters or bookkeeping)."""
    skip = set(ID_COLUMNS) | set(META_COLUMNS) | set(params)
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def summarize(
    runs: pd.DataFrame,
    params: list[str],
    kinds: Mapping[str, MetricKind] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per parameter point: run and error counts, and mean with confidence interval of each metric.

    Columns: ``point``, the parameter columns, ``n_runs``, ``n_errors``, then for each metric ``m``:
    ``m_mean``, ``m_ci_low``, ``m_ci_high`` (the interval of its kind, ``intervals.py``; NaN with a
    single defining run), ``m_n`` (runs that defined it) and ``m_undefined`` (finished runs where it
    was NaN). Failed runs count in ``n_errors`` and in no metric's ``n``.
    """
    metrics = metric_columns(runs, params)
    rows = []
    for point, group in runs.groupby("point", sort=True):
        ok = group[group["error"].isna()] if "error" in group.columns else group
        row: dict[str, Any] = {"point": point}
        first = group.iloc[0]
        for p in params:
            row[p] = first[p] if p in group.columns else None
        row["n_runs"] = len(group)
        row["n_errors"] = len(group) - len(ok)
        for m in metrics:
            values = [math.nan if v is None else float(v) for v in ok[m]]
            iv = metric_interval(values, kind_of(m, kinds), level)
            row[f"{m}_mean"], row[f"{m}_ci_low"], row[f"{m}_ci_high"] = iv.mean, iv.low, iv.high
            row[f"{m}_n"], row[f"{m}_undefined"] = iv.n, iv.undefined
        rows.append(row)
    return pd.DataFrame(rows)


def write_summary(rd: ResultsDir, summary: pd.DataFrame) -> None:
    """summary.csv, atomically; floats at full precision so that reruns compare exactly."""
    atomic_write_text(rd.summary_path, summary.to_csv(index=False, float_format="%.10g"))
