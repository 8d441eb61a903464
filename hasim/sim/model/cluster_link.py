"""The cluster link of one site: the one modelled link its members' sync messages and advertisements cross.

Cluster members talk over one link (strongSwan's HA plugin sends its heartbeats and its state sync over
one socket): latency ``cluster.sync_latency_s``, loss ``cluster.sync_loss`` or a Gilbert-Elliott chain,
jitter (``[cluster_link]``) and the partitions of ``sync_partition`` faults. Each ordered pair of members
(``src>dst``) is one direction with one :class:`~hasim.sim.dataplane.link.GeChain`: every message sent
on it, a sync message or (with ``membership.link = "sync"``) an advertisement, steps the chain once, in
send order, so a burst entered by one message is met by the next of either kind; a partition cuts both.
With ``membership.link = "own"`` the advertisements cross ``[heartbeat_link]`` instead: a chain of their
own and no partitions.

The fate of each message is decided by :class:`~hasim.sim.dataplane.link.LinkChannel` (``hit``,
``arrival_time``, ``ge_states``, written once); this module only says which flows share what. Streams,
each under a name of its own so that a feature left off leaves every other draw where it was: the sync
messages' loss uniforms come from ``("sync", site, "loss")`` in (SA, standby) order, the stream the sync
channel always drew from; the advertisements' loss and jitter from ``("links", "heartbeat", site,
"src>dst", ...)`` as before; the chain's transitions from ``("links", "cluster", site, "src>dst",
"state")``; the sync messages' jitter from ``("links", "sync", site, "src>dst", "jitter")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hasim.sim.dataplane.link import GeChain, LinkChannel, LossBursts
from hasim.sim.scenario.sections import LinkSection, ScenarioConfig
from hasim.sim.streams import RandomStreams


def cluster_link_section(cfg: ScenarioConfig) -> LinkSection:
    """The cluster link as a link direction: ``[cluster]``'s latency and Bernoulli loss, ``[cluster_link]``'s
    jitter and Gilbert-Elliott chain (no reordering, no copies: a sync message is kept only if newer)."""
    cl, ck = cfg.cluster, cfg.cluster_link
    return LinkSection(
        latency_s=cl.sync_latency_s,
        jitter_s=ck.jitter_s,
        loss_model=ck.loss_model,
        loss=cl.sync_loss,
        ge_good_to_bad=ck.ge_good_to_bad,
        ge_bad_to_good=ck.ge_bad_to_good,
        ge_loss_good=ck.ge_loss_good,
        ge_loss_bad=ck.ge_loss_bad,
    )


@dataclass(frozen=True)
class SyncFates:
    """What became of ``n`` sync messages (one per SA, rows) sent at once to each standby (columns)."""

    delivered: np.ndarray
    """(n, standbys) bool: the message arrived."""
    arrival: np.ndarray
    """(n, standbys) float: when it arrived (NaN where lost)."""


class ClusterLink:
    """The link between the members of one site, shared by its sync messages and advertisements."""

    def __init__(self, cfg: ScenarioConfig, streams: RandomStreams, site: str) -> None:
        self.cfg = cluster_link_section(cfg)
        self.partitions = LossBursts()
        """The ``sync_partition`` faults: nothing sent inside one crosses, in either direction."""
        self._streams, self._site = streams, site
        self._sync_loss = streams.get("sync", site, "loss")
        self._chains: dict[tuple[int, int], GeChain] = {}
        self._sync: dict[tuple[int, int], LinkChannel] = {}
        self._adverts: dict[tuple[int, int], LinkChannel] = {}

    def chain(self, src: int, dst: int) -> GeChain:
        """The Gilbert-Elliott state of the direction ``src>dst``, shared by both kinds of message."""
        key = (src, dst)
        chain = self._chains.get(key)
        if chain is None:
            rng = self._streams.get("links", "cluster", self._site, f"{src}>{dst}", "state")
            chain = self._chains[key] = GeChain(rng)
        return chain

    def advertisement_channel(self, src: int, dst: int) -> LinkChannel:
        """The flow of ``src``'s advertisements to ``dst`` over this link."""
        return self._channel(self._adverts, "heartbeat", src, dst)

    def _sync_channel(self, src: int, dst: int) -> LinkChannel:
        return self._channel(self._sync, "sync", src, dst)

    def _channel(
        self, made: dict[tuple[int, int], LinkChannel], kind: str, src: int, dst: int
    ) -> LinkChannel:
        """One kind's flow ``src>dst``, made once, on the direction's chain and the site's partitions."""
        ch = made.get((src, dst))
        if ch is None:
            path = (kind, self._site, f"{src}>{dst}")
            ch = LinkChannel(self.cfg, self._streams, path, self.partitions, chain=self.chain(src, dst))
            made[(src, dst)] = ch
        return ch

    def sync_fates(self, src: int, dsts: Sequence[int], now: float, n: int) -> SyncFates:
        """The fates of ``n`` sync messages sent at ``now`` by ``src`` to each of ``dsts``: the per-SA
        engine asks for one SA at a time (n = 1), the scaled engine for all at once, with the same draws
        (the loss stream in (SA, standby) order, each direction's chain and jitter in SA order)."""
        k = len(dsts)
        cfg = self.cfg
        u_loss = None
        if cfg.loss_model == "gilbert_elliott" or cfg.loss > 0.0:
            u_loss = self._sync_loss.random(n * k).reshape(n, k)
        send = np.full(n, now)
        delivered = np.zeros((n, k), dtype=bool)
        arrival = np.full((n, k), np.nan)
        for j, dst in enumerate(dsts):
            idx, arr = self._sync_channel(src, dst).transmit(send, None if u_loss is None else u_loss[:, j])
            delivered[idx, j] = True
            arrival[idx, j] = arr
        return SyncFates(delivered, arrival)
