"""Sending in the flow bank: offered packets take sequence numbers, meet the link and go in flight.

One pass sends every packet offered before a time, for all flows or some: the sender's counter gives
the sequence numbers (a flow without a sender counts an outage, an exhausted counter the rest), each
packet draws the link's uniforms in the per-flow path's order, and the copies that survive go into the
pool in flight. ``_send`` does it in array operations; ``_send_few`` packet by packet for small passes,
with the same draws, arithmetic and order (below ``SMALL_SEND`` packets the arrays' fixed cost is more
than the work).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hasim.sim.dataplane.link import arrival_time, hit
from hasim.sim.dataplane.split_senders import send_split
from hasim.sim.scale import bank_state
from hasim.sim.scale.bank_state import BankState
from hasim.sim.scale.copies import Copies


class Sender(BankState):
    """The bank's sending passes (see the module docstring)."""

    def _offered_before(
        self, t: float, in_set: NDArray[np.bool_] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The flows (of those in ``in_set``) with packets not yet sent that were offered before ``t``, and
        how many each (from its next unsent one on; the epoch's index finds where each flow's run ends)."""
        flows = np.arange(self.n, dtype=np.int64) if in_set is None else np.flatnonzero(in_set)
        count = self.t_index.before(self.t_off, flows, t) - self.t_pos[flows]
        some = count > 0
        return flows[some], count[some]

    def _offered_by_flow(self, t: float, flows: list[int]) -> tuple[list[int], list[int]]:
        """``_offered_before`` for a few flows (sorted), one search in each flow's offered times."""
        ufl: list[int] = []
        counts: list[int] = []
        t_off, t_pos, t_seg = self.t_off, self.t_pos, self.t_seg
        for f in flows:
            lo = int(t_pos[f])
            k = int(t_off[lo : int(t_seg[f + 1])].searchsorted(t))
            if k > 0:
                ufl.append(f)
                counts.append(k)
        return ufl, counts

    def _send_some(self, ufl: list[int], counts: list[int]) -> None:
        """``_send`` for the runs of a few flows (``_offered_by_flow``), into the side pools."""
        if not ufl:
            return
        if self.splits or sum(counts) > bank_state.SMALL_SEND:
            self._send(np.array(ufl, dtype=np.int64), np.array(counts, dtype=np.int64), side=True)
        else:
            self._send_few(ufl, counts, side=True)

    def _send(self, ufl: NDArray[np.int64], counts: NDArray[np.int64], *, side: bool) -> Copies | None:
        """Send ``counts[i]`` offered packets of each flow ``ufl[i]`` (ascending, counts positive), each
        flow's from its next unsent one on. The copies that survive the link: into the side pools
        (``side``), or returned in flow-major send order (the caller puts them in flight)."""
        if ufl.shape[0] == 0:
            return None
        if self.splits:
            self._send_splits(ufl, counts)
        return self._send_own(ufl, counts, side=side)

    def _send_own(self, ufl: NDArray[np.int64], counts: NDArray[np.int64], *, side: bool) -> Copies | None:
        """``_send`` without the split senders (a pass over all flows sends theirs first, for all flows)."""
        if ufl.shape[0] == 0:
            return None
        if int(counts.sum()) <= bank_state.SMALL_SEND:
            return self._send_few(ufl.tolist(), counts.tolist(), side=side)
        first_of = self.t_pos[ufl]
        self.t_pos[ufl] = first_of + counts
        st = self.stats
        st["offered"][ufl] += counts
        has_tx = self.has_tx[ufl]
        last = self.last_seq[ufl]
        if has_tx.all():
            m = np.minimum(counts.astype(np.uint64), np.uint64(self.limit) - last).astype(np.int64)
            st["exhausted"][ufl] += counts - m
        else:
            st["outage"][ufl] += np.where(has_tx, 0, counts)
            remaining = np.where(has_tx, np.uint64(self.limit) - last, np.uint64(0))
            m = np.minimum(counts.astype(np.uint64), remaining).astype(np.int64)
            st["exhausted"][ufl] += np.where(has_tx, counts - m, 0)
        went = np.flatnonzero(m > 0)
        if went.shape[0] == 0:
            return None
        if went.shape[0] < ufl.shape[0]:
            fw, mw, first_of, last = ufl[went], m[went], first_of[went], last[went]
        else:
            fw, mw = ufl, m
        new_last = last + mw.astype(np.uint64)
        self.last_seq[fw] = new_last
        st["sent"][fw] += mw
        self._space_used(fw)
        self._ivs(fw, last + np.uint64(1), new_last)
        # one row per packet sent, flow-major: a per-flow value x of each packet is np.repeat(x, mw) (one
        # pass, where a gather by each packet's flow index took two), its rank in its flow's run ar - at
        total = int(mw.sum())
        at = np.cumsum(mw) - mw
        ar = np.arange(total, dtype=np.int64)
        times = self.t_off.take(np.repeat(first_of - at, mw) + ar)
        # modular uint64 arithmetic: last + 1 + rank, exactly
        seqs = np.repeat(last + np.uint64(1) - at.astype(np.uint64), mw) + ar.astype(np.uint64)
        # the link: one uniform per packet sent from each stream the flow's link uses
        u = {}
        for key in self.feats:
            pos = self.u_pos[key]
            uses = self.uses[key][fw]
            idx = np.repeat(pos[fw] - at, mw) + ar
            if uses.all():
                u[key] = self.u[key].take(idx)
                pos[fw] += mw
                continue
            use = np.repeat(uses, mw)
            val = np.zeros(total)
            val[use] = self.u[key][idx[use]]
            u[key] = val
            pos[fw] += np.where(uses, mw, 0)
        lost = hit(u["loss"], self.per_packet("loss", fw, mw)) if "loss" in u else np.zeros(total, dtype=bool)
        if any(b.intervals for b in self.bursts):
            dirn = np.repeat(self.dirn[fw], mw)
            for d, b in enumerate(self.bursts):
                if b.intervals:
                    lost |= (dirn == d) & b.mask(times)
        u_jit, u_reo = u.get("jitter"), u.get("reorder")
        arrival = arrival_time(
            times,
            self.per_packet("lat", fw, mw),
            self.per_packet("jit", fw, mw) if u_jit is not None else 0.0,
            u_jit,
            self.per_packet("reo", fw, mw) if u_reo is not None else 0.0,
            self.per_packet("reo_delay", fw, mw) if u_reo is not None else 0.0,
            u_reo,
        )
        keep = ~lost
        kept = np.add.reduceat(keep, at, dtype=np.int64)  # per flow (each sent at least one)
        st["lost"][fw] += mw - kept
        if "dup" in u:
            copies = keep.astype(np.int64)
            copies += hit(u["dup"], self.per_packet("dup", fw, mw)) & keep
            idx = np.repeat(np.arange(total), copies)
            kept = np.add.reduceat(copies, at)
        else:
            idx = np.flatnonzero(keep)
        # the copies stay flow-major: each flow's SPI and index repeated as many times as it has copies
        out = Copies(arrival.take(idx), seqs.take(idx), np.repeat(self.spi[fw], kept), np.repeat(fw, kept))
        if side:
            self.to_side(out)
            return None
        return out

    def _send_splits(self, ufl: NDArray[np.int64], counts: NDArray[np.int64]) -> None:
        """During a split brain the other masters bound to a flow send its offered packets (``counts[i]`` of
        flow ``ufl[i]`` from its next unsent one) too, each with its own counter and link draws
        (``split_senders.send_split``, as the per-flow path)."""
        offered = dict(zip(ufl.tolist(), counts.tolist(), strict=True))
        st = self.stats
        for f in sorted(self.splits):
            c_f = offered.get(f, 0)
            if not c_f:
                continue
            lo = int(self.t_pos[f])
            times = self.t_off[lo : lo + c_f].copy()
            flow = self.flows[f]
            for s in self.splits[f]:
                c = send_split(s.child, flow.split_link(s.member), times)
                st["sent"][f] += c.sent
                st["exhausted"][f] += c.exhausted
                st["lost"][f] += c.lost
                if not c.sent:
                    continue
                self.max_space[f] = max(float(self.max_space[f]), c.space_used)
                self.iv_closed(c.spi, c.first, c.last)
                k = c.arrival.shape[0]
                if k:
                    copies = Copies(
                        c.arrival,
                        c.seq.astype(np.uint64),
                        np.full(k, c.spi, dtype=np.int64),
                        np.full(k, f, dtype=np.int64),
                    )
                    self.split_copies.setdefault(f, []).append(copies)
                    if c.spi != int(self.spi[f]):
                        self.foreign[f] += k  # delivered to whoever that SPI names

    def _send_few(self, fls: list[int], counts: list[int], *, side: bool) -> Copies | None:
        """``_send`` packet by packet: the same counters, uniforms, arithmetic and copies in flight."""
        st = self.stats
        feats = self.feats
        parts: list[Copies] = []
        for f, c in zip(fls, counts, strict=True):
            lo = int(self.t_pos[f])
            self.t_pos[f] = lo + c
            st["offered"][f] += c
            if not self.has_tx[f]:
                st["outage"][f] += c
                continue
            last = int(self.last_seq[f])
            m = min(c, self.limit - last)
            st["exhausted"][f] += c - m
            if m <= 0:
                continue
            self.last_seq[f] = last + m
            st["sent"][f] += m
            self.max_space[f] = max(float(self.max_space[f]), (last + m) / self.limit)
            self.iv_range(f, last + 1, last + m)
            times = self.t_off[lo : lo + m].tolist()
            u: dict[str, list[float]] = {}
            for k in feats:
                if self.uses[k][f]:
                    p = int(self.u_pos[k][f])
                    u[k] = self.u[k][p : p + m].tolist()
                    self.u_pos[k][f] = p + m
                else:
                    u[k] = [0.0] * m
            loss, lat, jit, reo, reo_delay, dup = self.link_of[f]
            burst = self.burst_of[f]
            bursts = bool(burst.intervals)
            u_loss, u_jit, u_reo, u_dup = u.get("loss"), u.get("jitter"), u.get("reorder"), u.get("dup")
            arr: list[float] = []
            seq: list[int] = []
            lost = 0
            for r in range(m):
                t = times[r]
                if (u_loss is not None and hit(u_loss[r], loss)) or (bursts and burst.contains(t)):
                    lost += 1
                    continue
                a = arrival_time(
                    t,
                    lat,
                    jit,
                    u_jit[r] if u_jit is not None else None,
                    reo,
                    reo_delay,
                    u_reo[r] if u_reo is not None else None,
                )
                arr.append(a)
                seq.append(last + 1 + r)
                if u_dup is not None and hit(u_dup[r], dup):
                    arr.append(a)
                    seq.append(last + 1 + r)
            st["lost"][f] += lost
            if arr:
                n = len(arr)
                spis = np.empty(n, dtype=np.int64)  # np.full, without its Python-level wrapper
                spis.fill(self.spi[f])
                of_f = np.empty(n, dtype=np.int64)
                of_f.fill(f)
                copies = Copies(np.array(arr, dtype=np.float64), np.array(seq, dtype=np.uint64), spis, of_f)
                if side:
                    self.side.setdefault(f, []).append(copies)
                else:
                    parts.append(copies)
        if side or not parts:
            return None
        return Copies.join(parts) if len(parts) > 1 else parts[0]
