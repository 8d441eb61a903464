"""What a periodic sync of the scaled engine keeps per SA: the IKE SA's state minus the bank's counters.

The per-SA world sends an ``IkeSaSnapshot`` per SA at every sync. The scaled engine keeps, per SA, an
:class:`SaRecord` (rebuilt only for SAs called into since the last sync) whose Child SAs name the bank's
flow that holds their counter or window, or carry the values where the bank does not hold them (an SA
released during a rekey). A batch of the bank's arrays plus these records gives back the snapshot the
per-SA world would have sent (:meth:`SaRecord.snapshot`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot, SyncValues

if TYPE_CHECKING:
    from hasim.sim.scale.bank import FlowBank
    from hasim.sim.scale.ends import FlowEnd
    from hasim.wire import SkKeys


class ChildRecord(NamedTuple):
    """One Child SA: its SPIs and rates, and where its counter and window are read."""

    spi_in: int
    spi_out: int
    esn: bool
    out_rate_pps: float
    in_rate_pps: float
    out_flow: int | None
    """The bank's flow holding the outgoing counter, or None (then ``out_seq`` is the counter)."""
    out_seq: int
    in_flow: int | None
    """The bank's flow holding the inbound window, or None (then ``in_top``/``in_words`` are it)."""
    in_top: int
    in_words: tuple[int, ...] | None


class SaRecord(NamedTuple):
    """One IKE SA as a periodic sync carries it (the fields of ``IkeSaSnapshot`` but the time)."""

    spi_i: int
    spi_r: int
    original_initiator: bool
    keys: SkKeys
    next_send_mid: int
    next_recv_mid: int
    highest_recv_mid: int
    send_window: int
    recv_window: int
    capabilities: Capabilities
    last_sync: SyncValues | None
    highest_sync_m1: int
    children: tuple[ChildRecord, ...]
    unsent_delta: int | None

    @property
    def bank_holds_all(self) -> bool:
        """Whether the bank holds every counter and window of this SA (else read it at every sync)."""
        return all(k.out_flow is not None and k.in_flow is not None for k in self.children)

    def snapshot(
        self,
        taken_at: float,
        last_seq: NDArray[np.uint64],
        tops: NDArray[np.uint64],
        words: NDArray[np.uint64],
    ) -> IkeSaSnapshot:
        """The ``IkeSaSnapshot`` the per-SA world would have sent, the bank's arrays as they were then."""
        kids = []
        for k in self.children:
            out_seq = int(last_seq[k.out_flow]) if k.out_flow is not None else k.out_seq
            if k.in_flow is not None:
                top = int(tops[k.in_flow])
                in_words: tuple[int, ...] | None = (
                    tuple(int(x) for x in words[k.in_flow]) if words.shape[1] else ()
                )
            else:
                top, in_words = k.in_top, k.in_words
            kids.append(
                ChildSaSnapshot(
                    k.spi_in, k.spi_out, k.esn, out_seq, top, k.out_rate_pps, k.in_rate_pps, in_words
                )
            )
        return IkeSaSnapshot(
            spi_i=self.spi_i,
            spi_r=self.spi_r,
            original_initiator=self.original_initiator,
            keys=self.keys,
            next_send_mid=self.next_send_mid,
            next_recv_mid=self.next_recv_mid,
            highest_recv_mid=self.highest_recv_mid,
            send_window=self.send_window,
            recv_window=self.recv_window,
            capabilities=self.capabilities,
            children=tuple(kids),
            last_sync=self.last_sync,
            highest_sync_m1=self.highest_sync_m1,
            taken_at=taken_at,
            unsent_delta=self.unsent_delta,
        )


def sa_record(sa: IkeSa, flows: Sequence[int], ends: Sequence[FlowEnd]) -> SaRecord:
    """SA ``sa``'s record; ``flows`` and their bound ``ends`` name the bank's flow that holds each
    Child SA's counter (the last flow it sends) and window (the last it receives); no ends when the
    SA is not bound."""
    kids = []
    for c in sa.children:
        out = inn = None
        for f, end in zip(flows, ends, strict=True):
            if end.tx is c:
                out = f
            if end.rx is c:
                inn = f
        held = c.held  # the object's own values, without a hand-back (the bank holds the rest)
        kids.append(
            ChildRecord(
                c.spi_in,
                c.spi_out,
                c.esn,
                c.out_rate_pps,
                c.in_rate_pps,
                out,
                held.outbound.last if out is None else 0,
                inn,
                held.inbound.top if inn is None else 0,
                held.inbound.words if inn is None else None,
            )
        )
    requests, responses = sa.requests, sa.responses
    return SaRecord(
        sa.spi_i,
        sa.spi_r,
        sa.original_initiator,
        sa.keys,
        requests.next_mid,
        responses.base,
        responses.highest,
        requests.size,
        responses.size,
        sa.caps,
        sa.member.last_sync,
        sa.highest_sync_m1,
        tuple(kids),
        sa.member.unsent_delta,
    )


def live_snapshot(
    sa: IkeSa, flows: Sequence[int], ends: Sequence[FlowEnd], bank: FlowBank, now: float
) -> IkeSaSnapshot:
    """``sa.snapshot(now)`` read without a hand-back: the bank's values where it holds a Child SA's
    counter or window (``flows`` bound to ``ends``, moved up to now by the caller), the object's where
    it does not (no flow is bound to the Child SA, or ``free_sender``/``free_receiver`` handed the value
    back to it)."""
    tx_free, rx_free = bank.tx_free, bank.rx_free
    held: Sequence[FlowEnd] = ends
    if any(tx_free[f] or rx_free[f] for f in flows):
        held = [
            e._replace(tx=None if tx_free[f] else e.tx, rx=None if rx_free[f] else e.rx)
            for f, e in zip(flows, ends, strict=True)
        ]
    return sa_record(sa, flows, held).snapshot(now, bank.last_seq, bank.windows.tops, bank.windows.words)


def outside_bank(sa: IkeSa, flows: Sequence[int], ends: Sequence[FlowEnd], limit: float) -> tuple[bool, bool]:
    """What :func:`sa_record` would say of ``sa`` without building it: whether the bank does not hold
    some counter or window of its Child SAs (``not bank_holds_all``), and whether a counter it does
    not hold is at ``limit`` or past it."""
    valued = near = False
    for c in sa.children:
        out = inn = False
        for end in ends:
            if end.tx is c:
                out = True
            if end.rx is c:
                inn = True
        if not (out and inn):
            valued = True
            if not out and c.held.outbound.last >= limit:
                near = True
    return valued, near
