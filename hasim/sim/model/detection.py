"""VRRP-style failure detection: when does a standby notice that the active member is gone?

RFC 5798 6.1: the master sends an advertisement every Advertisement_Interval; a backup declares it down
when no advertisement arrived for Master_Down_Interval = multiplier x interval + Skew_Time. A new master
advertises at once and then every interval, so the detector only needs the phase of the current
master's advertisements: the standby in line detects a crash at the arrival of the last advertisement
sent before the crash plus the master-down interval. Advertisements travel over the cluster LAN (one
``latency_s``, never lost; a sync-channel partition does not cut them, so partitions cause stale
counters, not split brain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hasim.sim.scenario.sections import ClusterSection


@dataclass
class HeartbeatDetector:
    """The advertisement schedule of the current master and the resulting detection times."""

    interval_s: float
    multiplier: int
    skew_s: float
    latency_s: float
    epoch: float = 0.0

    @classmethod
    def from_config(cls, cfg: ClusterSection) -> HeartbeatDetector:
        """Detector of a cluster section (interval, multiplier, skew, LAN latency = sync latency)."""
        return cls(cfg.advertisement_interval_s, cfg.master_down_multiplier, cfg.skew_s, cfg.sync_latency_s)

    @property
    def master_down_s(self) -> float:
        """Master_Down_Interval (RFC 5798 6.1)."""
        return self.multiplier * self.interval_s + self.skew_s

    def new_master(self, t: float) -> None:
        """A member became master at ``t`` and sends its first advertisement right away."""
        self.epoch = t

    def last_advertisement(self, crash_t: float) -> float:
        """Send time of the master's last advertisement at or before ``crash_t``."""
        k = math.floor((crash_t - self.epoch) / self.interval_s + 1e-12)
        return self.epoch + max(k, 0) * self.interval_s

    def detection_time(self, crash_t: float) -> float:
        """When the next standby declares the master (crashed at ``crash_t``) down."""
        return self.last_advertisement(crash_t) + self.latency_s + self.master_down_s
