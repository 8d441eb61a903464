"""Replay exposure after failover, strict vs lenient (R8.2-1): by hand and against a scripted timeline."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import ConfigError
from hasim.protocol.anti_replay import ReplayOutcome, ReplayPolicy, ReplayWindow
from hasim.sim.dataplane import WindowState, replay_exposure


def _stale(size: int, received: range) -> WindowState:
    w = ReplayWindow(size)
    for s in received:
        w.receive(s)
    return WindowState.from_window(w)


# The common case: W = 64; the standby's snapshot saw 1..1000; the old active went on to accept
# 1001..1100; the peer's next packet is 1101; it sends 1000 packets/s and applies the delta at 50 ms.
STALE = _stale(64, range(1, 1001))
OLD = np.arange(1, 1101, dtype=np.uint64)


@pytest.mark.rfc("R8.2-1")
def test_strict_with_enough_delta_exposes_nothing_but_drops_in_flight_packets() -> None:
    e = replay_exposure(OLD, STALE, policy=ReplayPolicy.STRICT, delta=200, rate_pps=1000, sync_s=0.05)
    # safe edge 1000 + 200 = 1200 >= 1100: every old packet counts as received.
    assert (e.safe_edge, e.replayable, e.exposure_s) == (1200, 0, 0.0)
    # The 50 packets sent before the sync are numbered 1101..1150 <= 1200: dropped. Afterwards the
    # peer numbers from 1101 + 50 + 200 = 1351 > 1200.
    assert e.legit_dropped == 50


@pytest.mark.rfc("R8.2-1")
def test_strict_with_too_small_delta_leaves_the_top_exposed() -> None:
    e = replay_exposure(OLD, STALE, policy=ReplayPolicy.STRICT, delta=50, rate_pps=1000, sync_s=0.05)
    # safe edge 1050: the old 1051..1100 are still replayable (50 packets).
    assert (e.replayable, e.lowest, e.highest) == (50, 1051, 1100)
    # 1100 is pushed out once the edge reaches 1100 + 64 = 1164. Before the sync the peer's k-th
    # packet is 1101 + k (k < 50 reaches 1150 only); at the sync (k = 50) it jumps to 1101 + 50 + 50 =
    # 1201 >= 1164: exposure 50 / 1000 s.
    assert e.exposure_s == pytest.approx(0.05)
    assert e.legit_dropped == 0  # nothing legitimate is numbered <= 1050


@pytest.mark.rfc("R8.2-1")
def test_lenient_accepts_replays_during_the_grace_period() -> None:
    e = replay_exposure(OLD, STALE, policy=ReplayPolicy.LENIENT, delta=200, grace_s=0.2, rate_pps=1000)
    # the stale window (edge 1000, 937..1000 received) accepts every one of 1001..1100
    assert (e.replayable, e.lowest, e.highest) == (100, 1001, 1100)
    # no sync: legitimate packet k = 63 (number 1164 = 1100 + 64) pushes the last one out at 63 ms,
    # before the grace period ends
    assert e.exposure_s == pytest.approx(0.063)
    assert e.legit_dropped == 0
    quiet = replay_exposure(OLD, STALE, policy=ReplayPolicy.LENIENT, delta=200, grace_s=0.2)
    assert quiet.exposure_s == 0.2  # without traffic the grace period is the whole exposure
    never = replay_exposure(OLD, STALE, policy=ReplayPolicy.STRICT, delta=50)
    assert never.exposure_s == math.inf  # nothing ever pushes 1051..1100 out
    forever = replay_exposure(OLD, STALE, policy=ReplayPolicy.LENIENT, delta=0, grace_s=math.inf, rate_pps=10)
    assert (forever.replayable, forever.exposure_s, forever.legit_dropped) == (100, 6.3, 0)


@pytest.mark.rfc("R8.2-1")
def test_lenient_with_zero_grace_is_strict() -> None:
    a = replay_exposure(OLD, STALE, policy=ReplayPolicy.LENIENT, delta=70, rate_pps=500, sync_s=0.1)
    b = replay_exposure(OLD, STALE, policy=ReplayPolicy.STRICT, delta=70, rate_pps=500, sync_s=0.1)
    assert (a.replayable, a.exposure_s, a.legit_dropped) == (b.replayable, b.exposure_s, b.legit_dropped)


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        replay_exposure(OLD, STALE, policy=ReplayPolicy.STRICT, delta=-1)


def _timeline(
    old: np.ndarray,
    stale: WindowState,
    policy: ReplayPolicy,
    delta: int,
    grace: int,
    sync: int,
    peer_next: int,
) -> tuple[int, float, int]:
    """Packet by packet with the reference window; times in units of 1/1024 s, rate 1024 packets/s."""
    edge = stale.top + delta
    lenient = policy is ReplayPolicy.LENIENT and grace > 0
    start = stale.to_window()
    if not lenient:
        start.mark_received_through(edge)
    attacked = start.copy()
    replayable = sum(attacked.receive(int(a)) is ReplayOutcome.ACCEPTED for a in old)

    def exposed(w: ReplayWindow) -> bool:
        return any(w.check(int(a)) is ReplayOutcome.ACCEPTED for a in old)

    w, dropped, exposure = start, 0, None if exposed(start) else 0.0
    for k in range(4 * (grace + sync + 200)):
        if lenient and k == grace:
            w.mark_received_through(edge)
            if exposure is None and not exposed(w):
                exposure = k / 1024
        number = peer_next + k + (delta if k >= sync else 0)
        if w.receive(number) is not ReplayOutcome.ACCEPTED:
            dropped += 1
        if exposure is None and not exposed(w):
            exposure = k / 1024
    return replayable, math.inf if exposure is None else exposure, dropped


@pytest.mark.rfc("R8.2-1")
@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from([32, 64]),
    stale_top=st.integers(40, 300),
    extra=st.integers(0, 150),
    gaps=st.lists(st.integers(0, 500), max_size=20),
    policy=st.sampled_from(list(ReplayPolicy)),
    delta=st.integers(0, 250),
    grace=st.integers(0, 150),
    sync=st.integers(0, 150),
)
def test_closed_form_equals_the_timeline(
    size: int,
    stale_top: int,
    extra: int,
    gaps: list[int],
    policy: ReplayPolicy,
    delta: int,
    grace: int,
    sync: int,
) -> None:
    stale = _stale(size, range(1, stale_top + 1))
    old = np.setdiff1d(np.arange(1, stale_top + extra + 1), gaps).astype(np.uint64)
    peer_next = stale_top + extra + 1
    got = replay_exposure(
        old,
        stale,
        policy=policy,
        delta=delta,
        grace_s=grace / 1024,
        rate_pps=1024,
        sync_s=sync / 1024,
        peer_next=peer_next,
    )
    replayable, exposure, dropped = _timeline(old, stale, policy, delta, grace, sync, peer_next)
    assert (got.replayable, got.exposure_s, got.legit_dropped) == (replayable, exposure, dropped)
