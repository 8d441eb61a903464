"""Which figures a sweep's results get: the ``[report]`` section of the sweep file, or defaults.

Figure specs (``[[report.figures]]`` tables)::

    kind = "heatmap"   x, y, metric, [facet], [where], [caption], [vmin], [vmax]
    kind = "curves"    x, metric, [group], [facet], [where], [logx], [logy], [caption]
    kind = "timeline"  [timeline] (a [[timelines]] name), [window = [t0, t1]], [esp = "out" | "in"],
                       [caption]

Both ``hasim plot`` and ``hasim report`` draw from here, so a figure in a report and in the figures
folder are the same figure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from hasim.errors import ConfigError, parse_toml, shown
from hasim.experiments.config_tree import flatten_overrides
from hasim.experiments.intervals import method_name
from hasim.experiments.metric_kinds import KINDS
from hasim.experiments.plots_sweep import curves, heatmap
from hasim.experiments.plots_timeline import failover_timeline
from hasim.experiments.report_spec import check_recorded_sweep, check_report
from hasim.experiments.results_lock import results_status
from hasim.experiments.results_store import ResultsDir, read_table


@dataclass(frozen=True)
class LoadedResults:
    """What the plots and the report read from a results folder."""

    path: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    runs: pd.DataFrame
    timelines: pd.DataFrame | None

    @property
    def sweep_doc(self) -> dict[str, Any]:
        """The sweep file as recorded in the manifest (load_results checked its shape)."""
        return parse_toml(self.manifest.get("sweep_toml", ""), "sweep_toml")

    @property
    def first_config(self) -> dict[str, Any]:
        """The resolved config of the first run ({} without runs); damaged is a ConfigError naming
        the runs table."""
        if "config" not in self.runs.columns or not len(self.runs):
            return {}
        text = self.runs["config"].iloc[0]
        try:
            config = json.loads(text) if isinstance(text, str) else None
        except (ValueError, RecursionError):
            config = None
        if not isinstance(config, dict):
            raise ConfigError(
                str(self.path / "runs.parquet"),
                f"damaged runs table (the config of run 0 is {shown(text)}, not a JSON object); "
                "--force starts the sweep over",
            )
        return config

    @property
    def params(self) -> list[str]:
        """The parameter columns of the sweep."""
        return list(self.manifest.get("param_columns", []))

    @property
    def scenario(self) -> str:
        """What the runs simulate, for figure subtitles: the base scenario's name, unless the sweep
        changes the fault schedule (the name would then describe only the base, e.g. "one crash"
        for a sweep over double and simultaneous failovers): then the sweep's description."""
        doc = self.sweep_doc
        set_keys = [str(k) for k in doc.get("fixed", {})]
        for axis in doc.get("axes", []):
            set_keys += _axis_keys(axis)
            set_keys += [str(k) for point in axis.get("points", []) for k in point.get("set", {})]
        scenario = self.first_config.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else None
        if name and not any(k.startswith("faults") for k in set_keys):
            return str(name)
        description = str(doc.get("sweep", {}).get("description", "")).rstrip(".")
        return description or str(self.manifest.get("sweep", ""))

    def replications_text(self) -> str:
        """``4 replications per point`` (or the range when points differ, as in adaptive sweeps)."""
        counts = pd.to_numeric(self.summary.get("n_runs", pd.Series(dtype=float)), errors="coerce").dropna()
        if counts.empty:
            return "replications unknown"
        lo, hi = int(counts.min()), int(counts.max())
        word = "replication" if hi == 1 else "replications"
        return f"{lo} {word} per point" if lo == hi else f"{lo} to {hi} {word} per point"

    def interval_text(self, metric: str) -> str:
        """The interval method of ``metric`` in this summary: by its kind when the sweep recorded
        the metric kinds, else the Student t interval that summaries used before kinds existed."""
        kinds = self.manifest.get("metric_kinds") or {}
        if metric in kinds and kinds[metric] in KINDS:
            return method_name(KINDS[kinds[metric]])
        return "95% Student t interval"


def load_results(path: str | Path) -> LoadedResults:
    """Read manifest.json, summary.csv, runs.parquet and timelines.parquet of a results folder."""
    rd = ResultsDir(path)
    manifest = rd.read_manifest()
    if manifest is None:
        raise ConfigError(str(rd.path), "no manifest.json: not a sweep results folder")
    if not rd.summary_path.exists():
        raise ConfigError(
            str(rd.path), "no summary.csv (the sweep has not finished once; run it with --resume)"
        )
    summary = read_table(rd.summary_path, pd.read_csv, "run the sweep again with --resume")
    missing = {"point", "n_runs", "n_errors"} - set(summary.columns)
    if missing:
        raise ConfigError(
            str(rd.summary_path),
            f"not a sweep summary (no {', '.join(sorted(missing))}); run the sweep again with --resume",
        )
    _check_counts(summary, rd.summary_path)
    runs = rd.load_runs()
    timelines = (
        read_table(rd.timelines_path, pd.read_parquet, "run the sweep again with --resume")
        if rd.timelines_path.exists()
        else None
    )
    if timelines is not None and "timeline" not in timelines.columns:
        raise ConfigError(
            str(rd.timelines_path), "not a timelines table (no timeline column); --resume rewrites it"
        )
    try:
        check_recorded_sweep(parse_toml(manifest.get("sweep_toml", ""), "sweep_toml"))
    except ConfigError as exc:
        raise rd.damaged_manifest(f"its sweep file: {exc}") from None
    manifest = {**manifest, "status": results_status(rd.path, manifest)}
    res = LoadedResults(rd.path, manifest, summary, runs, timelines)
    res.first_config  # noqa: B018 - a damaged config is refused here, not inside a figure
    return res


def figure_key(res: LoadedResults, index: int) -> str:
    """Where figure ``index`` of figure_specs comes from, for errors: its [[report.figures]] table, or
    the default figure it is when the sweep names none."""
    named = res.sweep_doc.get("report", {}).get("figures") is not None
    return f"report.figures[{index}]" if named else f"figure {index} (a default: the sweep names none)"


def _check_counts(summary: pd.DataFrame, path: Path) -> None:
    """The summary's counts are whole numbers and its points distinct, as the runner wrote them."""
    metrics = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    counts = ["point", "n_runs", "n_errors", *(f"{m}_{n}" for m in metrics for n in ("n", "undefined"))]
    for col in [c for c in counts if c in summary.columns]:
        if not pd.api.types.is_integer_dtype(summary[col]):
            raise ConfigError(
                str(path),
                f"damaged summary (column {col} is not whole numbers); run the sweep again with --resume",
            )
    if not summary["point"].is_unique:
        raise ConfigError(str(path), "damaged summary (a point twice); run the sweep again with --resume")


def figure_specs(res: LoadedResults) -> list[dict[str, Any]]:
    """The figure specs of the sweep, validated; defaults when the sweep file names none."""
    specs = check_report(res.sweep_doc.get("report", {}))
    return _default_specs(res) if specs is None else specs


def axis_columns(res: LoadedResults) -> list[str]:
    """The columns the sweep's axes define, in axis order: list-axis labels and grid/range/zip keys.

    Keys a list axis sets (``cluster.members`` for a ``case``) are parameter columns too, but they
    move with that axis's label, so figures and the summary table leave them out.
    """
    cols: list[str] = []
    for axis in res.sweep_doc.get("axes", []):
        names = [axis.get("name")] if axis.get("kind") == "list" else _axis_keys(axis)
        cols += [n for n in names if isinstance(n, str) and n in res.summary and n not in cols]
    return cols


def _axis_keys(axis: dict[str, Any]) -> list[str]:
    """The config keys a grid, range or zip axis varies (a zip's are the keys of its values table)."""
    if axis.get("kind") == "zip" and isinstance(axis.get("values"), dict):
        return list(flatten_overrides(axis["values"], "axes"))
    return [axis["key"]] if isinstance(axis.get("key"), str) else []


def _swept_keys(res: LoadedResults) -> tuple[list[str], list[str]]:
    """Numeric keys of grid/range/zip axes, and label columns of list axes."""
    labels = {a.get("name") for a in res.sweep_doc.get("axes", []) if a.get("kind") == "list"}
    cols = axis_columns(res)
    numeric = [c for c in cols if c not in labels and pd.api.types.is_numeric_dtype(res.summary[c])]
    return numeric, [c for c in cols if c in labels]


def _varying_metric(res: LoadedResults) -> str | None:
    """The first of the usual metrics whose mean differs between points (else the first metric)."""
    preferred = ["sa_survival", "esp_out_replay_drops", "esp_in_replay_drops", "recovery_time_s"]
    means = [c[: -len("_mean")] for c in res.summary.columns if c.endswith("_mean")]
    for metric in [m for m in preferred if m in means] + means:
        if res.summary[f"{metric}_mean"].nunique(dropna=True) > 1:
            return metric
    return means[0] if means else None


def _default_specs(res: LoadedResults) -> list[dict[str, Any]]:
    numeric, other = _swept_keys(res)
    metric = _varying_metric(res)
    specs: list[dict[str, Any]] = []
    if metric and len(numeric) >= 2:
        facet = other[0] if other else None
        specs.append({"kind": "heatmap", "x": numeric[0], "y": numeric[1], "metric": metric, "facet": facet})
    elif metric and numeric:
        specs.append(
            {"kind": "curves", "x": numeric[0], "metric": metric, "group": other[0] if other else None}
        )
    if res.timelines is not None:
        for name in dict.fromkeys(res.timelines["timeline"]):
            specs.append({"kind": "timeline", "timeline": name})
    return specs


def make_figure(spec: dict[str, Any], res: LoadedResults, where: str = "report.figures") -> Figure:
    """Draw one figure spec from the loaded results; a spec the results cannot draw (a column they
    lack, several summary rows per point of the figure) is a ConfigError naming ``where``."""
    for field in ("x", "y", "group", "facet"):
        if spec.get(field) is not None and spec[field] not in res.summary.columns:
            raise ConfigError(f"{where}.{field}", f"no column {spec[field]!r} in the summary")
    if spec["kind"] != "timeline" and f"{spec.get('metric', 'sa_survival')}_mean" not in res.summary:
        raise ConfigError(
            f"{where}.metric", f"no metric {spec.get('metric', 'sa_survival')!r} in the summary"
        )
    try:
        return _draw(spec, res)
    except ValueError as exc:  # the plot's own check of the rows the spec selects
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(where, str(exc)) from None


def _draw(spec: dict[str, Any], res: LoadedResults) -> Figure:
    kind = spec["kind"]
    if kind == "heatmap":
        return heatmap(
            res.summary,
            spec["x"],
            spec["y"],
            spec.get("metric", "sa_survival"),
            facet=spec.get("facet"),
            where=spec.get("where"),
            scenario=res.scenario,
            vmin=spec.get("vmin"),
            vmax=spec.get("vmax"),
        )
    if kind == "curves":
        return curves(
            res.summary,
            spec["x"],
            spec["metric"],
            group=spec.get("group"),
            facet=spec.get("facet"),
            where=spec.get("where"),
            scenario=res.scenario,
            logx=bool(spec.get("logx", False)),
            logy=bool(spec.get("logy", False)),
        )
    if res.timelines is None:
        raise ConfigError(
            "report.figures", "a timeline figure needs timelines.parquet ([[timelines]] in the sweep)"
        )
    tl = res.timelines
    name = spec.get("timeline", tl["timeline"].iloc[0])
    rows = tl[tl["timeline"] == name]
    if rows.empty:
        raise ConfigError("report.figures", f"no timeline records named {name!r}")
    window = spec.get("window")
    title = f"{name} | {res.scenario}"
    return failover_timeline(
        rows,
        scenario=title,
        window=(float(window[0]), float(window[1])) if window else None,
        esp=str(spec.get("esp", "out")),
    )


def figure_caption(spec: dict[str, Any], res: LoadedResults | None = None) -> str:
    """The caption of a figure: the author's, or one saying what is plotted; with ``res``, followed
    by how many replications each point has and which interval its bands or table give."""
    kind = spec["kind"]
    if spec.get("caption"):
        text = str(spec["caption"])
    elif kind == "heatmap":
        text = f"Mean {spec.get('metric', 'sa_survival')} over {spec['x']} x {spec['y']}"
        text += (f", one panel per {spec['facet']}" if spec.get("facet") else "") + "."
    elif kind == "curves":
        text = f"Mean {spec['metric']} vs {spec['x']} with confidence bands"
        text += (f", one line per {spec['group']}" if spec.get("group") else "") + "."
    else:
        text = f"Timeline of one failover ({spec.get('timeline', 'first recorded run')})."
    if res is None:
        return text
    if kind == "timeline":
        return f"{text} One run, not an average."
    metric = str(spec.get("metric", "sa_survival"))
    where = "bands" if kind == "curves" else "the summary table's intervals"
    return f"{text} Means over {res.replications_text()}; {where}: {res.interval_text(metric)}."


def figure_filename(index: int, spec: dict[str, Any]) -> str:
    """A stable file name for a figure spec."""
    what = spec.get("metric") or spec.get("timeline") or "figure"
    safe = re.sub(r"[^A-Za-z0-9]+", "_", str(what)).strip("_") or "figure"
    return f"{index:02d}-{spec['kind']}-{safe}"
