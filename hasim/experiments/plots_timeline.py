"""The timeline of one failover: both sides' Message IDs and ESP counters, and the events between.

Input: the flat ``timeline`` records of one run (``RunResult.records["timeline"]`` or the rows of
``timelines.parquet``): columns ``time`` (s), ``node``, ``kind`` and ``value``. Rows with a numeric
value are counter samples (one line per node and kind); rows without one are events (fault,
detection, takeover, sync exchange...) drawn as vertical markers. Counters whose kind names a
Message ID go to the top panel, ESP sequence numbers to the bottom one (RFC 6311 sections 4-5 sync
exactly these two families), anything else to a third panel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hasim.experiments.plot_style import OKABE_ITO, new_figure, style_cycle

_PANELS = [
    ("IKE Message ID", ("message_id", "mid")),
    ("ESP sequence number (packets)", ("esp", "seq", "replay", "counter")),
]
_EVENT_STYLE = {"fault": ":", "crash": ":", "detect": "--", "takeover": "-", "sync": "-."}


def _panel_of(kind: str) -> int:
    k = kind.lower()
    for i, (_, needles) in enumerate(_PANELS):
        if any(n in k for n in needles):
            return i
    return len(_PANELS)


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def timeline(
    records: pd.DataFrame,
    *,
    scenario: str = "",
    kinds: Sequence[str] | None = None,
    events: Sequence[str] | None = None,
    window: tuple[float, float] | None = None,
) -> Figure:
    """Counters over time per node, one panel per counter family, events as labelled vertical lines.

    ``kinds`` limits the counter series, ``events`` the event kinds, ``window`` the time range (s).
    """
    for col in ("time", "node", "kind"):
        if col not in records.columns:
            raise ValueError(f"timeline records need a {col!r} column; got {list(records.columns)}")
    df = records.copy()
    if window is not None:
        df = df[(df["time"] >= window[0]) & (df["time"] <= window[1])]
    values = _numeric(df["value"]) if "value" in df.columns else pd.Series(np.nan, index=df.index)
    series = df[values.notna()].assign(value=values[values.notna()])
    marks = df[values.isna()]
    if kinds is not None:
        series = series[series["kind"].isin(kinds)]
    if events is not None:
        marks = marks[marks["kind"].isin(events)]
    used = sorted({_panel_of(k) for k in series["kind"]}) or [0]
    fig = new_figure(width=8.0, height=2.6 * len(used) + 0.8)
    axes = fig.subplots(len(used), 1, sharex=True, squeeze=False)[:, 0]
    for ax, panel in zip(axes, used, strict=True):
        part = series[series["kind"].map(_panel_of) == panel]
        styles = style_cycle()
        for (node, kind), g in part.groupby(["node", "kind"], sort=True):
            colour, _marker, dash = next(styles)
            g = g.sort_values("time")
            ax.step(
                g["time"], g["value"], where="post", color=colour, linestyle=dash, label=f"{node}: {kind}"
            )
        ax.set_ylabel(_PANELS[panel][0] if panel < len(_PANELS) else "value")
        ax.grid(True, alpha=0.3)
        if not part.empty:
            ax.legend(fontsize="x-small", loc="upper left")
    _draw_events(list(axes), marks)
    axes[-1].set_xlabel("Simulated time (s)")
    title = "Failover timeline"
    if scenario:
        title += f" | scenario: {scenario}"
    fig.suptitle(title)
    return fig


def _draw_events(axes: Sequence[Axes], marks: pd.DataFrame) -> None:
    if marks.empty:
        return
    colours: dict[str, str] = {}
    for kind in dict.fromkeys(marks["kind"]):
        colours[kind] = OKABE_ITO[(len(colours) + 3) % len(OKABE_ITO)]
    top = axes[0]
    seen: set[str] = set()
    for _, row in marks.sort_values("time").iterrows():
        kind = str(row["kind"])
        style = next((s for key, s in _EVENT_STYLE.items() if key in kind.lower()), "-")
        for ax in axes:
            ax.axvline(float(row["time"]), color=colours[kind], linestyle=style, linewidth=1.2, alpha=0.9)
        if kind not in seen:
            seen.add(kind)
            top.annotate(
                f"{kind} ({row['node']})",
                xy=(float(row["time"]), 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2 - 10 * (len(seen) - 1)),
                textcoords="offset points",
                fontsize="x-small",
                color=colours[kind],
                va="top",
                rotation=0,
            )
