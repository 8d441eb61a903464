"""Cluster membership (``hasim.protocol.membership``) driven by hand over a scripted cluster link.

Expected numbers, worked out from RFC 5798 6.1 and strongSwan's ha_segments.c:
- VRRP, interval 1 s, backup priority 100: Skew_Time = (256 - 100) x 1 / 256 = 0.609375 s,
  Master_Down_Interval = 3 x 1 + 0.609375 = 3.609375 s; at 0.1 s: 0.3 + 0.0609375 = 0.3609375 s.
- strongSwan: heartbeat 1 s, timeout 2.1 s: takeover 2.1 s after the last heartbeat received.
- Master (priority 200) advertises at 0.25 + k s, one-way latency 0.0005 s, crash at 10.1: the last
  advertisement left at 10.25 - 1 = 9.25, arrived 9.2505; takeover at 9.2505 + 3.609375 = 12.859875.
- A partition [20, 25) with both alive: the last advertisement through left at 19.25 (arrived
  19.2505); the backup takes over at 22.859875; the first to arrive after the partition left at
  25.25 and arrives 25.2505, when the backup steps down: split brain 25.2505 - 22.859875 = 2.390625 s.
"""

from __future__ import annotations

import heapq

import pytest

from hasim.errors import ConfigError
from hasim.protocol.events import Event
from hasim.protocol.membership import (
    Advertisement,
    BecameMaster,
    DetectionConfig,
    DetectionStyle,
    Membership,
    Role,
    SteppedDown,
)


class ClusterLink:
    """Members wired by a fake link: fixed latency, a loss predicate on (sender, send time)."""

    def __init__(self, members: list[Membership], latency: float = 0.0005) -> None:
        self.members = {m.member: m for m in members}
        self.latency = latency
        self.alive = set(self.members)
        self.lost: list[tuple[int, float]] = []
        self.partitions: list[tuple[float, float]] = []
        self.drop_sender_times: set[tuple[int, float]] = set()
        self.log: list[tuple[float, Event]] = []
        self._queue: list[tuple[float, int, int, Advertisement]] = []
        self._seq = 0
        self.now = 0.0

    def _cut(self, adv: Advertisement) -> bool:
        if (adv.sender, round(adv.sent_at, 9)) in self.drop_sender_times:
            return True
        return any(a <= adv.sent_at < b for a, b in self.partitions)

    def _collect(self, now: float) -> None:
        for k, m in self.members.items():
            if k not in self.alive:
                continue
            for adv in m.advertisements_to_send(now):
                for dst in self.members:
                    if dst == k:
                        continue
                    if self._cut(adv):
                        self.lost.append((k, adv.sent_at))
                        continue
                    self._seq += 1
                    heapq.heappush(self._queue, (adv.sent_at + self.latency, self._seq, dst, adv))
            self.log.extend((e.time, e) for e in m.events())

    def run_until(self, end: float) -> None:
        while True:
            self._collect(self.now)
            due = {k: m.next_timer() for k, m in self.members.items() if k in self.alive}
            timers = [(t, k) for k, t in due.items() if t is not None]
            t_timer = min(timers)[0] if timers else float("inf")
            t_arrival = self._queue[0][0] if self._queue else float("inf")
            now = min(t_timer, t_arrival)
            if now > end:
                return
            self.now = now
            if t_arrival <= t_timer:
                _, _, dst, adv = heapq.heappop(self._queue)
                if dst in self.alive:
                    self.members[dst].receive(adv, now)
            else:
                for t, k in timers:
                    if t == now:
                        self.members[k].handle_timer(now)
            self._collect(now)

    def events_of(self, kind: type[Event]) -> list[Event]:
        return [e for _, e in self.log if isinstance(e, kind)]

    def became(self, member: int) -> list[BecameMaster]:
        """The takeovers (not the start) of one member."""
        became = [e for _, e in self.log if isinstance(e, BecameMaster) and e.member == member]
        return [e for e in became if e.reason != "start"]


def pair(
    cfg: DetectionConfig, phase: float = 0.25, latency: float = 0.0005
) -> tuple[Membership, Membership, ClusterLink]:
    master, backup = Membership(0, 200, cfg), Membership(1, 100, cfg)
    master.start_master(0.0, first_advertisement=phase)
    backup.start_backup(0.0, heard_at=phase - cfg.interval)
    return master, backup, ClusterLink([master, backup], latency)


def test_master_down_interval_by_hand() -> None:
    assert DetectionConfig().master_down_interval(100) == 3.609375
    assert DetectionConfig(interval=0.1).master_down_interval(100) == pytest.approx(0.3609375, abs=1e-15)
    assert DetectionConfig(style=DetectionStyle.STRONGSWAN).master_down_interval(100) == 2.1
    with pytest.raises(ConfigError, match="priority"):
        DetectionConfig().master_down_interval(0)
    with pytest.raises(ConfigError, match="advertisement_interval_s"):
        DetectionConfig(interval=0.0)


@pytest.mark.parametrize(
    ("cfg", "phase", "crash", "takeover"),
    [
        (DetectionConfig(), 0.25, 10.1, 9.2505 + 3.609375),
        (DetectionConfig(interval=0.1), 0.05, 10.02, 9.9505 + 0.3609375),
        (DetectionConfig(style=DetectionStyle.STRONGSWAN), 0.25, 10.1, 9.2505 + 2.1),
    ],
)
def test_crash_detected_master_down_after_the_last_advertisement(
    cfg: DetectionConfig, phase: float, crash: float, takeover: float
) -> None:
    _, backup, link = pair(cfg, phase)
    link.run_until(crash)
    link.alive.discard(0)  # the master crashes: it sends nothing more
    link.run_until(crash + 10.0)
    became = link.events_of(BecameMaster)
    start, timeout = became
    assert isinstance(start, BecameMaster) and start.reason == "start"
    assert isinstance(timeout, BecameMaster) and timeout.member == 1 and timeout.reason == "timeout"
    assert timeout.time == pytest.approx(takeover, abs=1e-9)
    assert timeout.last_heard is not None
    assert timeout.time - timeout.last_heard == pytest.approx(cfg.master_down_interval(100), abs=1e-9)
    assert backup.role is Role.MASTER


def test_partition_split_brain_by_hand() -> None:
    master, backup, link = pair(DetectionConfig())
    link.partitions.append((20.0, 25.0))
    link.run_until(40.0)
    takeovers = link.became(1)
    assert len(takeovers) == 1
    assert takeovers[0].time == pytest.approx(19.2505 + 3.609375, abs=1e-9)
    (down,) = link.events_of(SteppedDown)
    assert isinstance(down, SteppedDown) and (down.member, down.to) == (1, 0)
    assert down.time == pytest.approx(25.2505, abs=1e-9)
    assert down.time - takeovers[0].time == pytest.approx(2.390625, abs=1e-9)
    assert master.role is Role.MASTER and backup.role is Role.BACKUP


@pytest.mark.parametrize(("style", "fails_after"), [(DetectionStyle.VRRP, 3), (DetectionStyle.STRONGSWAN, 2)])
def test_consecutive_losses_that_make_a_false_failover(style: DetectionStyle, fails_after: int) -> None:
    # losing (fails_after - 1) in a row is survived; losing fails_after in a row is a takeover
    for lost, expect in ((fails_after - 1, 0), (fails_after, 1)):
        _, _, link = pair(DetectionConfig(style=style))
        link.drop_sender_times = {(0, 5.25 + k) for k in range(lost)}
        link.run_until(30.0)
        takeovers = link.became(1)
        assert len(takeovers) == expect, (style, lost)


def test_tie_at_the_deadline_goes_to_the_timer() -> None:
    # strongSwan with timeout exactly 2 intervals, no latency: 5.25 is lost, 6.25 lands on the
    # deadline 4.25 + 2: the backup takes over first and pushes HA_SEGMENT_TAKE, on which the old
    # master drops at that instant (the backup is node 1 and keeps, hearing the old master)
    cfg = DetectionConfig(style=DetectionStyle.STRONGSWAN, timeout=2.0)
    _, _, link = pair(cfg, latency=0.0)
    link.drop_sender_times = {(0, 5.25)}
    link.run_until(10.0)
    assert [e.time for e in link.became(1)] == [6.25]
    downs = link.events_of(SteppedDown)
    assert [(e.time, e.member) for e in downs if isinstance(e, SteppedDown)] == [(6.25, 0)]


def test_preemption_after_resync_and_only_then() -> None:
    cfg = DetectionConfig()
    # member 1 serves (priority 100); member 0 (priority 200: master-down 3 + 56/256 = 3.21875 s)
    # rejoins at 10 without state
    serving, rejoined = Membership(1, 100, cfg), Membership(0, 200, cfg)
    serving.start_master(0.0, first_advertisement=0.5)
    rejoined.start_backup(10.0, synced=False)
    link = ClusterLink([serving, rejoined])
    link.run_until(30.0)
    assert link.events_of(SteppedDown) == []  # not synced: it follows the lower master
    rejoined.resync_complete(30.0)
    link.run_until(40.0)
    became = link.became(0)
    # it discards 30.5 on: the last heard arrived at 29.5005, its timer runs out 3.21875 s later
    assert [(e.reason, e.synced) for e in became] == [("preempt", True)]
    assert became[0].time == pytest.approx(29.5005 + 3.21875, abs=1e-9)
    (down,) = link.events_of(SteppedDown)
    assert isinstance(down, SteppedDown) and (down.member, down.to) == (1, 0)
    assert down.time == pytest.approx(became[0].time + 0.0005, abs=1e-9)


def test_no_preemption_when_off() -> None:
    cfg = DetectionConfig(preempt=False)
    serving, rejoined = Membership(1, 100, cfg), Membership(0, 200, cfg)
    serving.start_master(0.0, first_advertisement=0.5)
    rejoined.start_backup(10.0, synced=True)
    link = ClusterLink([serving, rejoined])
    link.run_until(60.0)
    assert link.became(0) == []
    assert serving.role is Role.MASTER and rejoined.role is Role.BACKUP


def test_takeover_before_the_resync_is_without_state() -> None:
    cfg = DetectionConfig()
    serving, rejoined = Membership(1, 100, cfg), Membership(0, 200, cfg)
    serving.start_master(0.0, first_advertisement=0.5)
    rejoined.start_backup(10.0, synced=False)
    link = ClusterLink([serving, rejoined])
    link.run_until(20.2)
    link.alive.discard(1)  # the serving member crashes before the resync completed
    link.run_until(40.0)
    (took,) = link.became(0)
    assert isinstance(took, BecameMaster) and took.synced is False and took.reason == "timeout"
    assert took.time == pytest.approx(19.5005 + 3.21875, abs=1e-9)


# strongSwan's HA plugin in a split brain, worked from its source (src/libcharon/plugins/ha):
# ha_plugin.c numbers the nodes (node = strcmp(local, remote) > 0: 1 on the node whose address sorts
# after the other's); ha_segments.c handle_status, on each heartbeat (HA_STATUS, the sender's active
# segments), finds a segment handled by both ("twice") and keeps it on the node whose number equals
# segment % 2, which with the default segment_count = 1 is node 1: the other drops it. Keeping it, node
# 1 pushes HA_SEGMENT_TAKE, on which the other drops it too (ha_dispatcher.c process_segment). Numbers:
# heartbeat 1 s from 0.25, timeout 2.1 s, latency 0.5 ms, partition [20, 25) (or [20, 25.3)), member
# 0 (priority 200) active first, member 1 (priority 100) is node 1 unless said.
# - Member 1 last hears the heartbeat of 19.25 at 19.2505 and takes over at 21.3505; its own
#   heartbeats leave at 21.3505 + k, those up to 24.3505 inside the partition.
# - Partition [20, 25): member 0's heartbeat of 25.25 reaches member 1 at 25.2505; member 1 (node 1)
#   answers with a TAKE that reaches member 0 at 25.251, which drops: split brain 3.9005 s. Had member 0
#   been node 1, member 1 would have dropped on hearing it at 25.2505 (3.9 s).
# - Partition [20, 25.3): member 0's 25.25 is lost; member 1's heartbeat of 25.3505 reaches member 0 at
#   25.351, which drops on hearing it (no TAKE needed).
# - A takeover whose own HA_SEGMENT_TAKE gets through ends the split brain one latency later, the
#   member that took over serving on, whatever the node numbers.
# Priorities play no part, and a member that comes back never preempts (handle_status takes only a
# segment nobody handles; autobalance never takes the single segment: active < 1 / 2 is never true).
STRONGSWAN = DetectionConfig(style=DetectionStyle.STRONGSWAN)


@pytest.mark.parametrize(
    ("node1", "priorities", "until", "drops", "at"),
    [
        (1, (200, 100), 25.0, 0, 25.251),  # node 1 hears first and TAKEs
        (1, (100, 200), 25.0, 0, 25.251),  # whatever the priorities
        (0, (200, 100), 25.0, 1, 25.2505),  # node 0 hears node 1 and drops
        (1, (200, 100), 25.3, 0, 25.351),  # node 0 hears node 1's heartbeat first
    ],
)
def test_strongswan_split_brain_kept_by_node_1(
    node1: int, priorities: tuple[int, int], until: float, drops: int, at: float
) -> None:
    cfg = DetectionConfig(style=DetectionStyle.STRONGSWAN, node1=node1)
    first, second = Membership(0, priorities[0], cfg), Membership(1, priorities[1], cfg)
    first.start_master(0.0, first_advertisement=0.25)
    second.start_backup(0.0, heard_at=-0.75)
    link = ClusterLink([first, second])
    link.partitions.append((20.0, until))
    link.run_until(60.0)
    assert [e.time for e in link.became(1)] == [pytest.approx(19.2505 + 2.1, abs=1e-9)]
    (down,) = link.events_of(SteppedDown)
    assert isinstance(down, SteppedDown) and (down.member, down.to) == (drops, 1 - drops)
    assert down.time == pytest.approx(at, abs=1e-9)
    keeper = (first, second)[1 - drops]
    assert keeper.role is Role.MASTER and (first, second)[drops].role is Role.BACKUP
    assert link.became(0) == []  # the member that dropped never takes back (no preemption)


@pytest.mark.parametrize("node1", [0, 1])
def test_strongswan_takeover_pushes_take_and_the_old_master_drops(node1: int) -> None:
    # the heartbeats of 5.25 and 6.25 are lost: member 1 takes over 2.1 s after 4.2505, at 6.3505,
    # and pushes HA_SEGMENT_TAKE at once; it reaches member 0 at 6.351, which drops whatever the node
    # numbers (ha_dispatcher.c process_segment): member 1 serves on
    first, second, link = pair(DetectionConfig(style=DetectionStyle.STRONGSWAN, node1=node1))
    link.drop_sender_times = {(0, 5.25), (0, 6.25)}
    link.run_until(30.0)
    assert [e.time for e in link.became(1)] == [pytest.approx(6.3505, abs=1e-9)]
    (down,) = link.events_of(SteppedDown)
    assert isinstance(down, SteppedDown) and (down.member, down.to) == (0, 1)
    assert down.time == pytest.approx(6.351, abs=1e-9)
    assert second.role is Role.MASTER and first.role is Role.BACKUP


def test_strongswan_take_is_no_heartbeat() -> None:
    backup = Membership(1, 100, STRONGSWAN)
    backup.start_backup(0.0, heard_at=0.0)
    backup.receive(Advertisement(0, 200, 1.0, 1.0, take=True), 1.0)
    assert backup.next_timer() == pytest.approx(2.1)  # a TAKE does not restart the watchdog
    backup.receive(Advertisement(0, 200, 1.0, 1.5), 1.5)
    assert backup.next_timer() == pytest.approx(3.6)


def test_strongswan_never_preempts() -> None:
    # the member of priority 200 comes back, synced, beside member 1 serving: it stays passive even
    # with preempt = True (VRRP would take over, test_preemption_after_resync_and_only_then)
    serving, rejoined = Membership(1, 100, STRONGSWAN), Membership(0, 200, STRONGSWAN)
    serving.start_master(0.0, first_advertisement=0.5)
    rejoined.start_backup(10.0, synced=True)
    link = ClusterLink([serving, rejoined])
    link.run_until(60.0)
    assert link.became(0) == [] and link.events_of(SteppedDown) == []
    assert serving.role is Role.MASTER and rejoined.role is Role.BACKUP
