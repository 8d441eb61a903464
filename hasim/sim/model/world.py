"""The simulated world of one run: both sites, their IKE SAs and ESP flows, links, sync, faults.

Assembly: :class:`World` sets up ``traffic.peers`` established IKE SAs (the handshake is not
simulated: both ends start from the same snapshot, mirrored, with the negotiated RFC 6311
capabilities, R5-1..R5-4), each with ``traffic.child_sas`` Child SAs (or a per-SA mix,
:mod:`hasim.sim.model.sa_mix`) and one ESP flow per Child SA and direction. SimPy processes: the periodic
sync of each multi-member site (the standby learns only what arrives, ``hasim.sim.model.sync_channel``);
timeout callbacks: liveness checks and rekeys per SA (``_start_ike_clocks``); faults and the takeover
after a detected crash live in :mod:`hasim.sim.model.failover`. Metrics and records are gathered by
:mod:`hasim.sim.model.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, MutableMapping
from functools import partial
from typing import Any, ClassVar

import simpy

from hasim.protocol.child_sa import ChildSa, ChildSaSnapshot
from hasim.protocol.events import (
    ChildSaCreated,
    Event,
    SyncCompleted,
    SyncRequestSent,
    SyncWanted,
)
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.iv_reuse import IvUsageTracker
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot
from hasim.sim.dataplane.esp_flows import EspFlow
from hasim.sim.dataplane.link import LinkChannel, LossBursts, bernoulli_streams
from hasim.sim.dataplane.split_senders import SplitSender
from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.model.clocks import LivenessClock, RekeyClock
from hasim.sim.model.failover import Failover
from hasim.sim.model.fates import decide
from hasim.sim.model.ike_config import ike_config_for
from hasim.sim.model.membership import SiteMembership
from hasim.sim.model.probes import Probes
from hasim.sim.model.sa_mix import SaMix
from hasim.sim.model.sites import Member, Site
from hasim.sim.model.sync_channel import SyncChannel
from hasim.sim.scenario.sections import LinkSection, ScenarioConfig
from hasim.sim.streams import RandomStreams
from hasim.wire import SkKeys, SkSuite
from hasim.wire.constants import FLAG_RESPONSE, FLAGS_OFFSET

_REACTED_TO: frozenset[type[Event]] = frozenset({ChildSaCreated, SyncWanted, SyncRequestSent, SyncCompleted})


class SlotEnds:
    """The two ends of one ESP flow: sender site and slot ``j`` of IKE SA ``i``, receiver site."""

    __slots__ = ("i", "j", "rx", "tx")

    def __init__(self, tx: Site, rx: Site, i: int, j: int) -> None:
        self.tx, self.rx, self.i, self.j = tx, rx, i, j

    def sender(self) -> ChildSa | None:
        return self.tx.child_for_slot(self.i, self.j)

    def receiver(self, spi: int) -> ChildSa | None:
        return self.rx.child_by_spi_in(self.i, spi)

    def split_senders(self) -> list[SplitSender]:
        return self.tx.split_senders(self.i, self.j)


class _SplitLink:
    """Makes a flow's link for member ``k``'s copies during a split brain (``EspFlow.split_link``): the
    flow's link section and loss bursts, streams of its own. One small object a flow (a closure with its
    cells took three times the memory, and every flow has one)."""

    __slots__ = ("bursts", "cfg", "name", "streams")

    def __init__(self, cfg: LinkSection, streams: RandomStreams, name: str, bursts: LossBursts) -> None:
        self.cfg, self.streams, self.name, self.bursts = cfg, streams, name, bursts

    def __call__(self, k: int) -> LinkChannel:
        return LinkChannel(self.cfg, self.streams, ("esp", self.name, f"split.m{k}"), self.bursts)


def _flow_name(direction: str, i: int, j: int) -> str:
    """The ESP flow of direction ``direction`` of SA ``i``'s Child SA slot ``j`` (its streams' name)."""
    return f"{direction}/{i}/{j}"


def _bytes_stream(site: str, what: str) -> tuple[str, ...]:
    """The stream of a site's byte source ``what`` (``Site.random_bytes``)."""
    return ("nonces", site, what)


def _sa_bytes(i: int) -> str:
    """The byte stream (nonces, IVs, SPIs) of SA ``i`` at a site's first member."""
    return f"m0.sa{i}"


def _liveness_stream(site: str, i: int) -> tuple[str, ...]:
    """The stream of the phase of SA ``i``'s liveness checks at one site."""
    return ("traffic", "liveness", site, str(i))


class World:
    """Everything of one run; ``run()`` executes it and leaves the results in ``probes``."""

    def __init__(
        self, cfg: ScenarioConfig, seed: int, *, records: bool, esp_path: str = "vectorized"
    ) -> None:
        if esp_path not in ("vectorized", "reference"):
            raise ValueError(f"esp_path must be 'vectorized' or 'reference', got {esp_path!r}")
        self.cfg = cfg
        self.env = simpy.Environment()
        self.streams = RandomStreams(seed)
        self.vectorized = esp_path == "vectorized"
        self.probes = Probes(records)
        self.ivs = IvUsageTracker()
        n_peer = cfg.peer.members if cfg.peer.is_cluster else 1
        self.cluster = Site(
            self,
            "cluster",
            cfg.cluster.members,
            ike_config_for(cfg, cluster_side=True),
            self._bytes_for("cluster"),
        )
        self.peer = Site(
            self,
            "peer",
            n_peer,
            ike_config_for(cfg, cluster_side=False),
            self._bytes_for("peer"),
        )
        self.bursts = {"cluster_to_peer": LossBursts(), "peer_to_cluster": LossBursts()}
        self.sync = {s.name: SyncChannel(self, s) for s in (self.cluster, self.peer)}
        for site in (self.cluster, self.peer):
            site.membership = SiteMembership(self, site, self._on_membership)
        self.flows: dict[int, list[EspFlow]] = {}
        self.ike_links: dict[tuple[str, int], LinkChannel] = {}
        self.failover = Failover(self)
        self.esp_closed = False
        self.fates: dict[int, str] = {}
        """Each IKE SA's fate, filled in as the tail after ``duration_s`` decides them; a decided SA
        starts no liveness check or rekey (``hasim.sim.model.fates``)."""
        self.decided_at = 0.0

    def _on_membership(self, site: Any, ev: Event) -> None:
        self.failover.on_membership(site, ev)

    def fresh_snaps(self) -> MutableMapping[int, IkeSaSnapshot | None]:
        """An empty standby view (a member's ``snaps``)."""
        return {}

    def replay_drops_of(self, i: int) -> int:
        """Replay drops of SA ``i``'s flows so far (both directions)."""
        self.advance_sa(i)
        return sum(f.stats.replay_drops for f in self.flows.get(i, ()))

    def _bytes_for(self, site: str) -> Callable[[str], Callable[[int], bytes]]:
        def make(what: str) -> Callable[[int], bytes]:
            return self.streams.random_bytes(*_bytes_stream(site, what))

        return make

    def prepare_bytes(self, site: Site, whats: list[str]) -> None:
        """Seed the byte streams ``site.random_bytes(what)`` of each of ``whats`` in one pass, for many
        SAs about to be served (``RandomStreams.prepare``; the same streams as one by one)."""
        self.streams.prepare(_bytes_stream(site.name, what) for what in whats)

    def other(self, site: Site) -> Site:
        """The site at the other end."""
        return self.peer if site is self.cluster else self.cluster

    # ------------------------------------------------------------------------------- set-up
    def build(self) -> None:
        """Create the IKE SAs, flows and processes; schedule the faults."""
        cfg = self.cfg
        keys = self.streams.random_bytes("keys", "ike")  # Generator.bytes' octets, drawn in blocks
        self.mix = SaMix.draw(cfg.traffic, self.streams)
        self._caps = Capabilities(cfg.peer.message_id_sync, cfg.peer.replay_counter_sync)  # every SA's
        self.streams.prepare(self._sa_streams())
        for i in range(cfg.traffic.peers):
            self._setup_sa(i, keys)
        self._share_set_up()
        for site in (self.cluster, self.peer):
            if len(site.members) > 1:
                self.env.process(self.sync[site.name].periodic())
        if cfg.traffic.liveness_interval_s > 0 or cfg.traffic.rekey_interval_s > 0:
            self.env.process(self._start_ike_clocks())
        if len(self.cluster.members) == 1:  # otherwise the cluster's periodic sync checks the counters
            self.env.process(self._counter_watch())
        self.failover.schedule_faults()
        for site in (self.cluster, self.peer):
            site.membership.start()
        if self.probes.enabled:
            self.env.process(self._sample_counters())
        if not self.vectorized:
            for flows in self.flows.values():
                for f in flows:
                    f.start_reference(self.env, cfg.scenario.duration_s)

    def _sa_streams(self) -> Iterator[tuple[str, ...]]:
        """The per-SA streams every run draws from: nonces, liveness phases, the link draws of the IKE
        messages (each end sends some when it checks liveness), each flow's offered times and link draws
        (seeded in one pass, ``RandomStreams.prepare``)."""
        cfg = self.cfg
        links = {"cluster_to_peer": cfg.links.cluster_to_peer, "peer_to_cluster": cfg.links.peer_to_cluster}
        for i in range(cfg.traffic.peers):
            for site in (self.cluster, self.peer):
                yield _bytes_stream(site.name, _sa_bytes(i))
                if cfg.traffic.liveness_interval_s > 0:
                    yield _liveness_stream(site.name, i)
            if cfg.traffic.liveness_interval_s > 0:
                for direction, link_cfg in links.items():
                    for feature in bernoulli_streams(link_cfg):
                        yield ("links", "ike", direction, str(i), feature)
            for j in range(self.mix.children[i]):
                for direction, link_cfg in links.items():
                    name = _flow_name(direction, i, j)
                    yield ("traffic", "esp", name)
                    for feature in bernoulli_streams(link_cfg):
                        yield ("links", "esp", name, feature)

    def _setup_sa(self, i: int, key_bytes: Callable[[int], bytes]) -> None:
        cfg = self.cfg
        # SK_ei, SK_er (16 octets each), SK_ai, SK_ar (32 each), then the two SPIs (8 each): whole
        # 32-bit words each, so one draw gives the octets of one draw per value
        octets = key_bytes(112)
        keys = SkKeys(
            SkSuite.AES_CBC_128_HMAC_SHA2_256_128, octets[:16], octets[16:32], octets[32:64], octets[64:96]
        )
        spi_i = int.from_bytes(octets[96:104], "big") | 1
        spi_r = int.from_bytes(octets[104:], "big") | 1
        kids = []
        out_pps, in_pps = self.mix.out_pps[i], self.mix.in_pps[i]
        c_spis, p_spis = self.cluster.members[0].spis, self.peer.members[0].spis
        esn = cfg.policy.esn
        for _ in range(self.mix.children[i]):
            c_in = c_spis.allocate()
            kids.append(
                ChildSaSnapshot(c_in, p_spis.allocate(), esn, out_rate_pps=out_pps, in_rate_pps=in_pps)
            )
        caps = self._caps
        w = cfg.peer.ike_window_size
        # the peer initiated: IKE_SA_INIT and IKE_AUTH used its Message IDs 0 and 1
        csnap = IkeSaSnapshot(
            spi_i,
            spi_r,
            False,
            keys,
            next_send_mid=0,
            next_recv_mid=2,
            highest_recv_mid=1,
            send_window=w,
            recv_window=w,
            capabilities=caps,
            children=tuple(kids),
        )
        psnap = csnap.mirrored()
        for site, snap in ((self.cluster, csnap), (self.peer, psnap)):
            m0 = site.members[0]
            sa = IkeSa.from_snapshot(
                snap,
                site.ike_config,
                site.random_bytes(_sa_bytes(i)),
                spi_allocator=m0.spis,
                name=f"{m0.name}/{i}",
            )
            m0.install(i, sa)
            for m in site.members[1:]:
                m.snaps[i] = None
        flows = []
        t = cfg.traffic
        streams, probes, ivs = self.streams, self.probes, self.ivs
        record = cfg.attacker.record_packets if cfg.attacker.enabled else 0
        budget = 8 if probes.enabled else 0
        directions = (
            (self.cluster, self.peer, out_pps, "cluster_to_peer", cfg.links.cluster_to_peer),
            (self.peer, self.cluster, in_pps, "peer_to_cluster", cfg.links.peer_to_cluster),
        )
        for j in range(self.mix.children[i]):
            for tx, rx, rate, direction, link_cfg in directions:
                name = _flow_name(direction, i, j)
                bursts = self.bursts[direction]
                arrivals = ArrivalProcess(
                    t.model, rate, streams.get("traffic", "esp", name), on_s=t.on_s, off_s=t.off_s
                )
                flow = EspFlow(
                    name,
                    arrivals,
                    LinkChannel(link_cfg, streams, ("esp", name), bursts),
                    SlotEnds(tx, rx, i, j),
                    ivs,
                    src=tx.name,
                    dst=rx.name,
                    record=record,
                    on_drop=probes.esp_drop_recorder(direction, i),
                    split_link=self._split_link(link_cfg, name, bursts),
                )
                flow.sample.budget = budget
                flows.append(flow)
        self.flows[i] = flows
        sa_name = str(i)
        for _, _, _, direction, link_cfg in directions:
            src = "cluster" if direction == "cluster_to_peer" else "peer"
            self.ike_links[(src, i)] = LinkChannel(
                link_cfg, streams, ("ike", direction, sa_name), self.bursts[direction], one_by_one=True
            )

    def _share_set_up(self) -> None:
        """Each SA's full state from the first member of a multi-member site to the others, as set up
        (the handshake's state: a standby knows every SA from the start)."""
        for i in range(self.cfg.traffic.peers):
            for site in (self.cluster, self.peer):
                if len(site.members) > 1:
                    self.sync[site.name].share(site.members[0], i, full=True)

    def _split_link(self, cfg: LinkSection, name: str, bursts: LossBursts) -> Callable[[int], LinkChannel]:
        """A flow's link for member k's copies during a split brain: the same link, streams of its own."""
        return _SplitLink(cfg, self.streams, name, bursts)

    # ---------------------------------------------------------------------------- ESP batches
    def advance_sa(self, i: int) -> None:
        """Bring the ESP flows of IKE SA ``i`` up to now (vectorized path only)."""
        if self.vectorized and not self.esp_closed:
            now = self.env.now
            for f in self.flows.get(i, ()):
                f.advance(now)

    def advance_all(self) -> None:
        """Bring every ESP flow up to now."""
        if self.vectorized and not self.esp_closed:
            now = self.env.now
            for flows in self.flows.values():
                for f in flows:
                    f.advance(now)

    # ---------------------------------------------------------------------------- IKE traffic
    def send_ike(self, site: Site, m: Member, i: int, data: bytes, keys: SkKeys, now: float) -> None:
        """Put an IKE datagram of member ``m`` of ``site`` (sealed with ``keys``) on the link at ``now``; it
        reaches whoever serves the other end."""
        env = self.env
        dst = self.peer if site is self.cluster else self.cluster
        copies = self.ike_links[(site.name, i)].transmit_one(now)
        self.probes.ike_message(now, m.name, dst.name, i, data, keys, lost=not copies)
        for arrival in copies:  # a partial (made in C), not a closure per message
            arrived = partial(World._ike_arrived, self, dst, i, data)
            env.timeout(max(arrival - now, 0.0)).callbacks.append(arrived)

    def _ike_arrived(self, dst: Site, i: int, data: bytes, _: simpy.Event) -> None:
        """An IKE datagram reaches ``dst`` (an attacker on the wire keeps the cluster's requests first)."""
        if self.cfg.attacker.enabled and dst is self.peer and not data[FLAGS_OFFSET] & FLAG_RESPONSE:
            kept = self.failover.ike_recorded.setdefault(i, [])  # cluster requests on the wire (R flag clear)
            kept.append(data)
            del kept[: -self.cfg.attacker.record_ike]
        if not dst.deliver_ike(i, data):
            self.probes.drop(self.env.now, dst.name, "ike_no_receiver", i, 1)

    reacted_to: ClassVar[frozenset[type[Event]]] = _REACTED_TO
    """The protocol events :meth:`react` is called for (by exact type); the rest are only counted."""

    def on_events(self, site: Site, m: Member, i: int, events: list[Event]) -> bool:
        """Protocol events of one SA, oldest first: count and record each, react where the simulator must.
        Whether it reacted to any (only a reaction can have called into the SA)."""
        probes, reacted_to = self.probes, self.reacted_to
        noted = probes.noted
        reacted = False
        for ev in events:
            if noted is None or type(ev) in noted:
                probes.protocol_event(site.name, m.name, i, ev)
            if type(ev) in reacted_to:  # most events of a run (answers, completed exchanges) are not
                self.react(site, m, i, ev)
                reacted = True
        return reacted

    def react(self, site: Site, m: Member, i: int, ev: Event) -> None:
        """What the simulator does on a protocol event of ``reacted_to``."""
        if isinstance(ev, ChildSaCreated):
            slots = m.slots.setdefault(i, [])
            if ev.rekeyed_spi_in is not None and ev.rekeyed_spi_in in slots:
                slots[slots.index(ev.rekeyed_spi_in)] = ev.spi_in
            elif ev.spi_in not in slots:
                slots.append(ev.spi_in)
            if len(site.members) > 1:
                self.sync[site.name].share(m, i, full=True)
        elif isinstance(ev, SyncWanted):
            self.failover.sync_wanted(site, m, i)  # starts when the member's capacity allows
        elif isinstance(ev, (SyncRequestSent, SyncCompleted)) and len(site.members) > 1:
            self.sync[site.name].share(m, i, full=True)  # R5.1-4: the values reach the other members

    # -------------------------------------------------------------------------- IKE schedules
    def _start_ike_clocks(self) -> Generator[simpy.Event, Any, None]:
        """Start every SA's liveness clock (both sites) and then its rekey clock, in that order, at one
        instant (:mod:`hasim.sim.model.clocks`); started from one process, their first timeouts are made
        in the order and at the point that a process per clock made them."""
        cfg = self.cfg.traffic
        interval = cfg.liveness_interval_s
        if interval > 0:
            doubles = self.streams.doubles
            for i in range(cfg.peers):
                for site in (self.cluster, self.peer):
                    phase = doubles(*_liveness_stream(site.name, i)).random() * interval  # its one draw
                    LivenessClock(self, site, i, interval).start(phase)
        if cfg.rekey_interval_s > 0:
            for i in range(cfg.peers):  # first at its staggered time or exactly the interval
                RekeyClock(self, i, cfg.rekey_interval_s).start(self.mix.first_rekey_s[i])
        yield from ()

    def rekey_action(self, spi: int) -> Callable[[IkeSa], None]:
        """Rekey the Child SA whose inbound SPI is ``spi``, if the SA still has it when the action runs."""

        def act(sa: IkeSa) -> None:
            if sa.child_by_spi_in(spi) is not None:
                sa.rekey_child(self.env.now, spi)

        return act

    def check_counter_rekeys(self, site: Site, m: Member, i: int) -> None:
        """Rekey a Child SA whose outgoing counter used ``rekey_counter_fraction`` of its space."""
        sa = m.sas.get(i)
        if sa is None or sa.deleted or site is not self.cluster or i in self.fates:
            return
        frac = self.cfg.traffic.rekey_counter_fraction
        for child in sa.children:
            if child.outbound.counter_space_used >= frac and child.spi_in not in m.rekeying:
                m.rekeying.add(child.spi_in)
                site.drive(m, i, self.rekey_action(child.spi_in))

    def _counter_watch(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.cfg.cluster.sync_interval_s)
            m = self.cluster.serving()
            if m is None:
                continue
            self.advance_all()
            for i in sorted(m.ready):
                self.check_counter_rekeys(self.cluster, m, i)

    def _sample_counters(self) -> Generator[simpy.Event, Any, None]:
        """Records only: live counters of both ends every half sync interval (at most 0.5 s)."""
        step = min(0.5, self.cfg.cluster.sync_interval_s / 2)
        while True:
            self.advance_all()
            for site in (self.cluster, self.peer):
                m = site.serving()
                if m is not None:
                    for i in sorted(m.ready)[:8]:
                        self.probes.counters(self.env.now, m.name, i, "live", m.sas.get(i))
            yield self.env.timeout(step)

    # ----------------------------------------------------------------------------------- run
    def run(self) -> None:
        """Build and run to ``scenario.duration_s`` (the ESP flows end exactly there), then run the IKE
        side on until every IKE SA's fate is decided (``hasim.sim.model.fates``)."""
        self.build()
        self.env.run(until=self.cfg.scenario.duration_s)
        self.advance_all()
        self.failover.note_split_damage()
        self.close_esp()
        self.fates, self.decided_at = decide(self)
        for site in (self.cluster, self.peer):
            site.membership.finish()  # membership is counted over the whole simulated run

    def close_esp(self) -> None:
        """The ESP traffic is over: no flow moves or counts a packet from now on."""
        self.esp_closed = True
        for flows in self.flows.values():
            for f in flows:
                f.closed = True

    def dismantle(self) -> None:
        """After the run, once its results are read: cut the references that make the world one
        reference cycle, so that reference counting frees what it holds here and now.

        Sites, members, channels, the failover and SimPy's pending events refer back to the world or
        to each other, so the world would otherwise live until a pass of the cyclic collector found
        it, and every pass that meets it looks at each of its objects (about 1.2 s at 10,000 peers).
        Cut: each pending event's callbacks (a process and the event it waits on refer to each
        other), each site's references (its members refer back to it), the failover's (its anomaly
        watches call back into it) and the world's own (everything hangs from them). The world is
        unusable afterwards.
        """
        queue = self.env._queue  # SimPy keeps its pending events here, and offers no way to drop them
        for *_, ev in queue:
            ev.callbacks.clear()
        queue.clear()
        for hub in (self.cluster, self.peer, self.failover):
            vars(hub).clear()
        vars(self).clear()
