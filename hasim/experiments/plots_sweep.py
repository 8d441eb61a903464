"""Figures of a sweep's summary: heatmaps over two axes and metric-vs-parameter curves with CI bands.

Pure functions: a summary DataFrame (summary.csv: parameter columns, ``<metric>_mean``,
``<metric>_ci_low``, ``<metric>_ci_high``) in, a ``matplotlib.figure.Figure`` out. No files, no
global state; callers (CLI, report, notebooks) decide where figures go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from hasim.experiments.plot_style import (
    HEATMAP_CMAP,
    format_value,
    label_for,
    new_figure,
    plain_number,
    style_cycle,
    ticks_at,
    title_text,
    value_label,
)

MAX_COLUMNS = 4  # panels per row: more facets wrap onto further rows


def _text_colour(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on a cell of this colour (relative luminance)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def _filter(df: pd.DataFrame, where: Mapping[str, Any] | None) -> pd.DataFrame:
    if not where:
        return df
    mask = pd.Series(True, index=df.index)
    for key, value in where.items():
        if key not in df.columns:
            raise ValueError(f"no column {key!r} to filter on; columns: {list(df.columns)}")
        mask &= df[key] == value
    return df[mask]


def _check_unique(df: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    dup = df.duplicated(subset=list(keys), keep=False)
    if dup.any():
        raise ValueError(
            f"{what}: several summary rows per {list(keys)}; fix the other parameters with `where=`"
        )


def _ordered(values: pd.Series) -> list[Any]:
    """Numbers in increasing order; labels (variants, schedules) in the order the sweep lists them."""
    uniq = list(dict.fromkeys(values.tolist()))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in uniq):
        return sorted(uniq)
    return uniq


def heatmap(
    summary: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "sa_survival",
    *,
    facet: str | None = None,
    where: Mapping[str, Any] | None = None,
    scenario: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = True,
) -> Figure:
    """Mean of ``metric`` over a grid of ``x`` by ``y`` (one panel per value of ``facet``, at most
    four to a row).

    E.g. SA survival over sync interval x skip forward, one panel for RFC 6311 and one for legacy.
    Cells without data are left blank; the colour scale is shared across panels; each cell shows
    its value as a plain number in black or white, whichever reads better on its colour.
    """
    df = _filter(summary, where)
    col = f"{metric}_mean"
    if col not in df.columns:
        raise ValueError(f"summary has no column {col!r}")
    facets = _ordered(df[facet]) if facet else [None]
    xs, ys = _ordered(df[x]), _ordered(df[y])
    _check_unique(df, [x, y] + ([facet] if facet else []), "heatmap")
    values = df[col].astype(float)
    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    if not math.isfinite(lo) or not math.isfinite(hi) or lo == hi:
        lo, hi = (lo - 0.5, hi + 0.5) if math.isfinite(lo) else (0.0, 1.0)
    ncols = min(len(facets), MAX_COLUMNS)
    nrows = math.ceil(len(facets) / ncols)
    cell_w = max(3.2, 0.62 * len(xs) + 1.4)
    width = max(5.0, cell_w * ncols + 1.6)
    fig = new_figure(width=width, height=max(3.2, 0.42 * len(ys) + 1.9) * nrows + 0.6)
    grid_axes = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid_axes.flat)
    for extra in axes[len(facets) :]:
        extra.remove()
    axes = axes[: len(facets)]
    cmap = colormaps[HEATMAP_CMAP]
    image = None
    for k, (ax, fval) in enumerate(zip(axes, facets, strict=True)):
        part = df if fval is None else df[df[facet] == fval]
        grid = np.full((len(ys), len(xs)), np.nan)
        for _, row in part.iterrows():
            grid[ys.index(row[y]), xs.index(row[x])] = float(row[col])
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_xticks(range(len(xs)), [format_value(v) for v in xs], rotation=45 if len(xs) > 6 else 0)
        ax.set_yticks(range(len(ys)), [format_value(v) for v in ys])
        if k // ncols == nrows - 1 or k + ncols >= len(facets):
            ax.set_xlabel(label_for(x))
        if k % ncols == 0:
            ax.set_ylabel(label_for(y))
        if fval is not None:
            ax.set_title(value_label(facet or "", fval), fontsize="medium")
        if annotate and len(xs) * len(ys) <= 80:
            size = "small" if len(xs) <= 6 and ncols <= 2 else "x-small"
            for (i, j), v in np.ndenumerate(grid):
                if math.isfinite(v):
                    colour = _text_colour(cmap((v - lo) / (hi - lo)))
                    ax.text(j, i, plain_number(v), ha="center", va="center", fontsize=size, color=colour)
    if image is not None:
        fig.colorbar(image, ax=axes, label=label_for(metric), shrink=0.9)
    what = label_for(metric).split(" (")[0] + " (mean over replications)"
    fig.suptitle(title_text(what, _context(scenario, where), width), fontsize="medium")
    return fig


def curves(
    summary: pd.DataFrame,
    x: str,
    metric: str,
    *,
    group: str | None = None,
    facet: str | None = None,
    where: Mapping[str, Any] | None = None,
    scenario: str = "",
    logx: bool = False,
    logy: bool = False,
) -> Figure:
    """Mean of ``metric`` against ``x`` with its 95% confidence band, one line per ``group`` value.

    E.g. replay drops vs skip forward, one line per traffic rate; one panel per ``facet`` value.
    """
    df = _filter(summary, where)
    mean, low, high = f"{metric}_mean", f"{metric}_ci_low", f"{metric}_ci_high"
    if mean not in df.columns:
        raise ValueError(f"summary has no column {mean!r}")
    _check_unique(df, [x] + [c for c in (group, facet) if c], "curves")
    facets = _ordered(df[facet]) if facet else [None]
    width = max(6.4, 4.6 * len(facets))
    fig = new_figure(width=width, height=4.4)
    axes = fig.subplots(1, len(facets), squeeze=False, sharey=True)[0]
    groups = _ordered(df[group]) if group else [None]
    xs = _ordered(df[x])
    numeric_x = all(isinstance(v, int | float) and not isinstance(v, bool) for v in xs)
    for ax, fval in zip(axes, facets, strict=True):
        part = df if fval is None else df[df[facet] == fval]
        styles = style_cycle()
        for gval in groups:
            colour, marker, dash = next(styles)
            g = part if gval is None else part[part[group] == gval]
            g = g.sort_values(x)
            if g.empty:
                continue
            label = None if gval is None else value_label(group or "", gval)
            ax.plot(g[x], g[mean], color=colour, marker=marker, linestyle=dash, label=label)
            if low in g.columns and g[low].notna().any():
                ax.fill_between(
                    g[x], g[low].astype(float), g[high].astype(float), color=colour, alpha=0.2, linewidth=0
                )
        ax.set_xlabel(label_for(x))
        if logx:
            ax.set_xscale("log")
        if numeric_x and len(xs) <= 12:
            ticks_at(ax, xs, log=logx)
        if logy:
            ax.set_yscale("symlog", linthresh=1.0)
        if fval is not None:
            ax.set_title(value_label(facet or "", fval), fontsize="medium")
        ax.grid(True, alpha=0.3)
        if group:
            ax.legend(fontsize="small")
    axes[0].set_ylabel(label_for(metric))
    banded = low in df.columns and df[low].notna().any()
    what = f"{label_for(metric).split(' (')[0]}: mean over replications" + (
        " with 95% interval" if banded else ""
    )
    fig.suptitle(title_text(what, _context(scenario, where), width), fontsize="medium")
    return fig


def _context(scenario: str, where: Mapping[str, Any] | None) -> list[str]:
    parts = [scenario] if scenario else []
    if where:
        parts.append(", ".join(value_label(k, v) for k, v in where.items()))
    return parts
