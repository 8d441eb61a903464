"""The timeline of one failover: both sides' Message IDs, ESP drops, and the events between.

Input: the per-event records of one run (``RunResult.records``, or the rows of ``timelines.parquet``
for one timeline), as one DataFrame with a ``record`` column naming the record kind:

- ``ike_messages`` (time, src, message_id, response, notifies, lost): the top panel steps through
  the Message IDs of the requests each node sends (the peer's and each cluster member's); the
  RFC 6311 sync request (INFORMATIONAL with Message ID 0, section 4.2) is a star; lost messages are
  hollow; IKE messages dropped by a receiver (``drops`` with ``what = ike``) are crosses.
- ``sync_exchanges``: M1 and P1 carried by the sync request (RFC 6311 5.1) as labelled markers.
- ``drops`` (time, node, what, reason, count): ESP packets dropped, by reason (``no_receiver``
  while no member is active, ``replay`` for stale counters), bottom panel, as a rate in packets per
  second of simulated time over equal time bins (the bin width is in the axis label), log scale.
- ``timeline`` (time, node, kind, value): crash, takeover (= detection), sync sent/completed,
  partitions, loss bursts, SA deletions: vertical lines across all panels, named in one legend
  below them (labels written beside the lines ran into each other where events coincide).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hasim.experiments.plot_style import OKABE_ITO, format_value, new_figure, title_text

BINS = 100  # time bins across the window for the drop rate
NICE_WIDTHS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)

EVENT_KINDS = {
    "crash": (":", "#D55E00"),
    "takeover": ("-", "#009E73"),
    "sync_sent": ("-.", "#0072B2"),
    "sync_completed": ("--", "#0072B2"),
    "deleted": ("-", "#000000"),
    "partition": (":", "#CC79A7"),
    "loss_burst": (":", "#E69F00"),
    "grace_end": ("--", "#56B4E9"),
    "replay_accepted": (":", "#000000"),
}


def _part(records: pd.DataFrame, kind: str) -> pd.DataFrame:
    if "record" not in records.columns:
        return records if kind == "timeline" else records.iloc[0:0]
    return records[records["record"] == kind]


def _truthy(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v is True or v == 1 or str(v).lower() == "true")


def failover_timeline(
    records: pd.DataFrame,
    *,
    scenario: str = "",
    window: tuple[float, float] | None = None,
    sa: int | None = 0,
    events: Sequence[str] | None = None,
    esp: str = "out",
) -> Figure:
    """Message IDs of each node's requests (top), ESP counters (middle, when ``counters`` records are
    present) and ESP drops (bottom) around the failover events.

    ``window`` limits the time range (s); ``sa`` picks one IKE SA of a many-peer run (None: all);
    ``esp`` picks the direction of the counter panel: ``out`` (cluster to peer) or ``in``.
    """
    if "time" not in records.columns:
        raise ValueError(f"records have no column 'time'; columns: {list(records.columns)}")
    df = records
    if window is not None:
        df = df[(df["time"] >= window[0]) & (df["time"] <= window[1])]
    if sa is not None and "sa" in df.columns:
        df = df[(df["sa"].isna()) | (df["sa"] == sa) | (df["sa"] == -1)]
    counters = _part(df, "counters")
    if counters.empty:
        fig = new_figure(width=8.5, height=6.4)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        panels = [top, bottom]
    else:
        fig = new_figure(width=8.5, height=8.6)
        top, middle, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[3, 3, 2])
        _draw_esp_counters(middle, counters, esp)
        panels = [top, middle, bottom]
    _draw_message_ids(top, df)
    span = window if window is not None else (float(df["time"].min()), float(df["time"].max()))
    _draw_esp_drops(bottom, df, span)
    _draw_events(panels, _part(df, "timeline"), events if events is not None else list(EVENT_KINDS))
    bottom.set_xlabel("Simulated time (s)")
    fig.suptitle(title_text("Failover timeline", [scenario], 8.5), fontsize="medium")
    return fig


def _draw_message_ids(ax: Axes, df: pd.DataFrame) -> None:
    ike = _part(df, "ike_messages")
    if not ike.empty:
        requests = ike[~_truthy(ike["response"])]
        if "notifies" in requests.columns:
            is_sync = requests["notifies"].fillna("").astype(str).str.contains("MESSAGE_ID_SYNC")
        else:
            is_sync = pd.Series(False, index=requests.index)
        if "lost" in requests.columns:
            lost = _truthy(requests["lost"])
        else:
            lost = pd.Series(False, index=requests.index)
        normal = requests[~is_sync]
        for i, (src_key, group) in enumerate(normal.groupby("src", sort=True)):
            src = str(src_key)
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            g = pd.DataFrame(group).sort_values("time")
            ax.step(g["time"], g["message_id"], where="post", color=colour, alpha=0.6)
            ok, gone = g[~lost[g.index]], g[lost[g.index]]
            ax.plot(ok["time"], ok["message_id"], "o", color=colour, label=f"requests sent by {src}")
            if not gone.empty:
                ax.plot(
                    gone["time"], gone["message_id"], "o", mfc="none", color=colour, label=f"lost ({src})"
                )
        syncs = requests[is_sync]
        if not syncs.empty:
            ax.plot(
                syncs["time"],
                syncs["message_id"],
                "*",
                ms=12,
                color="#0072B2",
                label="RFC 6311 sync request (Message ID 0)",
            )
    sync = _part(df, "sync_exchanges")
    if not sync.empty and "m1" in sync.columns:
        sent = sync[(sync["kind"] == "sync_sent") & sync["m1"].notna()]
        ax.plot(sent["time"], sent["m1"], "v", color="#D55E00", ms=8, label="M1 in sync (member's next send)")
        ax.plot(
            sent["time"], sent["p1"], "^", color="#009E73", ms=8, label="P1 in sync (member's next receive)"
        )
    drops = _part(df, "drops")
    if not drops.empty:
        ike_drops = drops[(drops["what"] == "ike") & (pd.to_numeric(drops["message_id"]) >= 0)]
        for reason, g in ike_drops.groupby("reason", sort=True):
            ax.plot(g["time"], g["message_id"], "x", color="#000000", label=f"IKE dropped: {reason}")
    ax.set_ylabel("IKE Message ID")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small", loc="best", ncol=2)


def _draw_esp_counters(ax: Axes, counters: pd.DataFrame, direction: str = "out") -> None:
    """ESP sequence numbers of one direction around the failover.

    ``out`` (cluster to peer): each member's outbound counter (live), the standby's synced copy, the
    value imported at takeover, and the highest number the peer has accepted (its window top). Where
    a new active member resumes below the peer's top, the peer drops its packets as replays until
    the counter passes it (RFC 6311 5.2: the skip forward avoids exactly that). ``in`` (peer to
    cluster): the peer's outbound counter and each member's replay window top, live, synced and
    imported (RFC 6311 8.2: what a stale inbound window lets through or drops).
    """
    if direction not in ("out", "in"):
        raise ValueError(f"direction must be 'out' or 'in', got {direction!r}")
    member_col, peer_col = (
        ("esp_out_seq", "esp_in_top") if direction == "out" else ("esp_in_top", "esp_out_seq")
    )
    member_what = "outbound counter" if direction == "out" else "highest number accepted"
    peer_what = "highest number accepted" if direction == "out" else "outbound counter"
    c = counters.copy()
    for col in (member_col, peer_col):
        c[col] = pd.to_numeric(c[col], errors="coerce") if col in c.columns else float("nan")
    nodes = c["node"].astype(str)
    for i, node in enumerate(sorted(n for n in nodes.unique() if n.startswith("cluster"))):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        mine = c[nodes == node]
        live = mine[mine["view"] == "live"].sort_values("time")
        if not live.empty:
            ax.plot(live["time"], live[member_col], "-", color=colour, label=f"{node}: {member_what}")
        standby = mine[mine["view"] == "standby"].sort_values("time")
        if not standby.empty:
            ax.step(
                standby["time"],
                standby[member_col],
                where="post",
                color=colour,
                linestyle=":",
                marker=".",
                label=f"{node}: synced copy (standby)",
            )
        imported = mine[mine["view"] == "imported"]
        if not imported.empty:
            ax.plot(
                imported["time"],
                imported[member_col],
                "X",
                ms=9,
                color=colour,
                label=f"{node}: value at takeover",
            )
    for node in sorted(n for n in nodes.unique() if n.startswith("peer")):
        peer = c[(nodes == node) & (c["view"] == "live")].sort_values("time")
        if not peer.empty:
            ax.step(
                peer["time"],
                peer[peer_col],
                where="post",
                color="#000000",
                linestyle="--",
                label=f"{node}: {peer_what}",
            )
    ax.set_ylabel("ESP sequence number,\n" + ("cluster to peer" if direction == "out" else "peer to cluster"))
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small", loc="upper left")


def bin_width(span: tuple[float, float], bins: int = BINS) -> float:
    """A round bin width (0.1 s, 0.2 s, 0.5 s, 1 s, ...) giving about ``bins`` bins over ``span``."""
    wanted = max(span[1] - span[0], 1e-9) / bins
    return next((w for w in NICE_WIDTHS if w >= wanted), NICE_WIDTHS[-1])


def _draw_esp_drops(ax: Axes, df: pd.DataFrame, span: tuple[float, float]) -> None:
    """Dropped ESP packets per second of simulated time, summed over bins of equal width."""
    drops = _part(df, "drops")
    esp = drops[drops["what"].astype(str).str.startswith("esp")] if not drops.empty else drops
    width = bin_width(span)
    start = math.floor(span[0] / width) * width
    edges = np.arange(start, span[1] + width, width)
    if len(edges) < 2:
        edges = np.array([start, start + width])
    markers = ["s", "D", "^", "v", "o"]
    rates: list[float] = []
    for i, ((node, reason), g) in enumerate(esp.groupby(["node", "reason"], sort=True)):
        colour = OKABE_ITO[(i + 1) % len(OKABE_ITO)]
        direction = "to cluster" if str(node).startswith("cluster") else f"at {node}"
        counts, _ = np.histogram(g["time"].astype(float), bins=edges, weights=g["count"].astype(float))
        rate = counts / width
        shown = rate > 0
        rates += [float(r) for r in rate[shown]]
        ax.bar(edges[:-1][shown], rate[shown], width=width, align="edge", color=colour, alpha=0.35)
        ax.plot(
            edges[:-1][shown] + width / 2,
            rate[shown],
            markers[i % len(markers)],
            color=colour,
            ms=3.5,
            label=f"ESP {direction}: {reason}",
        )
    ax.set_yscale("log")
    top = max(rates, default=10.0 / width)
    ax.set_ylim(0.8 / width, top * 3)  # room above the highest rate for the marker and legend
    ax.set_ylabel(f"ESP packets dropped\n(packets/s, {format_value(width)} s bins)")
    ax.grid(True, alpha=0.3)
    if not esp.empty:
        ax.legend(fontsize="x-small", loc="upper right")


def _draw_events(axes: Sequence[Axes], timeline: pd.DataFrame, kinds: Sequence[str]) -> None:
    """Vertical lines across every panel; one legend entry per (event, node), below the panels."""
    if timeline.empty:
        return
    marks = timeline[timeline["kind"].isin(kinds)]
    if "sa" in marks.columns:  # a takeover is logged per node (sa = -1) and per SA: keep one line
        marks = marks[~((marks["kind"] == "takeover") & (marks["sa"] != -1))]
    handles: dict[str, Line2D] = {}
    for _, row in marks.sort_values("time").iterrows():
        kind, node = str(row["kind"]), str(row["node"])
        style, colour = EVENT_KINDS.get(kind, ("-", "#000000"))
        for ax in axes:
            ax.axvline(float(row["time"]), color=colour, linestyle=style, linewidth=1.1, alpha=0.8)
        label = f"{kind.replace('_', ' ')} {node} at {float(row['time']):.2f} s"
        if f"{kind} {node}" not in handles:
            handles[f"{kind} {node}"] = Line2D([], [], color=colour, linestyle=cast(Any, style), label=label)
    if handles:
        fig = axes[0].get_figure()
        assert fig is not None
        fig.legend(
            handles=list(handles.values()),
            loc="outside lower center",
            ncol=min(3, len(handles)),
            fontsize="x-small",
            frameon=False,
        )
