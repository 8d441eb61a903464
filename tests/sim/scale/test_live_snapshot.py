"""An event's full share (a Child SA created, a sync exchange sent or completed) reads an SA's counters
and windows after one pass of its flows (``ScaledWorld.live_snapshot``) instead of handing each back
to its object by a pass of its own: the snapshot is the one the objects give, worked out by hand for a
rekey of constant traffic, and the same as the objects' own through rekeys, loss and a takeover."""

from __future__ import annotations

from typing import Any

from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.sim.model.sites import Member
from hasim.sim.scale.world import ScaledWorld
from hasim.sim.scenario.config import ScenarioConfig

from ..scenarios import scenario


class _Recording(ScaledWorld):
    """Keeps every live snapshot; with ``check``, holds it to what the objects say through their
    leases (``IkeSa.snapshot``: each counter and window handed back first) at the same instant."""

    def __init__(self, cfg: ScenarioConfig, seed: int, *, check: bool = False) -> None:
        super().__init__(cfg, seed)
        self.check = check
        self.taken: list[tuple[float, int, IkeSaSnapshot | None]] = []

    def live_snapshot(self, m: Member, i: int) -> IkeSaSnapshot | None:
        got = super().live_snapshot(m, i)
        self.taken.append((self.env.now, i, got))
        if self.check:
            sa = m.sas.get(i)
            want = None if sa is None or sa.deleted else sa.snapshot(self.env.now)
            assert got == want
        return got


def test_rekey_share_carries_the_counters_worked_out_by_hand() -> None:
    """1,000 packets/s each way at a constant rate (phase + k/1000), 10 ms links without loss or jitter.
    The cluster rekeys at 2 s: the peer creates its new Child SA when the request arrives (2.01 s) and
    sends on it from then; the cluster creates its own when the answer arrives (2.02 s) and shares the
    SA. The old Child SA then has sent every packet offered before 2.02 s: 2,020 whatever the phase
    (it lies in [0, 1 ms)); it has received every packet the peer sent on it, those offered before
    2.01 s (all arrived by 2.02 s): the highest is 2,010. The new one has sent and received nothing."""
    sections: dict[str, Any] = {
        "scenario": {"duration_s": 3.0},
        "cluster": {"members": 2},
        "traffic": {"peers": 1, "model": "constant", "rekey_interval_s": 2.0, "rekey_jitter_s": 0.0},
    }
    world = _Recording(scenario(**sections), 1)
    world.run()
    assert len(world.taken) == 1
    t, i, snap = world.taken[0]
    assert abs(t - 2.02) < 1e-9 and i == 0 and snap is not None
    old, new = snap.children
    assert (old.out_seq, old.in_highest) == (2020, 2010)
    assert (new.out_seq, new.in_highest) == (0, 0)
    assert snap.taken_at == t


def test_live_snapshots_agree_with_the_objects_through_rekeys_loss_and_a_takeover() -> None:
    """Three members (a standby is left after the takeover, so the sync exchanges' shares are sent too),
    two Child SAs per SA, lossy jittered links, rekeys every 1.5 s: every live snapshot equals the one
    the objects give at the same instant."""
    sections: dict[str, Any] = {
        "scenario": {"duration_s": 8.0},
        "cluster": {"members": 3},
        "traffic": {
            "peers": 6,
            "child_sas": 2,
            "esp_out_pps": 300.0,
            "esp_in_pps": 200.0,
            "rekey_interval_s": 1.5,
            "rekey_jitter_s": 1.0,
        },
        "links": {"latency_s": 0.02, "jitter_s": 0.005, "loss": 0.02},
        "faults": [{"at_s": 3.5}],
    }
    world = _Recording(scenario(**sections), 2, check=True)
    world.run()
    assert world.failover.detections
    after = [t for t, _, snap in world.taken if t > 3.5 and snap is not None]
    assert len(world.taken) > 30 and after
