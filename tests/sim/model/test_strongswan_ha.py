"""The strongSwan detection style in the simulator: who keeps the SAs after a split brain, by hand.

strongSwan's HA plugin keeps a ClusterIP segment that both nodes handle on the node whose number is the
segment modulo 2 (``ha_segments.c`` handle_status), node 1 being the one whose HA address sorts after
the other's (``ha_plugin.c``); with the single default segment node 1 keeps everything, and answers the
other's heartbeat with HA_SEGMENT_TAKE (``ha_dispatcher.c``). hasim's ``membership.strongswan_node1``
says which member is node 1 (default m1, the first standby).

Set-up (``tests/sim/scenarios.py``): fixed phases, member 0 heartbeats at whole seconds, cluster link
0.5 ms, heartbeat timeout 2.1 s, partition [4.5, 9.5) with both members alive. Member 1 last hears the
heartbeat of 4 s at 4.0005 and takes over at 6.1005; its HA_SEGMENT_TAKE (6.1005) and heartbeats
(6.1005 + k up to 9.1005) are cut. Member 0's heartbeat of 10 s reaches member 1 at 10.0005.
- node 1 = m1: member 1 keeps and sends TAKE at 10.0005, which reaches member 0 at 10.001: member 0
  drops; split brain 10.001 - 6.1005 = 3.9005 s, member 1 serves on.
- node 1 = m0: member 1 drops on hearing member 0 at 10.0005: split brain 3.9 s, member 0 serves again.
"""

from __future__ import annotations

import pytest

from hasim.errors import ConfigError
from hasim.sim import simulate

from ..scenarios import metric_diff, scenario

PARTITION = [{"kind": "sync_partition", "at_s": 4.5, "duration_s": 5.0}]


def _rows(records: dict[str, list[dict[str, object]]], kind: str) -> list[tuple[float, str]]:
    rows = [r for r in records["timeline"] if r["kind"] == kind and r.get("sa", -1) == -1]
    return [(float(r["time"]), str(r["node"])) for r in rows]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("node1", "dropper", "end"), [("m1", "cluster.m0", 10.001), ("m0", "cluster.m1", 10.0005)]
)
def test_split_brain_is_kept_by_node_1(node1: str, dropper: str, end: float) -> None:
    cfg = scenario(membership={"style": "strongswan", "strongswan_node1": node1}, faults=PARTITION)
    r = simulate(cfg, 11, records=True)
    assert _rows(r.records, "takeover") == [(pytest.approx(6.1005, abs=1e-9), "cluster.m1")]
    assert _rows(r.records, "stepped_down") == [(pytest.approx(end, abs=1e-9), dropper)]
    m = r.metrics
    assert m["false_failovers"] == 1 and m["failovers"] == 1 and m["preemptions"] == 0
    assert m["split_brain_s"] == pytest.approx(end - 6.1005, abs=1e-9)
    assert metric_diff(m, simulate(cfg, 11, esp_path="scaled").metrics) == {}


def test_strongswan_pairs_two_members() -> None:
    with pytest.raises(ConfigError) as err:
        scenario(cluster={"members": 3}, membership={"style": "strongswan"})
    assert err.value.key == "cluster.members" and "pairs two members" in str(err.value)
    with pytest.raises(ConfigError) as err:
        scenario(membership={"style": "strongswan", "strongswan_node1": "m2"})
    assert err.value.key == "membership.strongswan_node1"
