"""Who sends and who receives each flow of one IKE SA in the scaled engine (``ScaledWorld.ends_now``).

The per-SA world asks each flow's :class:`hasim.sim.model.world.SlotEnds` (``sender``, ``receiver``,
``split_senders``) on every batch. The scaled engine asks only when an SA's ends may have changed
(``ScaledWorld._settle_many``), for all flows of the SA at once: :func:`sa_ends` gives the same
answers as those three methods, with each site's serving SA, slots and other masters looked up once.
What may have moved every SA's ends at once is a membership change: :func:`membership_signature` says
whether one happened, :func:`holders_moved` whether it can have changed any SA's ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from hasim.protocol.child_sa import ChildSa
from hasim.protocol.ike_sa import IkeSa
from hasim.sim.dataplane.split_senders import SplitSender
from hasim.sim.model.sites import Member, Site
from hasim.sim.model.world import SlotEnds


class FlowEnd(NamedTuple):
    """Who sends and who receives one flow now, the SPI its packets carry, and during a split brain the
    other masters that send it too."""

    tx: ChildSa | None
    rx: ChildSa | None
    spi: int
    splits: tuple[SplitSender, ...] = ()


SaEnds = tuple[FlowEnd, ...]
"""The ends of each flow of one SA, in the order of ``ScaledWorld.flows_of``."""


def same_end(a: FlowEnd, b: FlowEnd) -> bool:
    """Whether a flow still has the same sender and receiver objects, SPI and split senders."""
    if a.tx is not b.tx or a.rx is not b.rx or a.spi != b.spi:
        return False
    return not (a.splits or b.splits) or _same_splits(a.splits, b.splits)


def same_ends(old: SaEnds, new: SaEnds) -> bool:
    """Whether every flow of an SA still has the same ends (:func:`same_end`)."""
    return all(same_end(a, b) for a, b in zip(old, new, strict=True))


def _same_splits(a: tuple[SplitSender, ...], b: tuple[SplitSender, ...]) -> bool:
    return len(a) == len(b) and all(
        x.member == y.member and x.child is y.child for x, y in zip(a, b, strict=True)
    )


class SiteNow(NamedTuple):
    """What every SA's ends read of one site that is the same for all its SAs: the member serving the
    address and whether other masters serve too (a split brain). Looked up once per settle
    (``ScaledWorld._settle_many``): nothing in it changes while SAs are settled."""

    site: Site
    m: Member | None
    """``Site.serving``."""
    active: int | None
    split: bool
    """Some live master other than the address holder (``Site.masters_serving`` can add members)."""


def site_now(site: Site) -> SiteNow:
    active = site.active
    split = len(site.members) >= 2 and any(x != active for x in site.membership.masters_now)
    return SiteNow(site, site.serving(), active, split)


_ALIVE = attrgetter("alive")

MembershipSignature = tuple[int | None, int | None, tuple[int, ...], tuple[int, ...], *tuple[bool, ...]]
"""Each site's address holder, each site's masters, then whether each member lives (a flat tuple:
made at every SA checkpoint, so no NamedTuple's extra cost)."""


def membership_signature(cluster: Site, peer: Site, members: Sequence[Member]) -> MembershipSignature:
    """What decides every flow's ends besides its own SA: who holds each address, who lives (of
    ``members``: both sites'), and who is master (a split brain adds senders; a step-down takes them
    away). While it stays the same, no SA's ends change but through an event of the SA itself."""
    return (
        cluster.active,
        peer.active,
        cluster.membership.masters_now,
        peer.membership.masters_now,
        *map(_ALIVE, members),
    )


Holders = tuple[tuple[Member | None, tuple[Member, ...]], ...]
"""Per site (cluster, peer), the member serving the address and the other masters serving too."""


def holders(sites: Sequence[Site]) -> Holders:
    """Per site, the members whose SAs every flow's ends are looked up in: the one serving the address
    and, during a split brain, the other masters."""
    out = []
    for s in sites:
        now = site_now(s)
        masters = s.membership.masters_now if now.split else ()
        out.append((now.m, tuple(s.members[x] for x in masters if x != now.active)))
    return tuple(out)


def holders_moved(old: Holders, new: Holders) -> bool:
    """Whether some site's holders changed other than by members that hold no SA, before or now (a
    standby that became master, or that took the address and installs its SAs one by one, each of
    which it marks; a standby that crashed or rejoined): then every SA's ends may have changed."""
    for (m0, o0), (m1, o1) in zip(old, new, strict=True):
        if m0 is not m1 and ((m0 is not None and m0.ready) or (m1 is not None and m1.ready)):
            return True  # a dead member's SAs may still be bound: it counts as holding them
        h0 = [k for k in o0 if k.ready]
        h1 = [k for k in o1 if k.alive and k.ready]
        if len(h0) != len(h1) or any(a is not b for a, b in zip(h0, h1, strict=True)):
            return True
    return False


class _SiteView(NamedTuple):
    """One site's side of IKE SA ``i`` now: what ``Site.child_for_slot``, ``Site.child_by_spi_in`` and
    ``Site.split_senders`` read, looked up once for every flow of the SA."""

    sa: IkeSa | None
    """The SA as served now (``Site.sa``)."""
    slots: list[int] | None
    """The serving member's Child SA slots of the SA."""
    others: list[Member]
    """The masters other than the address holder that serve the SA (a split brain)."""


_NO_VIEW = _SiteView(None, None, [])


def _site_view(now: SiteNow, i: int) -> _SiteView:
    """``Site.sa``, the serving member's slots and the other masters of ``Site.masters_serving``."""
    m = now.m
    sa = m.sas.get(i) if m is not None and i in m.ready else None
    if sa is not None and sa.deleted:
        sa = None
    others: list[Member] = []
    if now.split:
        members = now.site.members
        for x in now.site.membership.masters_now:
            if x != now.active and _holds(members[x], i):
                others.append(members[x])
    if sa is None:
        return _SiteView(None, None, others) if others else _NO_VIEW
    assert m is not None
    return _SiteView(sa, m.slots.get(i), others)


def _holds(k: Member, i: int) -> bool:
    """``Site._holds``: ``k`` serves IKE SA ``i`` (alive, ready, not deleted)."""
    sa = k.sas.get(i)
    return k.alive and i in k.ready and sa is not None and not sa.deleted


def _child(sa: IkeSa, spi_in: int) -> ChildSa | None:
    """``IkeSa.child_by_spi_in`` (the first Child SA with that inbound SPI)."""
    for c in sa.children:
        if c.spi_in == spi_in:
            return c
    return None


def _split_senders(others: list[Member], i: int, j: int) -> tuple[SplitSender, ...]:
    """``Site.split_senders`` of slot ``j`` given the other masters serving SA ``i``."""
    out: list[SplitSender] = []
    for k in others:
        slots = k.slots.get(i)
        child = _child(k.sas[i], slots[j]) if slots and j < len(slots) else None
        if child is not None:
            out.append(SplitSender(k.index, child))
    return tuple(out)


def sa_ends(
    slot_ends: list[SlotEnds], spi_of: np.ndarray, flows: list[int], i: int, sites: dict[Site, SiteNow]
) -> SaEnds:
    """The ends of ``flows`` (SA ``i``'s, in order): per flow ``f`` what ``slot_ends[f]`` says now, the
    sender's outbound SPI or, without a sender, the flow's last SPI ``spi_of[f]``; ``sites``: each
    site's :func:`site_now`."""
    views: dict[Site, _SiteView] = {}
    out: list[FlowEnd] = []
    for f in flows:
        ends = slot_ends[f]
        tx_site, rx_site = ends.tx, ends.rx
        tx_view = views.get(tx_site)
        if tx_view is None:
            tx_view = views[tx_site] = _site_view(sites[tx_site], i)
        rx_view = views.get(rx_site)
        if rx_view is None:
            rx_view = views[rx_site] = _site_view(sites[rx_site], i)
        j = ends.j
        tx = None
        sa = tx_view.sa
        if sa is not None:
            slots = tx_view.slots
            if slots and j < len(slots):
                tx = _child(sa, slots[j])
        spi = tx.spi_out if tx is not None else int(spi_of[f])
        rx = _child(rx_view.sa, spi) if spi >= 0 and rx_view.sa is not None else None
        splits = _split_senders(tx_view.others, i, j) if tx_view.others else ()
        out.append(FlowEnd(tx, rx, spi, splits))
    return tuple(out)
