"""Shared look of hasim figures: colour-blind-safe colours, axis labels with units, figure output.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
under the common colour-vision deficiencies; heatmaps use viridis (perceptually uniform, readable in
grey). Lines also differ by marker and dash so that figures survive black-and-white printing.
Figures are built as ``matplotlib.figure.Figure`` objects without pyplot, so they render with the
Agg backend anywhere (CI, workers, notebooks) and never open a window.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Sequence
from itertools import cycle
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
DASHES = ["-", "--", "-.", ":"]
HEATMAP_CMAP = "viridis"

# Known keys -> readable label with unit. Anything else gets a label from its name and suffix.
LABELS: dict[str, str] = {
    "sa_survival": "IKE SA survival (fraction)",
    "ike_sas_survived": "IKE SAs surviving (count)",
    "ike_sas_deleted_timeout": "IKE SAs lost to retransmission timeout (count)",
    "ike_retransmissions": "IKE retransmissions (messages)",
    "ike_out_of_window_drops": "IKE messages dropped out of window (messages)",
    "esp_out_replay_drops": "ESP replay drops at the peer (packets)",
    "esp_in_replay_drops": "ESP replay drops at the cluster (packets)",
    "esp_out_lost": "ESP packets lost (packets)",
    "replayed_packets_accepted": "Replayed packets accepted (packets)",
    "sync_exchanges_completed": "RFC 6311 sync exchanges completed (count)",
    "sync_exchanges_started": "RFC 6311 sync exchanges started (count)",
    "sync_requests_dropped_stale": "Sync requests dropped as stale (count)",
    "counter_space_used": "Sequence space used (fraction)",
    "detection_time_s": "Failure detection time (s)",
    "recovery_time_s": "Recovery time after takeover (s)",
    "sync_wait_max_s": "Longest wait for the member's sync capacity (s)",
    "sync_done_s": "Takeover to last sync exchange completed (s)",
    "sync_channel_bytes": "Sync channel traffic (bytes)",
    "sync_channel_messages": "Sync channel messages (count)",
    "wall_time_s": "Wall time per run (s)",
    "false_failovers": "False failovers (count)",
    "split_brain_s": "Split brain (s)",
    "false_failover_exposure_s": "Time a backup watched a live master (s)",
    "split_brain_sas_lost": "IKE SAs lost after a split brain (count)",
    "split_brain_sas_damaged": "IKE SAs with replay drops after a split brain (count)",
    "cluster.advertisement_interval_s": "Advertisement interval (s)",
    # config keys that sweeps commonly vary
    "cluster.sync_interval_s": "Sync interval (s)",
    "cluster.sync_loss": "Sync channel loss (probability)",
    "cluster.members": "Cluster members (count)",
    "policy.skip_packets": "Skip forward (packets)",
    "policy.increment_margin": "Skip estimate margin (factor)",
    "policy.mid_reading": "Peer reading of R5.1-5",
    "policy.ipsec_after_failover": "ESP policy after failover",
    "policy.ipsec_grace_s": "Lenient grace period (s)",
    "policy.trigger": "Sync trigger",
    "policy.replay_window": "Replay window (packets)",
    "traffic.esp_out_pps": "ESP rate cluster to peer (packets/s)",
    "traffic.esp_in_pps": "ESP rate peer to cluster (packets/s)",
    "traffic.peers": "Peers (IKE SAs)",
}
_SUFFIX_UNITS = [
    ("_pps", "packets/s"),
    ("_per_s", "1/s"),
    ("_ms", "ms"),
    ("_s", "s"),
    ("_bytes", "bytes"),
    ("_packets", "packets"),
    ("_fraction", "fraction"),
]


def label_for(key: str) -> str:
    """A readable axis label with its unit for a config key or metric (``cluster.sync_interval_s``)."""
    if key in LABELS:
        return LABELS[key]
    leaf = key.rsplit(".", 1)[-1]
    section = key.rsplit(".", 1)[0] if "." in key else ""
    for suffix, unit in _SUFFIX_UNITS:
        if leaf.endswith(suffix):
            words = leaf[: -len(suffix)].replace("_", " ")
            return f"{words.capitalize()} ({unit})" + (f" [{section}]" if section else "")
    words = leaf.replace("_", " ").capitalize()
    return words + (f" [{section}]" if section else "")


def value_label(key: str, value: Any) -> str:
    """``Sync interval = 0.5 s``: a parameter and its value with the unit, for legends and panel titles."""
    label = label_for(key)
    name, _, rest = label.partition(" (")
    unit = rest.split(")")[0] if rest else ""
    if unit in ("fraction", "count", "factor", "probability") or not isinstance(value, int | float):
        unit = ""
    return f"{name} = {format_value(value)}" + (f" {unit}" if unit else "")


def style_cycle() -> Any:
    """An endless iterator of (colour, marker, dash) triples for one line per group."""
    return cycle(zip(OKABE_ITO, MARKERS, [DASHES[i % len(DASHES)] for i in range(len(MARKERS))], strict=True))


def new_figure(width: float = 6.4, height: float = 4.2) -> Figure:
    """A pyplot-free figure with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes (Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_data_uri(fig: Figure, dpi: int = 110) -> str:
    """A ``data:image/png;base64,...`` URI, to embed a figure in a self-contained HTML report."""
    return "data:image/png;base64," + base64.b64encode(figure_png(fig, dpi)).decode("ascii")


def format_value(value: Any) -> str:
    """Compact text of a parameter value for tick labels and titles."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plain_number(value: float) -> str:
    """A value as a reader writes it: ``1110``, ``58.8``, ``0.25``, never ``1.11e+03``."""
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def ticks_at(ax: Axes, values: Sequence[Any], axis: str = "x", log: bool = False) -> None:
    """Ticks at exactly the swept values with plain labels (no ``3x10^-1``), also on a log axis.

    Where two values sit too close to label both (``0`` and ``0.1`` on an axis to 3), the tick stays
    and the later label is left out, so labels never run into each other.
    """
    numbers = [float(v) for v in values]
    pos = [math.log10(v) if log and v > 0 else v for v in numbers]
    span = (max(pos) - min(pos)) or 1.0
    labels, last = [], -math.inf
    for value, p in zip(values, pos, strict=True):
        if (p - last) / span >= 0.06:
            labels.append(format_value(value))
            last = p
        else:
            labels.append("")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(numbers))
    target.set_major_formatter(FixedFormatter(labels))
    target.set_minor_locator(NullLocator())
    if axis == "x" and len(values) > 6:
        for label in ax.get_xticklabels():
            label.set_rotation(45)
            label.set_horizontalalignment("right")


def title_text(what: str, context: Sequence[str], width_in: float) -> str:
    """A figure title: what is plotted on the first line, the context (scenario, fixed parameters)
    wrapped below it to the figure's width, so that no line runs past the figure's edge."""
    chars = max(40, int(width_in * 11))
    lines = textwrap.wrap(what, chars)
    rest = " | ".join(c for c in context if c)
    if rest:
        lines += textwrap.wrap(rest, chars)
    return "\n".join(lines)
