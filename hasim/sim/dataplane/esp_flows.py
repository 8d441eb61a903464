"""ESP traffic of one direction of one Child SA slot: vectorized batches, or packet by packet in SimPy.

A flow takes offered send times from its :class:`~hasim.sim.dataplane.traffic.ArrivalProcess`, asks its
:class:`FlowEnds` who sends (the active node's ``ChildSa``, whose ``out_seq`` it advances) and who
receives (the anti-replay window of the inbound SA the packet's SPI names, at whatever node is
active when it arrives), and pushes packets through its :class:`~hasim.sim.dataplane.link.LinkChannel`.

The Child SA owns its counter (``outbound``) and its window (``inbound``). Two paths, identical outcomes:

- vectorized (``advance(t)``): all packets sent in [last, t) at once, then all arrivals before ``t``
  in arrival order through the data plane's ``receive_batch`` (exact). The simulator calls
  ``advance(env.now)`` before every control event that reads or changes ESP state (sync snapshot,
  crash, takeover, counter skip or delta, rekey, attack), so every batch sees constant state;
- packet by packet (``start_reference``): one SimPy timeout per packet sent and per copy delivered,
  through the scalar :class:`~hasim.protocol.anti_replay.ReplayWindow`. The tests compare the two.

Packets in flight carry their SPI, so a rekey or a failover in the middle changes nothing for them.
During a split brain the other masters send the same offered packets with their own counters
(:mod:`hasim.sim.dataplane.split_senders`); their copies reach the same window, after the flow's own
at the same instant.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import simpy
from numpy.typing import NDArray

from hasim.protocol.anti_replay import ReplayOutcome
from hasim.protocol.child_sa import ChildSa
from hasim.protocol.iv_reuse import IvUsageTracker
from hasim.sim.dataplane.link import LinkChannel
from hasim.sim.dataplane.outcomes import OUTCOME_COUNTERS, accepted_from, tally
from hasim.sim.dataplane.split_senders import SplitCopies, SplitPool, SplitSender, send_split
from hasim.sim.dataplane.vector_window import receive_batch

_MAX_BATCH_S = 1.0
"""Longest stretch of simulated time sent as one batch (bounds memory at high rates)."""

_NO_TIMES = np.zeros(0)
_NO_INTS = np.zeros(0, dtype=np.int64)
_NOT_RECORDING: deque[tuple[int, int]] = deque(maxlen=0)
"""Shared by every flow until it has something to hold (empty, so nothing can be written into them):
each flow's own cost about 1.3 KiB, more than the rest of a flow in the scaled engine."""


class Arrivals(Protocol):
    """The offered send times of a flow: an :class:`~hasim.sim.dataplane.traffic.ArrivalProcess`, or
    a view of one that knows what is already sent."""

    @property
    def rate(self) -> float:
        """Mean offered packets per second."""

    def until(self, t: float) -> np.ndarray:
        """Every offered time in [previous call, t)."""

    def next_time(self) -> float:
        """The next offered time (not taken)."""

    def pop(self) -> float:
        """Take the next offered time."""


class FlowEnds(Protocol):
    """What a flow asks the nodes at its two ends, at the current simulated time."""

    def sender(self) -> ChildSa | None:
        """The sending node's Child SA for this slot, or None (node down, SA deleted)."""

    def receiver(self, spi: int) -> ChildSa | None:
        """The receiving node's Child SA whose inbound SPI is ``spi``, or None (node down, SA unknown)."""

    def split_senders(self) -> Sequence[SplitSender]:
        """The other masters sending this slot during a split brain (empty otherwise)."""


@dataclass(slots=True)
class FlowStats:
    """Counters of one flow; the simulator sums them into the run's metrics."""

    offered: int = 0
    sent: int = 0
    outage: int = 0
    exhausted: int = 0
    lost: int = 0
    delivered: int = 0
    outcomes: list[int] = field(default_factory=lambda: [0] * len(OUTCOME_COUNTERS))
    """Delivered packets per anti-replay outcome, indexed by its code (``outcomes.OUTCOME_COUNTERS``:
    accepted, duplicate, too_old, unverifiable, also readable by those names)."""
    no_receiver: int = 0
    replayed: int = 0
    replayed_accepted: int = 0
    first_accept_after: float | None = None
    watch_from: float | None = None
    max_space_used: float = 0.0

    def add(self, counts: Sequence[int] | NDArray[np.int64]) -> None:
        """Add a tally of anti-replay outcomes (``outcomes.tally``), by outcome code."""
        out = self.outcomes
        for code in range(len(out)):
            out[code] += int(counts[code])

    @property
    def accepted(self) -> int:
        return self.outcomes[ReplayOutcome.ACCEPTED]

    @accepted.setter
    def accepted(self, n: int) -> None:
        self.outcomes[ReplayOutcome.ACCEPTED] = n

    @property
    def duplicate(self) -> int:
        return self.outcomes[ReplayOutcome.DUPLICATE]

    @duplicate.setter
    def duplicate(self, n: int) -> None:
        self.outcomes[ReplayOutcome.DUPLICATE] = n

    @property
    def too_old(self) -> int:
        return self.outcomes[ReplayOutcome.TOO_OLD]

    @too_old.setter
    def too_old(self, n: int) -> None:
        self.outcomes[ReplayOutcome.TOO_OLD] = n

    @property
    def unverifiable(self) -> int:
        return self.outcomes[ReplayOutcome.UNVERIFIABLE]

    @unverifiable.setter
    def unverifiable(self, n: int) -> None:
        self.outcomes[ReplayOutcome.UNVERIFIABLE] = n

    @property
    def replay_drops(self) -> int:
        """Packets the receiver's anti-replay check discarded (duplicate, too old, unverifiable)."""
        return self.duplicate + self.too_old + self.unverifiable


@dataclass(slots=True)
class EspSample:
    """ESP headers kept for the pcap: (time, src, dst, spi, seq), a bounded sample."""

    rows: list[tuple[float, str, str, int, int]] = field(default_factory=list)
    budget: int = 0


class EspFlow:
    """One direction of one Child SA slot of one IKE SA (see the module docstring)."""

    def __init__(
        self,
        name: str,
        arrivals: Arrivals,
        link: LinkChannel,
        ends: FlowEnds,
        ivs: IvUsageTracker,
        *,
        src: str,
        dst: str,
        record: int = 0,
        on_drop: Callable[[float, str, int, int], None] | None = None,
        split_link: Callable[[int], LinkChannel] | None = None,
    ) -> None:
        self.name = name
        self.arrivals: Arrivals = arrivals
        self.link = link
        self.ends = ends
        self.ivs = ivs
        self.src, self.dst = src, dst
        self.stats = FlowStats()
        self.sample = EspSample()
        self.on_drop = on_drop
        self._split_link = split_link
        self._split_links: dict[int, LinkChannel] = {}
        self.split_pool = SplitPool()
        """Copies of split senders in flight (:mod:`hasim.sim.dataplane.split_senders`)."""
        self._last = 0.0
        self._p_arr = _NO_TIMES
        self._p_seq = _NO_INTS
        self._p_spi = _NO_INTS
        self.recorded: deque[tuple[int, int]] = deque(maxlen=record) if record else _NOT_RECORDING
        self._record = record
        self.frozen = False
        self.closed = False
        """Set at ``duration_s``: the run's ESP traffic is over, copies still in flight are not counted."""
        """The attacker stops recording at the first crash: it replays what it saw before the failover."""
        self._rec_seq = _NO_INTS
        self._rec_spi = _NO_INTS

    # ---------------------------------------------------------------------------- split brain
    def split_link(self, member: int) -> LinkChannel:
        """The link draws of member ``member``'s copies of this flow (streams of its own)."""
        link = self._split_links.get(member)
        if link is None:
            if self._split_link is None:
                raise ValueError(f"flow {self.name} has no link for a second sender")
            link = self._split_links[member] = self._split_link(member)
        return link

    def send_splits(self, times: np.ndarray) -> list[SplitCopies]:
        """The split senders (if any) send the offered ``times`` (:func:`send_split`), in member order."""
        senders = self.ends.split_senders()
        if not senders or times.shape[0] == 0:
            return []
        return [send_split(s.child, self.split_link(s.member), times) for s in senders]

    def _count_splits(self, runs: list[SplitCopies], *, pool: bool = True) -> None:
        """Count the split senders' runs; ``pool``: put their copies in flight for the batches."""
        st = self.stats
        for c in runs:
            st.sent += c.sent
            st.exhausted += c.exhausted
            st.lost += c.lost
            if c.sent:
                st.max_space_used = max(st.max_space_used, c.space_used)
                self.ivs.use(c.spi, c.first, c.last)
                if pool:
                    self.split_pool.add(c)

    # ------------------------------------------------------------------------------ vectorized
    def advance(self, t: float) -> None:
        """Send every packet offered in [last, t) and deliver every arrival before ``t``."""
        while self._last < t and not self.closed:
            step = min(t, self._last + _MAX_BATCH_S)
            self._send_batch(self.arrivals.until(step))
            self._deliver_batch(step)
            self._last = step

    def _send_batch(self, times: np.ndarray) -> None:
        n = times.shape[0]
        if n == 0:
            return
        self._send_own(times)
        self._count_splits(self.send_splits(times))

    def _send_own(self, times: np.ndarray) -> None:
        n = times.shape[0]
        st = self.stats
        st.offered += n
        child = self.ends.sender()
        if child is None:
            st.outage += n
            return
        m = min(n, child.outbound.remaining)
        st.exhausted += n - m
        if m <= 0:
            return
        first, _ = child.outbound.take(m)
        st.max_space_used = max(st.max_space_used, child.outbound.counter_space_used)
        st.sent += m
        self.ivs.use(child.spi_out, first, first + m - 1)
        seqs = np.arange(first, first + m, dtype=np.int64)
        if self.sample.budget > 0:
            k = min(self.sample.budget, m)
            self.sample.rows.extend(
                (float(times[i]), self.src, self.dst, child.spi_out, int(seqs[i])) for i in range(k)
            )
            self.sample.budget -= k
        idx, arr = self.link.transmit(times[:m])
        copies = idx.shape[0]
        if copies and self.link.cfg.duplicate > 0.0:
            distinct = int(np.count_nonzero(np.diff(idx))) + 1
        else:
            distinct = copies
        st.lost += m - distinct
        if copies:
            sent = seqs if distinct == m == copies else seqs[idx]  # nothing lost, nothing doubled
            spis = np.full(copies, child.spi_out, dtype=np.int64)
            if self._p_arr.shape[0]:
                self._p_arr = np.concatenate((self._p_arr, arr))
                self._p_seq = np.concatenate((self._p_seq, sent))
                self._p_spi = np.concatenate((self._p_spi, spis))
            else:
                self._p_arr, self._p_seq, self._p_spi = arr, sent, spis

    def _deliver_batch(self, t: float) -> None:
        arr = self._p_arr
        if arr.shape[0] == 0 and not len(self.split_pool):
            return
        if arr.shape[0] > 1 and not np.all(arr[1:] >= arr[:-1]):
            order = np.argsort(arr, kind="stable")
            arr, self._p_seq, self._p_spi = arr[order], self._p_seq[order], self._p_spi[order]
        k = int(np.searchsorted(arr, t, side="left"))
        a, s, p = arr[:k], self._p_seq[:k], self._p_spi[:k]
        self._p_arr, self._p_seq, self._p_spi = arr[k:], self._p_seq[k:], self._p_spi[k:]
        if len(self.split_pool):  # the split senders' copies after the flow's own at the same instant
            sa, ss, sp = self.split_pool.take_before(t)
            if sa.shape[0]:
                order = np.argsort(np.concatenate((a, sa)), kind="stable")
                a = np.concatenate((a, sa))[order]
                s = np.concatenate((s, ss))[order]
                p = np.concatenate((p, sp))[order]
        if a.shape[0] == 0:
            return
        if p[0] == p[-1] and bool(np.all(p == p[0])):
            self._receive_vector(a, s, int(p[0]))
            return
        for spi in np.unique(p).tolist():
            sel = p == spi
            self._receive_vector(a[sel], s[sel], int(spi))

    def _receive_vector(self, a: np.ndarray, s: np.ndarray, spi: int) -> None:
        st = self.stats
        st.delivered += a.shape[0]
        rx = self.ends.receiver(spi)
        if rx is None:
            st.no_receiver += a.shape[0]
            if self.on_drop is not None:
                self.on_drop(float(a[0]), "no_receiver", spi, a.shape[0])
            return
        out, rx.inbound = receive_batch(rx.inbound, s)
        counts = tally(out)[0]
        st.add(counts)
        if self.on_drop is not None and counts[0] < out.shape[0]:
            first_bad = int(np.flatnonzero(out != 0)[0])
            self.on_drop(float(a[first_bad]), "replay", spi, int(out.shape[0] - counts[0]))
        if st.watch_from is not None and st.first_accept_after is None and counts[0]:
            ok = np.flatnonzero(accepted_from(out, a, st.watch_from))
            if ok.shape[0]:
                st.first_accept_after = float(a[ok[0]])
        if self._record and not self.frozen:
            self._rec_seq = np.concatenate((self._rec_seq, s))[-self._record :]
            self._rec_spi = np.concatenate((self._rec_spi, np.full(s.shape[0], spi, dtype=np.int64)))[
                -self._record :
            ]

    # --------------------------------------------------------------------------- packet by packet
    def start_reference(self, env: simpy.Environment, until: float) -> None:
        """Run this flow packet by packet as SimPy events up to ``until`` (instead of ``advance``)."""
        env.process(self._reference(env, until))

    def _reference(self, env: simpy.Environment, until: float) -> Generator[simpy.Event, Any, None]:
        while True:
            t = self.arrivals.next_time()
            if t >= until:
                return
            yield env.timeout(max(t - env.now, 0.0))
            self.arrivals.pop()
            self._reference_own(env, t)
            runs = self.send_splits(np.array([t]))
            self._count_splits(runs, pool=False)  # each copy is an event of its own
            for c in runs:
                for arrival, seq in zip(c.arrival.tolist(), c.seq.tolist(), strict=True):
                    ev = env.timeout(max(arrival - env.now, 0.0))
                    ev.callbacks.append(self._split_arrive_cb(env, arrival, seq, c.spi))

    def _split_arrive_cb(
        self, env: simpy.Environment, arrival: float, seq: int, spi: int
    ) -> Callable[[simpy.Event], None]:
        """A split sender's copy is checked after the flow's own copies due at the same instant: one
        more turn of the event queue at that instant (they were all scheduled before it came due)."""

        def cb(_: simpy.Event) -> None:
            env.timeout(0.0).callbacks.append(lambda _e: self._receive_one(arrival, seq, spi))

        return cb

    def _reference_own(self, env: simpy.Environment, t: float) -> None:
        """The flow's own sender sends the packet offered at ``t`` (packet by packet)."""
        st = self.stats
        st.offered += 1
        child = self.ends.sender()
        if child is None:
            st.outage += 1
            return
        counter = child.outbound
        if counter.exhausted:
            st.exhausted += 1
            return
        seq = counter.next()
        st.max_space_used = max(st.max_space_used, counter.counter_space_used)
        st.sent += 1
        self.ivs.use(child.spi_out, seq, seq)
        if self.sample.budget > 0:
            self.sample.rows.append((t, self.src, self.dst, child.spi_out, seq))
            self.sample.budget -= 1
        copies = self.link.transmit_one(t)
        if not copies:
            st.lost += 1
        for arrival in copies:
            ev = env.timeout(max(arrival - env.now, 0.0))
            ev.callbacks.append(self._arrive_cb(arrival, seq, child.spi_out))

    def _arrive_cb(self, arrival: float, seq: int, spi: int) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            self._receive_one(arrival, seq, spi)

        return cb

    def _receive_one(self, arrival: float, seq: int, spi: int) -> None:
        if self.closed:
            return
        st = self.stats
        st.delivered += 1
        rx = self.ends.receiver(spi)
        if rx is None:
            st.no_receiver += 1
            if self.on_drop is not None:
                self.on_drop(arrival, "no_receiver", spi, 1)
            return
        outcome = rx.inbound.receive(seq)
        st.outcomes[outcome] += 1
        if outcome is ReplayOutcome.ACCEPTED:
            if st.watch_from is not None and st.first_accept_after is None and arrival >= st.watch_from:
                st.first_accept_after = arrival
        else:
            if self.on_drop is not None:
                self.on_drop(arrival, "replay", spi, 1)
        if self._record and not self.frozen:
            self.recorded.append((seq, spi))

    # ------------------------------------------------------------------------------- attacker
    def recorded_packets(self) -> list[tuple[int, int]]:
        """The (seq, spi) of the last delivered packets an on-path attacker kept (oldest first)."""
        if self.recorded:
            return list(self.recorded)
        return list(zip(self._rec_seq.tolist(), self._rec_spi.tolist(), strict=True))

    def replay(self, packets: list[tuple[int, int]]) -> int:
        """Inject recorded packets at the current receiver now; returns how many were accepted."""
        accepted = 0
        for seq, spi in packets:
            rx = self.ends.receiver(spi)
            if rx is None:
                continue
            if rx.inbound.receive(seq) is ReplayOutcome.ACCEPTED:
                accepted += 1
        self.stats.replayed += len(packets)
        self.stats.replayed_accepted += accepted
        return accepted

    def watch_recovery(self, t: float) -> None:
        """Record the first packet accepted at or after ``t`` (recovery after a takeover)."""
        self.stats.watch_from = t
        self.stats.first_accept_after = None
