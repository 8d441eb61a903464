"""Cluster membership of one member: heartbeats, the master-down timer, takeover and stepping down.

Theory of operation. Each cluster member runs one :class:`Membership`. The master sends an
:class:`Advertisement` every ``interval`` (VRRPv3 ADVERTISEMENT, RFC 5798 6.4.3; strongSwan HA's
HA_STATUS heartbeat); a backup restarts its master-down timer from every advertisement it actually
receives and becomes master when the timer runs out (RFC 5798 6.4.2 "Master_Down_Timer fires";
strongSwan ``ha_segments.c`` watchdog: "no heartbeat received, taking all segments"). The driver
carries the advertisements over the cluster link (loss, latency, partitions are its business), feeds
them in with ``receive(adv, now)``, calls ``handle_timer(now)`` at ``next_timer()``, sends what
``advertisements_to_send(now)`` returns and reads what happened from ``events()``.

Two detection styles (:class:`DetectionStyle`) differ only in the master-down interval:

- VRRPv3 (RFC 5798 6.1): Master_Down_Interval = multiplier x Master_Adver_Interval + Skew_Time,
  Skew_Time = (256 - Priority) x Master_Adver_Interval / 256, with the backup's own priority and the
  interval the master advertised (1 s, 3, priority 100: 3.609375 s).
- strongSwan's HA plugin: a fixed ``heartbeat_timeout`` (2.1 s beside a 1 s ``heartbeat_delay``).

When two members are master at once (split brain: the backup timed out while the master lived),
the one that hears the other's advertisement and ranks lower returns to backup. Who keeps
mastership is the style's rule (:meth:`DetectionConfig.rank`):

- VRRP (RFC 5798 6.4.3): the higher priority, then the higher address; hasim ranks by (priority,
  lower member index). The higher-ranked master discards the lower one's advertisements.
- strongSwan HA (``ha_segments.c``, ``handle_status``): every IKE SA lies in a ClusterIP segment,
  and a segment that both nodes handle is kept by the node whose number equals the segment number
  modulo 2; the node number is 1 on the node whose ``charon.plugins.ha.local`` address sorts after
  its ``remote`` one (``ha_plugin.c``: ``strcmp(local, remote) > 0``). With the default single
  segment (``segment_count = 1``) node 1 keeps everything, whoever was active first and whatever
  the priorities: hasim's ``DetectionConfig.node1``. The keeper that hears the other answers at
  once with ``HA_SEGMENT_TAKE`` (an :class:`Advertisement` with ``take=True``), on which the other
  drops the segment (``ha_dispatcher.c``, ``process_segment``): that split brain ends at the first
  of: the dropper hears the keeper's heartbeat, or the keeper hears the dropper's and its TAKE
  arrives. A TAKE feeds no watchdog (only HA_STATUS signals it).

  A node whose watchdog runs out takes all segments and pushes HA_SEGMENT_TAKE at once, on which
  the other drops whatever its node number: so a false failover whose TAKE gets through leaves the
  member that took over serving (split brain of one link latency), and the node rule decides only
  when the TAKE was lost too (a partition, a burst).

Preemption (RFC 5798 Preempt_Mode, VRRP only): a backup of higher priority discards a lower master's
advertisements, so its timer runs out and it takes over; a member that rejoined preempts only once
its bulk resync completed (``synced``). strongSwan HA never preempts: a node that comes back finds
the segment handled by the other and takes nothing (``handle_status``; ``autobalance`` takes a
segment only while a node has fewer than ``segment_count / 2``, never with one segment). A member
that times out before its resync completed still takes over (nobody else serves), and its
:class:`BecameMaster` says ``synced=False``: a takeover without state.

Where strongSwan differs from this model: its backups send heartbeats too and the active node
watches them (a timeout there takes segments it already has: nothing changes, but its watchdog then
waits for the next heartbeat), each node on its own clock; hasim's backups are silent, a member that
takes over starts heartbeating at its takeover (right after its TAKE), and a member that steps down
on a TAKE restarts its master-down timer at the TAKE. strongSwan pairs exactly two nodes; ``segment_count``
above 1 splits the SAs between both nodes, which one serving member per site cannot represent.

Ties: when an advertisement arrives exactly at the master-down deadline, the timer wins (the
deadline is checked first), so the closed form in :mod:`hasim.analysis.detection` can count
"n lost in a row" exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from hasim.errors import ConfigError
from hasim.protocol.events import Event

__all__ = [
    "Advertisement",
    "BecameMaster",
    "DetectionConfig",
    "DetectionStyle",
    "Membership",
    "Role",
    "SteppedDown",
]


class DetectionStyle(StrEnum):
    """How a backup turns missing advertisements into a takeover."""

    VRRP = "vrrp"
    """RFC 5798 6.1: multiplier x interval + skew from the backup's priority."""
    STRONGSWAN = "strongswan"
    """strongSwan HA plugin: a fixed heartbeat timeout (``charon.plugins.ha.heartbeat_timeout``)."""


class Role(StrEnum):
    """A member's role in the cluster."""

    BACKUP = "backup"
    MASTER = "master"


@dataclass(frozen=True)
class DetectionConfig:
    """The detection parameters every member shares (its priority is its own)."""

    style: DetectionStyle = DetectionStyle.VRRP
    interval: float = 1.0
    """Advertisement_Interval (VRRP, RFC 5798 5.2.7: 100 cs) or heartbeat_delay (strongSwan: 1 s)."""
    multiplier: int = 3
    """Advertisements a VRRP backup waits for (RFC 5798 6.1 fixes 3)."""
    timeout: float = 2.1
    """strongSwan heartbeat_timeout (2100 ms)."""
    preempt: bool = True
    """RFC 5798 6.1 Preempt_Mode (default True); strongSwan HA never preempts."""
    node1: int = 1
    """The member that is strongSwan HA node 1 and so keeps the single segment in a split brain."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval) and self.interval > 0):
            raise ConfigError("advertisement_interval_s", f"must be > 0 s, got {self.interval}")
        if self.multiplier < 1:
            raise ConfigError("master_down_multiplier", f"must be >= 1, got {self.multiplier}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ConfigError("heartbeat_timeout_s", f"must be > 0 s, got {self.timeout}")

    def skew(self, priority: int, master_interval: float | None = None) -> float:
        """Skew_Time = (256 - priority) x Master_Adver_Interval / 256 (RFC 5798 6.1); 0 for strongSwan."""
        if self.style is DetectionStyle.STRONGSWAN:
            return 0.0
        check_priority(priority)
        ivl = self.interval if master_interval is None else master_interval
        return (256 - priority) * ivl / 256

    def rank(self, priority: int, member: int) -> tuple[int, int]:
        """Higher keeps mastership in a split brain. VRRP: priority, then the lower member index (RFC
        5798 6.4.3: the higher address); strongSwan: node 1 (``ha_segments.c``: segment 1 is kept by
        the node whose number is 1 % 2)."""
        if self.style is DetectionStyle.STRONGSWAN:
            return (int(member == self.node1), -member)
        return (priority, -member)

    def preempts(self) -> bool:
        """Whether a synced backup of higher priority takes mastership (VRRP Preempt_Mode)."""
        return self.preempt and self.style is DetectionStyle.VRRP

    def master_down_interval(self, priority: int, master_interval: float | None = None) -> float:
        """How long a backup of ``priority`` waits after the last advertisement it received."""
        if self.style is DetectionStyle.STRONGSWAN:
            return self.timeout
        ivl = self.interval if master_interval is None else master_interval
        return self.multiplier * ivl + self.skew(priority, ivl)


def check_priority(priority: int) -> None:
    """VRRP priorities of a member lie in 1..255 (0 means "stopping", RFC 5798 5.2.4)."""
    if not 1 <= priority <= 255:
        raise ConfigError("priority", f"must lie in 1..255, got {priority}")


@dataclass(frozen=True)
class Advertisement:
    """One heartbeat: who sends it, with which priority and interval, and when it left."""

    sender: int
    priority: int
    interval: float
    sent_at: float
    take: bool = False
    """strongSwan HA_SEGMENT_TAKE: the keeper of a segment handled twice claims it (not a heartbeat)."""


@dataclass(frozen=True)
class BecameMaster(Event):
    """This member took over mastership (its master-down timer ran out, or it started as master)."""

    member: int
    reason: str
    """"start", "timeout" (no advertisement for the master-down interval) or "preempt"."""
    last_heard: float | None
    """When the last advertisement it received arrived (None: never heard one)."""
    synced: bool
    """False: it had not completed its bulk resync (a takeover without state)."""
    kind: ClassVar[str] = "became_master"


@dataclass(frozen=True)
class SteppedDown(Event):
    """This master heard a higher-ranked master and returned to backup (RFC 5798 6.4.3)."""

    member: int
    to: int
    """The member whose advertisement made it step down."""
    kind: ClassVar[str] = "stepped_down"


class Membership:
    """The heartbeat state machine of one member (sans-IO: time is passed in)."""

    def __init__(self, member: int, priority: int, cfg: DetectionConfig) -> None:
        check_priority(priority)
        self.member = member
        self.priority = priority
        self.cfg = cfg
        self.role = Role.BACKUP
        self.synced = True
        """Whether a bulk resync gave this member the full state (False after a rejoin until done)."""
        self.last_heard: float | None = None
        self.master_interval = cfg.interval
        self._down_at: float | None = None
        self._discarding = False
        """Whether it has been discarding a lower master's advertisements (preempting)."""
        self._epoch = 0.0
        self._sent = 0
        self._out: list[Advertisement] = []
        self._events: list[Event] = []

    # ------------------------------------------------------------------------------- start
    def start_master(self, now: float, first_advertisement: float | None = None) -> None:
        """Serve from ``now``; the first advertisement leaves at ``first_advertisement`` (default now),
        then one every interval (a random phase is the driver's draw)."""
        self._become_master(now, "start", first_advertisement)

    def start_backup(self, now: float, heard_at: float | None = None, *, synced: bool = True) -> None:
        """Wait as backup; ``heard_at`` is when it last heard the master (default: now, RFC 5798 6.4.1
        arms the timer at startup). ``synced=False`` for a member that rejoins before its bulk resync."""
        self.role = Role.BACKUP
        self.synced = synced
        self.last_heard = heard_at
        self.master_interval = self.cfg.interval
        self._down_at = (now if heard_at is None else heard_at) + self._mdi()

    def resync_complete(self, now: float) -> None:
        """The bulk resync delivered the full state: from now on this member may preempt."""
        self.synced = True

    # ------------------------------------------------------------------------------ driving
    def receive(self, adv: Advertisement, now: float) -> None:
        """An advertisement arrived at ``now`` (a deadline due at ``now`` fires first)."""
        if adv.sender == self.member:
            return
        self.handle_timer(now)
        if self.role is Role.MASTER:
            outranked = self.cfg.rank(adv.priority, adv.sender) > self.cfg.rank(self.priority, self.member)
            if adv.take or outranked:  # a TAKE: "remote node takes segment" (ha_dispatcher.c)
                self.role = Role.BACKUP
                self._heard(adv, now)
                self._events.append(SteppedDown(now, self.member, adv.sender))
            elif self.cfg.style is DetectionStyle.STRONGSWAN and not adv.take:
                # ha_segments.c: "HA segment 1 was handled twice, taking", with HA_SEGMENT_TAKE
                self._out.append(Advertisement(self.member, self.priority, self.cfg.interval, now, take=True))
            return  # RFC 5798 6.4.3: a lower-ranked advertisement is discarded
        if adv.take:
            return  # only a heartbeat (HA_STATUS) restarts the watchdog
        if self._preempting(adv):
            self._discarding = True
            return  # RFC 5798 6.4.2: preempt, discard; the timer runs out and we take over
        self._heard(adv, now)

    def handle_timer(self, now: float) -> None:
        """Send the due advertisements (master) or take over when the master-down timer ran out."""
        if self.role is Role.MASTER:
            while self._epoch + self._sent * self.cfg.interval <= now:
                self._out.append(
                    Advertisement(self.member, self.priority, self.cfg.interval, self._next_advert())
                )
                self._sent += 1
        elif self._down_at is not None and now >= self._down_at:
            self._become_master(now, "timeout", None)
            self.handle_timer(now)

    def next_timer(self) -> float | None:
        """When ``handle_timer`` has something to do next."""
        if self.role is Role.MASTER:
            return self._next_advert()
        return self._down_at

    def advertisements_to_send(self, now: float) -> list[Advertisement]:
        """The advertisements to put on the cluster link now (to every other member)."""
        out, self._out = self._out, []
        return out

    def events(self) -> list[Event]:
        """What happened since the last call."""
        out, self._events = self._events, []
        return out

    # ----------------------------------------------------------------------------- internal
    def _mdi(self) -> float:
        return self.cfg.master_down_interval(self.priority, self.master_interval)

    def _heard(self, adv: Advertisement, now: float) -> None:
        self.last_heard = now
        self._discarding = False
        self.master_interval = adv.interval
        self._down_at = now + self._mdi()

    def _preempting(self, adv: Advertisement) -> bool:
        return self.cfg.preempts() and self.synced and adv.priority < self.priority

    def _next_advert(self) -> float:
        return self._epoch + self._sent * self.cfg.interval

    def _become_master(self, now: float, reason: str, first: float | None) -> None:
        if reason == "timeout" and self._discarding:
            reason = "preempt"
        self._discarding = False
        self.role = Role.MASTER
        self._down_at = None
        self._epoch = now if first is None else first
        self._sent = 0
        self._events.append(BecameMaster(now, self.member, reason, self.last_heard, self.synced))
        if reason != "start" and self.cfg.style is DetectionStyle.STRONGSWAN:
            # ha_segments.c watchdog: "no heartbeat received, taking all segments", notified with
            # HA_SEGMENT_TAKE (before its first heartbeat: the other drops on it, ha_dispatcher.c)
            self._out.append(Advertisement(self.member, self.priority, self.cfg.interval, now, take=True))
        self.handle_timer(now)
