"""IKE control-plane cost: exchanges and failover syncs per second through the sans-IO state machines.

Every message is really encoded, SK-sealed (AES-GCM-16) and authenticated on receipt, as in the
simulator. Prints ``bench protocol what=liveness exchanges_per_s=...`` (one request and one response,
both directions of a pair of IkeSa objects) and ``bench protocol what=failover_sync syncs_per_s=...``
(a member rebuilt from a snapshot takes over and completes a case-3 sync with its peer), which bound
how many IKE SAs a simulated cluster can fail over per second of wall time.
"""

from __future__ import annotations

import random
import time

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot
from hasim.wire import SkKeys, SkSuite

KEYS = SkKeys(SkSuite.AES_GCM_16_128, bytes(range(20)), bytes(range(20, 40)))
SNAP = IkeSaSnapshot(
    spi_i=0x1111,
    spi_r=0x2222,
    original_initiator=False,
    keys=KEYS,
    next_send_mid=4,
    next_recv_mid=3,
    highest_recv_mid=2,
    capabilities=Capabilities(True, True),
    children=(ChildSaSnapshot(0x1000, 0x2000, False, 5000, 4000),),
)


def _exchange(a: IkeSa, b: IkeSa, now: float) -> None:
    for data in a.messages_to_send(now):
        b.receive(data, now)
    for data in b.messages_to_send(now):
        a.receive(data, now)


def liveness_rate(n: int = 3000) -> float:
    """Liveness exchanges per second (request + response, sealed and opened)."""
    draw = random.Random(1).randbytes
    cfg = IkeConfig()
    a, b = IkeSa.from_snapshot(SNAP, cfg, draw), IkeSa.from_snapshot(SNAP.mirrored(), cfg, draw)
    t0 = time.perf_counter()
    for k in range(n):
        a.start_liveness_check(float(k))
        _exchange(a, b, float(k))
    return n / (time.perf_counter() - t0)


def failover_rate(n: int = 2000) -> float:
    """Failover syncs per second: rebuild from snapshot, take over, sync with the peer."""
    draw = random.Random(2).randbytes
    cfg = IkeConfig()
    peer_snap = SNAP.mirrored()
    t0 = time.perf_counter()
    for k in range(n):
        member = IkeSa.from_snapshot(SNAP, cfg, draw)
        peer = IkeSa.from_snapshot(peer_snap, cfg, draw)
        member.failover_takeover(float(k))
        _exchange(member, peer, float(k))
        assert member.member.pending is None and not member.deleted
    return n / (time.perf_counter() - t0)


def main() -> None:
    """Print the two bench lines."""
    print(f"bench protocol what=liveness exchanges_per_s={liveness_rate():.0f}", flush=True)
    print(f"bench protocol what=failover_sync syncs_per_s={failover_rate():.0f}", flush=True)


if __name__ == "__main__":
    main()
