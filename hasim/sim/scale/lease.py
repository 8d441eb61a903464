"""What a bound Child SA and a flow's arrival process see of the flow bank.

A Child SA whose counter and window the bank holds carries a :class:`BankLease`: touching them hands
them back to the object first (``hasim.sim.scale.world``, "Checkpoints instead of per-SA batches").
A flow's arrivals are drawn by the bank; :class:`BankArrivals` answers the one question the failover
asks of them (the next offered time, R7-2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hasim.protocol.child_sa import ChildSa
from hasim.sim.dataplane.traffic import ArrivalProcess

if TYPE_CHECKING:
    from hasim.sim.scale.world import ScaledWorld


class BankLease:
    """The lease of a bound Child SA (``ChildSa.lease``): the bank holds its counter and window, and
    touching them hands them back first (see the module docstring)."""

    __slots__ = ("i", "rx_free", "tx_free", "world")

    def __init__(self, world: ScaledWorld, i: int) -> None:
        self.world, self.i = world, i
        self.tx_free = False
        """The counter is back in the object until SA ``i`` is next settled."""
        self.rx_free = False
        """The window is back in the object until SA ``i`` is next settled."""

    def before_outbound(self, child: ChildSa) -> None:
        if not self.tx_free:
            self.world.free_sender(self.i, child)

    def before_inbound(self, child: ChildSa) -> None:
        if not self.rx_free:
            self.world.free_receiver(self.i, child)

    def before_replace(self, child: ChildSa) -> None:
        self.world.release_sa(self.i)


def set_free(child: ChildSa | None, *, tx: bool | None = None, rx: bool | None = None) -> None:
    """Mark a bound Child SA's counter (``tx``) or window (``rx``) as handed back or taken again."""
    lease = child.lease if child is not None else None
    if isinstance(lease, BankLease):
        if tx is not None:
            lease.tx_free = tx
        if rx is not None:
            lease.rx_free = rx


class BankArrivals:
    """A flow's arrival process as the failover sees it: the next offered time after now (R7-2)."""

    __slots__ = ("f", "real", "world")

    def __init__(self, world: ScaledWorld, f: int, real: ArrivalProcess) -> None:
        self.world, self.f, self.real = world, f, real

    @property
    def rate(self) -> float:
        return self.real.rate

    def next_time(self) -> float:
        """The next offered time: from the epoch the bank holds, else the first one after it (the bank
        draws the times: ``offered.OfferedTimes``). (Asking the flow's arrivals, as the bank once did,
        asked this object again without end.)"""
        bank = self.world.bank
        t = bank.next_offered(self.f, self.world.env.now)
        return bank.offered.next_after_epoch(self.f) if t is None else t

    def until(self, t: float) -> np.ndarray:
        raise RuntimeError(f"flow {self.f}: the bank fetches its offered times (load_epoch)")

    def pop(self) -> float:
        raise RuntimeError(f"flow {self.f}: the bank fetches its offered times (load_epoch)")
