"""From the scenario's policy section to the protocol core's per-SA configuration (``IkeConfig``).

The scenario stores each open choice of RFC 6311 as the value of the protocol core's enum
(``trigger = "proactive"`` is ``SyncTrigger.PROACTIVE``), so this module only wraps the words in their
enums and gathers the numbers; there is no second vocabulary to translate.
"""

from __future__ import annotations

from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.policy import (
    AfterFailover,
    IkeConfig,
    MemberPolicy,
    RetransmitSchedule,
    SkipForward,
    SkipKind,
    SyncReading,
    SyncTrigger,
)
from hasim.sim.scenario.sections import ScenarioConfig


def ike_config_for(cfg: ScenarioConfig, *, cluster_side: bool) -> IkeConfig:
    """The IkeConfig of one end: the cluster supports RFC 6311; the peer as ``[peer]`` says."""
    pol = cfg.policy
    t = cfg.traffic
    kind = SkipKind(pol.skip_policy)
    amount = pol.skip_packets if kind is not SkipKind.ESTIMATE else 0
    member = MemberPolicy(
        trigger=SyncTrigger(pol.trigger),
        after_failover=AfterFailover(pol.ike_after_failover),
        m1_margin=pol.m1_margin,
        p1_margin=pol.p1_margin,
        skip_out=SkipForward(
            kind, amount, pol.increment_margin, t.esp_out_pps if cluster_side else t.esp_in_pps
        ),
        skip_in=SkipForward(
            kind, amount, pol.increment_margin, t.esp_in_pps if cluster_side else t.esp_out_pps
        ),
        sync_gate=True,  # each sync exchange starts when the member's capacity allows (failover.py)
    )
    return IkeConfig(
        window_size=cfg.peer.ike_window_size,
        retransmit=RetransmitSchedule(pol.retransmit_timeout_s, pol.retransmit_base, pol.retransmit_tries),
        mid_sync=True if cluster_side else cfg.peer.message_id_sync,
        replay_sync=True if cluster_side else cfg.peer.replay_counter_sync,
        reading=SyncReading(pol.mid_reading),
        member=member,
        esn=pol.esn,
        replay_window=pol.replay_window,
        inbound_after_failover=ReplayPolicy(pol.ipsec_after_failover),
    )
