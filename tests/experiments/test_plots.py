"""Plotting functions: DataFrame in, Figure out; labels with units, titles naming the scenario."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from toy_model import records_toy

from hasim.experiments.plot_style import OKABE_ITO, figure_png, label_for
from hasim.experiments.plots_sweep import curves, heatmap
from hasim.experiments.plots_timeline import failover_timeline


def _summary() -> pd.DataFrame:
    rows = []
    for variant in ("rfc6311", "legacy"):
        for interval in (0.5, 1.0, 2.0):
            for skip in (0, 100, 1000):
                surv = 1.0 if variant == "rfc6311" else 0.0
                rows.append(
                    {
                        "variant": variant,
                        "cluster.sync_interval_s": interval,
                        "policy.skip_packets": skip,
                        "sa_survival_mean": surv,
                        "sa_survival_ci_low": surv,
                        "sa_survival_ci_high": surv,
                        "esp_out_replay_drops_mean": interval * 1000 - skip,
                        "esp_out_replay_drops_ci_low": interval * 1000 - skip - 10,
                        "esp_out_replay_drops_ci_high": interval * 1000 - skip + 10,
                    }
                )
    return pd.DataFrame(rows)


def test_labels_carry_units() -> None:
    assert label_for("cluster.sync_interval_s") == "Sync interval (s)"
    assert label_for("links.cluster_to_peer.latency_s") == "Latency (s) [links.cluster_to_peer]"
    assert label_for("traffic.liveness_interval_s") == "Liveness interval (s) [traffic]"
    assert label_for("scale_ratio") == "Scale ratio"
    assert "(fraction)" in label_for("sa_survival")
    assert "(packets)" in label_for("esp_out_replay_drops")


def test_heatmap_one_panel_per_facet_with_shared_scale() -> None:
    fig = heatmap(
        _summary(), "cluster.sync_interval_s", "policy.skip_packets", facet="variant", scenario="site-to-site"
    )
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    assert panels[0].get_xlabel() == "Sync interval (s)"
    assert "site-to-site" in fig.get_suptitle()
    image = panels[0].images[0]
    assert image.get_cmap().name == "viridis"
    assert image.get_clim() == (0.0, 1.0)
    grid = np.asarray(image.get_array())
    assert grid.shape == (3, 3)
    assert figure_png(fig)[:4] == b"\x89PNG"


def test_heatmap_cells_are_plain_numbers_readable_on_their_colour() -> None:
    fig = heatmap(
        _summary(), "cluster.sync_interval_s", "policy.skip_packets", "esp_out_replay_drops", facet="variant"
    )
    panel = fig.axes[0]
    cells = {(t.get_position(), t.get_text()): t.get_color() for t in panel.texts}
    texts = sorted(text for _, text in cells)
    # interval x 1000 - skip, for intervals 0.5, 1, 2 s and skips 0, 100, 1000 packets
    assert texts == sorted(["500", "400", "-500", "1000", "900", "0", "2000", "1900", "1000"])
    lightest = next(c for (pos, text), c in cells.items() if text == "2000")  # top of viridis: yellow
    darkest = next(c for (pos, text), c in cells.items() if text == "-500")  # bottom: dark purple
    assert (lightest, darkest) == ("black", "white")


def test_heatmap_facets_wrap_four_to_a_row() -> None:
    frames = [_summary().assign(case=f"c{i}") for i in range(5)]
    fig = heatmap(
        pd.concat(frames),
        "cluster.sync_interval_s",
        "policy.skip_packets",
        facet="case",
        where={"variant": "rfc6311"},
    )
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 5
    rows = sorted({round(ax.get_position().y0, 2) for ax in panels})
    assert len(rows) == 2


def test_curves_ticks_at_the_swept_values_with_plain_labels() -> None:
    fig = curves(
        _summary(),
        "cluster.sync_interval_s",
        "sa_survival",
        group="variant",
        where={"policy.skip_packets": 0},
        logx=True,
    )
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0.5, 1.0, 2.0]
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2"]
    assert len(ax.xaxis.get_minor_locator().tick_values(0.1, 10)) == 0


def test_titles_fit_their_figure() -> None:
    long = "a scenario with a rather long name that would run past the edge of a narrow figure " * 2
    fig = curves(
        _summary(),
        "policy.skip_packets",
        "esp_out_replay_drops",
        group="variant",
        where={"cluster.sync_interval_s": 1.0},
        scenario=long,
    )
    width_chars = int(fig.get_figwidth() * 11)
    assert all(len(line) <= width_chars for line in fig.get_suptitle().splitlines())
    assert fig.get_suptitle().splitlines()[0].startswith("ESP replay drops at the peer: mean")


def test_heatmap_refuses_ambiguous_points() -> None:
    with pytest.raises(ValueError, match="where="):
        heatmap(_summary(), "cluster.sync_interval_s", "policy.skip_packets")


def test_curves_one_line_per_group_with_bands_in_okabe_ito() -> None:
    fig = curves(
        _summary(),
        "policy.skip_packets",
        "esp_out_replay_drops",
        group="cluster.sync_interval_s",
        where={"variant": "rfc6311"},
        scenario="site-to-site",
    )
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert [matplotlib.colors.to_hex(line.get_color()) for line in ax.lines] == [
        c.lower() for c in OKABE_ITO[:3]
    ]
    assert len(ax.collections) == 3  # the confidence bands
    xs, ys = ax.lines[0].get_data()
    assert list(xs) == [0, 100, 1000] and list(ys) == [500.0, 400.0, -500.0]
    assert "Variant = rfc6311" in fig.get_suptitle()
    assert ax.get_legend_handles_labels()[1][0] == "Sync interval = 0.5 s"
    assert ax.get_ylabel() == label_for("esp_out_replay_drops")


def _records() -> pd.DataFrame:
    frames = [pd.DataFrame(rows).assign(record=kind) for kind, rows in records_toy({}, 0).items()]
    return pd.concat(frames, ignore_index=True)


def test_timeline_message_ids_drops_and_events() -> None:
    records = _records()
    fig = failover_timeline(records[records["record"] != "counters"], scenario="toy")
    top, bottom = fig.axes
    labels = top.get_legend_handles_labels()[1]
    assert "requests sent by peer" in labels and "requests sent by cluster.m0" in labels
    assert "RFC 6311 sync request (Message ID 0)" in labels
    assert "IKE dropped: out_of_window" in labels
    assert "M1 in sync (member's next send)" in labels
    peer = next(line for line in top.lines if line.get_label() == "requests sent by peer")
    assert list(peer.get_xdata()) == [1.0, 5.0, 9.0, 13.0] and list(peer.get_ydata()) == [0, 1, 2, 3]
    assert bottom.get_yscale() == "log"
    assert set(bottom.get_legend_handles_labels()[1]) == {
        "ESP to cluster: no_receiver",
        "ESP at peer: replay",
    }
    (legend,) = fig.legends
    # one takeover entry although the takeover is logged per node and per SA; below the panels,
    # so that events at the same instant do not write over each other
    assert [t.get_text() for t in legend.get_texts()] == [
        "crash cluster.m0 at 4.00 s",
        "takeover cluster.m1 at 6.10 s",
        "sync sent cluster.m1 at 6.10 s",
    ]
    assert len(top.texts) == 0
    assert bottom.get_xlabel() == "Simulated time (s)"
    assert "toy" in fig.get_suptitle()


def test_timeline_drops_are_a_rate_per_simulated_second() -> None:
    records = _records()
    fig = failover_timeline(records[records["record"] != "counters"])
    bottom = fig.axes[1]
    # records span 1 s to 13 s: 100 bins would be 0.12 s, rounded up to 0.2 s
    assert bottom.get_ylabel() == "ESP packets dropped\n(packets/s, 0.2 s bins)"
    lost = next(line for line in bottom.lines if line.get_label() == "ESP to cluster: no_receiver")
    replay = next(line for line in bottom.lines if line.get_label() == "ESP at peer: replay")
    assert list(lost.get_ydata()) == pytest.approx([900 / 0.2])  # 900 packets in the bin [4.4, 4.6)
    assert list(lost.get_xdata()) == pytest.approx([4.5])
    assert list(replay.get_ydata()) == pytest.approx([12 / 0.2])
    assert "per batch" not in bottom.get_ylabel()


def test_timeline_window_limits_time() -> None:
    fig = failover_timeline(_records(), window=(3.0, 7.0))
    peer = next(line for line in fig.axes[0].lines if line.get_label() == "requests sent by peer")
    assert list(peer.get_xdata()) == [5.0]


def test_timeline_esp_counter_panel_from_counters_records() -> None:
    fig = failover_timeline(_records())
    assert len(fig.axes) == 3
    middle = fig.axes[1]
    labels = middle.get_legend_handles_labels()[1]
    assert labels == [
        "cluster.m0: outbound counter",
        "cluster.m1: outbound counter",
        "cluster.m1: synced copy (standby)",
        "cluster.m1: value at takeover",
        "peer: highest number accepted",
    ]
    imported = next(line for line in middle.lines if line.get_label() == "cluster.m1: value at takeover")
    assert list(imported.get_ydata()) == [2500]
    peer = next(line for line in middle.lines if line.get_label() == "peer: highest number accepted")
    assert list(peer.get_ydata()) == [2998]


def test_timeline_inbound_direction_shows_the_members_window_tops() -> None:
    fig = failover_timeline(_records(), esp="in")
    middle = fig.axes[1]
    assert middle.get_ylabel().endswith("peer to cluster")
    imported = next(line for line in middle.lines if line.get_label() == "cluster.m1: value at takeover")
    assert list(imported.get_ydata()) == [2490]
    peer = next(line for line in middle.lines if line.get_label() == "peer: outbound counter")
    assert list(peer.get_ydata()) == [2995]
    with pytest.raises(ValueError, match="direction"):
        failover_timeline(_records(), esp="sideways")
