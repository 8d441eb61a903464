"""The fate of every IKE SA, decided by simulation rather than by the clock running out.

A run's ESP traffic ends at ``scenario.duration_s``; then the IKE side keeps running (liveness
checks, retransmissions, rekeys, periodic sync) until every IKE SA's fate is decided, looked at
every ``CHECK_EVERY_S``, at most ``scenario.decide_within_s`` beyond ``duration_s`` (an SA still open
then is ``undecided``). So the fate, and ``sa_survival`` = survived / IKE SAs, do not depend on
``duration_s`` as long as it leaves the data plane time to resume after the last takeover.

A decided fate is final, and a decided SA's own clocks stop: from the look that decided it, it
starts no liveness check (either end) and no rekey (scheduled or for its counters; ``World.fates``),
while an exchange already started runs its course (a retransmitted request, an answer). The
member-wide clocks go on for every SA (heartbeats, periodic sync, what a takeover starts). So the
tail costs what the SAs still open need rather than what all SAs would do until the last one is
decided, and an SA's IKE counts (``ike_messages``, retransmissions) stop growing once it is decided.

Fates, in the order they are tested:

- ``lost_timeout``: some end gave the SA up after its retransmissions (RFC 7296 2.1).
- ``unknown_to_standby``: the member that took over never received the SA.
- ``torn_down``: deleted otherwise (inconsistency R8.3-1, a Delete, the serving member lost it).
- ``survived``: alive at both ends; since the last failover (takeover of either end) an exchange
  completed, and with liveness checks on (each end then initiates one every interval) one that
  *each* end initiated, so Message IDs work both ways; no request of either end is outstanding
  (one that might still time out); and every Child SA carried ESP both ways after the last
  takeover, before ``duration_s`` (a flow with no traffic offered counts as carried).
- ``black_holed``: the IKE side meets the conditions of ``survived`` but a Child SA's flow never
  delivered after the takeover (e.g. a rekey straddled the crash and the peer sends on a Child SA
  the new member never learned of).
- ``undecided``: none of these by the bound (e.g. no liveness checks, so no exchange shows the
  SA alive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hasim.sim.model.world import World

FATES = ("survived", "lost_timeout", "unknown_to_standby", "torn_down", "black_holed", "undecided")
CHECK_EVERY_S = 0.7
"""How often, after ``duration_s``, the open fates are looked at again (simulated seconds). Not a
divisor of the whole-second clocks of liveness checks and syncs, so a look that finds a request in
flight (its answer a round trip away) is not followed by looks that always find one too."""


def fate_of(world: World, i: int, last_failover: float) -> str | None:
    """SA ``i``'s fate now, or None while it is still open."""
    reasons = [r for _, _, r in world.probes.deletions.get(i, [])]
    if "timeout" in reasons:
        return "lost_timeout"
    if i in world.probes.lost_unknown:
        return "unknown_to_standby"
    if reasons:
        return "torn_down"
    cluster_sa, peer_sa = world.cluster.sa(i), world.peer.sa(i)
    for site, sa in ((world.cluster, cluster_sa), (world.peer, peer_sa)):
        if sa is None:  # gone from the serving member, or the end is between a crash and its takeover
            return "torn_down" if site.serving() is not None else None
    assert cluster_sa is not None and peer_sa is not None
    if cluster_sa.requests.outstanding or peer_sa.requests.outstanding:
        return None  # a request in flight or being retransmitted may still time out
    done = [world.probes.initiated_done.get((end, i), -1.0) > last_failover for end in ("cluster", "peer")]
    if not any(done) or (world.cfg.traffic.liveness_interval_s > 0 and not all(done)):
        return None
    for f in world.flows.get(i, ()):
        st = f.stats
        carried = st.first_accept_after is not None if st.watch_from is not None else st.accepted > 0
        if not carried and st.offered > 0:
            return "black_holed"
    return "survived"


def last_failover(world: World) -> float:
    """The last takeover of either end (-1 without a failover)."""
    return max((t for s in (world.cluster, world.peer) for t in s.takeover_times), default=-1.0)


def decide(world: World) -> tuple[dict[int, str], float]:
    """Run the IKE side on from ``duration_s`` until every fate is decided or the bound is reached;
    return each SA's fate and the time the last one was decided. Fates go into ``world.fates`` as
    they are decided (a decided SA starts no new exchange: see the module docstring)."""
    env = world.env
    bound = world.cfg.scenario.duration_s + world.cfg.scenario.decide_within_s
    n = world.cfg.traffic.peers
    fates = world.fates
    undecided = list(range(n))
    while True:
        last = last_failover(world)
        still: list[int] = []
        for i in undecided:
            fate = fate_of(world, i, last)
            if fate is None:
                still.append(i)
            else:
                fates[i] = fate
        undecided = still
        if not undecided or env.now >= bound:
            break
        env.run(until=min(env.now + CHECK_EVERY_S, bound))
    for i in undecided:
        fates[i] = "undecided"
    return fates, env.now
