"""The state of the flow bank: every ESP flow's sender, receiver, link, statistics and copies in flight.

:class:`BankState` holds, in arrays over all flows, what the per-flow path keeps per flow (see
:mod:`hasim.sim.scale.bank`), with the few operations on it that sending and delivering share: the
pool of copies in flight, the ranges of sequence numbers used (for the IV check) and the receivers'
windows one flow at a time. Sending (:mod:`hasim.sim.scale.send`) and delivering
(:mod:`hasim.sim.scale.deliver`) build on it; the bank (:mod:`hasim.sim.scale.bank`) puts them together.
The thresholds below choose between the array passes and the packet-by-packet ones (same results); the
equivalence tests set them to force each path.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.anti_replay import ReplayWindow
from hasim.protocol.esp_counter import counter_limit
from hasim.sim.dataplane.link import LossBursts
from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.dataplane.window_bank import WindowBank
from hasim.sim.scale.copies import Copies, runs
from hasim.sim.scale.epoch import EpochIndex
from hasim.sim.scale.offered import OfferedTimes

if TYPE_CHECKING:
    from hasim.protocol.child_sa import ChildSa
    from hasim.protocol.iv_reuse import IvUsageTracker
    from hasim.sim.dataplane.esp_flows import EspFlow
    from hasim.sim.dataplane.split_senders import SplitSender

SMALL = 48
"""Packets up to which a pass over a few flows checks windows one packet at a time (less overhead)."""

SMALL_SEND = 64
"""Packets up to which a send is done one packet at a time in Python (the NumPy path's fixed cost of
some seventy array calls is more than the work below this)."""

MANY = 256
"""Flows from which a pass over some flows finds their packets through the time buckets and the pool's
flow index in array operations rather than flow by flow."""

RANGE_COPIES = 1 << 17
"""Packets and copies a pass over all flows handles per range of flows (:mod:`hasim.sim.scale.bulk`):
its arrays stay about a MiB each, far below glibc's mmap threshold, at any number of peers."""

FEATURES = ("loss", "jitter", "reorder", "dup")
"""Link features drawing one uniform per packet sent, in the per-flow path's order of streams."""

STAT_FIELDS = (
    "offered",
    "sent",
    "outage",
    "exhausted",
    "lost",
    "delivered",
    "accepted",
    "duplicate",
    "too_old",
    "unverifiable",
    "no_receiver",
)


class BankState:
    """Per-flow state of all ESP flows of a run, in arrays (flow ``f`` is ``flows[f]``)."""

    def __init__(
        self,
        flows: list[EspFlow],
        sa_of: list[int],
        bursts: dict[str, LossBursts],
        ivs: IvUsageTracker,
        *,
        replay_window: int,
        esn: bool,
        epoch_s: float,
    ) -> None:
        n = len(flows)
        self.flows = flows
        self.n = n
        self.sa_of = np.asarray(sa_of, dtype=np.int64)
        self.ivs = ivs
        self.size, self.esn = replay_window, esn
        self.limit = counter_limit(esn)
        self.epoch_s = epoch_s
        self.closed = False
        """Set at ``duration_s``: the run's ESP traffic is over and no flow moves any more."""
        cfgs = [f.link.cfg for f in flows]
        self.lat = np.array([c.latency_s for c in cfgs])
        self.jit = np.array([c.jitter_s for c in cfgs])
        self.loss = np.array([c.loss for c in cfgs])
        self.reo = np.array([c.reorder for c in cfgs])
        self.reo_delay = np.array([c.reorder_delay_s for c in cfgs])
        self.dup = np.array([c.duplicate for c in cfgs])
        self._same = {
            name: float(v[0]) if n and bool((v == v[0]).all()) else None
            for name, v in (
                ("lat", self.lat),
                ("jit", self.jit),
                ("loss", self.loss),
                ("reo", self.reo),
                ("reo_delay", self.reo_delay),
                ("dup", self.dup),
            )
        }
        """Per link parameter: its value when every flow has the same (no gather per packet), else None."""
        self.link_of = list(
            zip(
                self.loss.tolist(),
                self.lat.tolist(),
                self.jit.tolist(),
                self.reo.tolist(),
                self.reo_delay.tolist(),
                self.dup.tolist(),
                strict=True,
            )
        )
        """Per flow its link's (loss, latency, jitter, reorder, reorder delay, duplicate), as floats for the
        packet-by-packet passes."""
        self.uses = {
            "loss": self.loss > 0.0,
            "jitter": self.jit > 0.0,
            "reorder": self.reo > 0.0,
            "dup": self.dup > 0.0,
        }
        self.feats = tuple(k for k in FEATURES if bool(self.uses[k].any()))
        dirs = sorted({f.name.split("/", 1)[0] for f in flows})
        self.dir_names = dirs
        self.dirn = np.array([dirs.index(f.name.split("/", 1)[0]) for f in flows], dtype=np.int64)
        self.bursts = [bursts.get(d, LossBursts()) for d in dirs]
        self.burst_of = [self.bursts[d] for d in self.dirn.tolist()]
        """Per flow the loss bursts of its direction."""
        # epoch of offered times, flow-major (hasim.sim.scale.epoch)
        self.epoch_end = 0.0
        self.t_off = np.zeros(0)
        self.t_seg = np.zeros(n + 1, dtype=np.int64)
        self.t_pos = np.zeros(n, dtype=np.int64)
        self.t_index = EpochIndex(self.t_off, self.t_seg, 0.0)
        self._bufs: dict[str, NDArray[np.float64]] = {}
        """The buffers the epoch's times and link uniforms are views of (``epoch.room``), by name."""
        procs = [f.arrivals for f in flows]
        assert all(isinstance(p, ArrivalProcess) for p in procs), (
            "the bank draws from the flows' own processes"
        )
        self.offered = OfferedTimes(cast("list[ArrivalProcess]", procs))
        """The flows' offered times not yet in an epoch, drawn epoch by epoch."""
        self._rate_total: float | None = None
        """The flows' offered packets per second together (sizes each epoch's array before it is filled)."""
        # link uniforms per feature, flow-major, with carry-over of unused ones
        self.u: dict[str, NDArray[np.float64]] = {k: np.zeros(0) for k in self.feats}
        self.u_seg = {k: np.zeros(n + 1, dtype=np.int64) for k in self.feats}
        self.u_pos = {k: np.zeros(n, dtype=np.int64) for k in self.feats}
        self._rngs: dict[str, list[np.random.Generator | None]] = {}
        """Per feature, each flow's stream of it (None where the flow does not use it)."""
        # sender and receiver bound to each flow
        self.bound = np.zeros(n, dtype=bool)
        self.tx_free = np.zeros(n, dtype=bool)
        self.rx_free = np.zeros(n, dtype=bool)
        """The receiver's window handed back to its object while the rest stays bound."""
        """The sender's counter handed back to its object while the receiver stays bound."""
        self.tx: list[ChildSa | None] = [None] * n
        self.rx: list[ChildSa | None] = [None] * n
        self.has_tx = np.zeros(n, dtype=bool)
        self.last_seq = np.zeros(n, dtype=np.uint64)
        self.spi = np.full(n, -1, dtype=np.int64)
        self.rx_ok = np.zeros(n, dtype=bool)
        self.windows = WindowBank.initial(n, replay_window, esn=esn)
        self.foreign = np.zeros(n, dtype=np.int64)
        """Packets in flight whose SPI is not the bound one (sent before a rekey)."""
        # statistics
        self.stats = {k: np.zeros(n, dtype=np.int64) for k in STAT_FIELDS}
        self.max_space = np.zeros(n)
        self.watch_from = np.full(n, math.nan)
        self.first_acc = np.full(n, math.nan)
        # IVs used: one open range per flow, handed to the tracker when it stops being contiguous
        self.iv_open = np.zeros(n, dtype=bool)
        self.iv_spi = np.zeros(n, dtype=np.int64)
        self.iv_lo = np.zeros(n, dtype=np.uint64)
        self.iv_hi = np.zeros(n, dtype=np.uint64)
        self._iv_top: dict[int, int] = {}
        self._iv_wait: dict[int, list[tuple[int, int]]] = {}
        # packets in flight, each flow's in send order (the order across flows never matters): the main
        # pool, left by the last pass over all flows grouped by flow (flow f at p_seg[f]:p_seg[f + 1];
        # copies taken out by a pass over a few flows are marked with an infinite arrival), and a side
        # pool per flow (sent in passes over a few flows, merged into the main one before the next pass
        # over all flows)
        self.p_arr = np.zeros(0)
        self.p_seq = np.zeros(0, dtype=np.uint64)
        self.p_spi = np.zeros(0, dtype=np.int64)
        self.p_flow = np.zeros(0, dtype=np.int64)
        self.p_seg = np.zeros(n + 1, dtype=np.int64)
        self.side: dict[int, list[Copies]] = {}
        # a split brain (hasim.sim.dataplane.split_senders): the other masters bound to a flow, and their
        # copies in flight, delivered after the flow's own copies at the same instant
        self.splits: dict[int, list[SplitSender]] = {}
        self.split_copies: dict[int, list[Copies]] = {}
        self.bulk_t = 0.0
        """Time of the last pass over all flows (every flow has sent all it offered before it)."""

    def window(self, f: int) -> ReplayWindow:
        w = self.windows
        words = tuple(w.words[f].tolist()) if w.words.shape[1] else None
        return ReplayWindow(self.size, esn=self.esn, top=int(w.tops[f]), words=words)

    def store_window(self, f: int, win: ReplayWindow) -> None:
        w = self.windows
        w.tops[f] = win.top
        if w.words.shape[1]:
            w.words[f] = np.array(win.words, dtype=np.uint64)

    def per_packet(
        self, name: str, fw: NDArray[np.int64], mw: NDArray[np.int64]
    ) -> float | NDArray[np.float64]:
        """Link parameter ``name`` (lat, jit, loss, reo, reo_delay, dup) of each packet of a send, flow
        ``fw[i]`` sending ``mw[i]`` of them in a row: one float when all flows share it (the same
        arithmetic, without the expansion)."""
        same = self._same[name]
        if same is not None:
            return same
        values: NDArray[np.float64] = getattr(self, name)
        return np.repeat(values[fw], mw)

    def to_side(self, c: Copies) -> None:
        """Put copies (flow-major, each flow's in send order) in flight in their flows' side pools."""
        ufl, counts = runs(c.flow)
        if ufl.shape[0] == 1:
            self.side.setdefault(int(ufl[0]), []).append(c)
            return
        at = 0
        for f, k in zip(ufl.tolist(), counts.tolist(), strict=True):
            end = at + k
            part = Copies(c.arr[at:end], c.seq[at:end], c.spi[at:end], c.flow[at:end])
            self.side.setdefault(f, []).append(part)
            at = end

    def to_pool(self, c: Copies) -> None:
        """Put copies in flight in the main pool, after those there."""
        self.p_arr = np.concatenate((self.p_arr, c.arr))
        self.p_seq = np.concatenate((self.p_seq, c.seq))
        self.p_spi = np.concatenate((self.p_spi, c.spi))
        self.p_flow = np.concatenate((self.p_flow, c.flow))

    def _merge_side(self) -> None:
        if self.side:
            parts = [c for f in sorted(self.side) for c in self.side[f]]
            self.side = {}
            self.p_arr = np.concatenate([self.p_arr] + [c.arr for c in parts])
            self.p_seq = np.concatenate([self.p_seq] + [c.seq for c in parts])
            self.p_spi = np.concatenate([self.p_spi] + [c.spi for c in parts])
            self.p_flow = np.concatenate([self.p_flow] + [c.flow for c in parts])

    def _regroup(self, keep: NDArray[np.intp]) -> None:
        """Keep the main pool's copies ``keep`` (in pool order), grouped by flow, each flow's copies
        staying in send order (a radix sort in 16 bits), and index them by flow."""
        arr, seq, spi, flow = self.p_arr[keep], self.p_seq[keep], self.p_spi[keep], self.p_flow[keep]
        by = np.argsort(flow.astype(np.uint16) if self.n < 1 << 16 else flow, kind="stable")
        self.p_arr, self.p_seq, self.p_spi, self.p_flow = arr[by], seq[by], spi[by], flow[by]
        self.p_seg = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.p_flow, minlength=self.n), out=self.p_seg[1:])

    def iv_range(self, f: int, first: int, last: int) -> None:
        """``_ivs`` for one flow that sent ``first..last``."""
        s_f = int(self.spi[f])
        open_ = bool(self.iv_open[f])
        if not (open_ and int(self.iv_spi[f]) == s_f and int(self.iv_hi[f]) + 1 == first):
            if open_:
                self.flush_iv(f)
            self.iv_open[f] = True
            self.iv_spi[f] = s_f
            self.iv_lo[f] = first
        self.iv_hi[f] = last

    def _space_used(self, went: NDArray[np.int64]) -> None:
        if went.shape[0] == 0:
            return
        if self.esn:  # Python's exact int / int, as OutboundCounter.counter_space_used
            for f in went.tolist():
                self.max_space[f] = max(self.max_space[f], int(self.last_seq[f]) / self.limit)
        else:
            used = self.last_seq[went].astype(np.float64) / float(self.limit)
            self.max_space[went] = np.maximum(self.max_space[went], used)

    def _ivs(self, went: NDArray[np.int64], firsts: NDArray[np.uint64], lasts: NDArray[np.uint64]) -> None:
        spis = self.spi[went]
        contig = (
            self.iv_open[went] & (self.iv_spi[went] == spis) & (self.iv_hi[went] + np.uint64(1) == firsts)
        )
        new = np.flatnonzero(~contig)
        for j in new[self.iv_open[went[new]]].tolist():
            self.flush_iv(int(went[j]))
        fn = went[new]
        self.iv_open[fn] = True
        self.iv_spi[fn] = spis[new]
        self.iv_lo[fn] = firsts[new]
        self.iv_hi[went] = lasts

    def flush_iv(self, f: int) -> None:
        """Close flow ``f``'s open range of used sequence numbers (R3.4-1). A range above every range of
        its SA so far cannot repeat an IV: it waits in a list, and goes to the IV tracker (in order,
        before the new one) only when a later range of that SA reaches below that SA's top."""
        if not self.iv_open[f]:
            return
        self.iv_open[f] = False
        self.iv_closed(int(self.iv_spi[f]), int(self.iv_lo[f]), int(self.iv_hi[f]))

    def iv_closed(self, key: int, lo: int, hi: int) -> None:
        """A closed range ``lo..hi`` of SA ``key``'s numbers (a flow's, or a split sender's run)."""
        top = self._iv_top.get(key)
        if top is None or lo > top:
            self._iv_wait.setdefault(key, []).append((lo, hi))
            self._iv_top[key] = hi
            return
        for a, b in self._iv_wait.pop(key, ()):
            self.ivs.use(key, a, b)
        self.ivs.use(key, lo, hi)
        self._iv_top[key] = max(top, hi)
