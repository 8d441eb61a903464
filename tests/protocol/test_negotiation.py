"""IKE_SA_INIT / IKE_AUTH shapes and RFC 6311 capability negotiation (section 5, R5-1..R5-4)."""

from __future__ import annotations

import pytest
from protocol_harness import KEYS, SPI_I, SPI_R, Link, rng_bytes

from hasim.protocol.child_sa import SpiAllocator
from hasim.protocol.events import ChildSaCreated, ChildSaDeleted
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.wire import EncryptedPayload, ExchangeType, Notify, NotifyType, OpaquePayload, PayloadType, decode

SUPPORTED = {NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED}


def handshake(cfg_i: IkeConfig, cfg_r: IkeConfig) -> Link:
    i = IkeSa(
        cfg_i,
        original_initiator=True,
        spi_i=SPI_I,
        spi_r=SPI_R,
        keys=KEYS,
        random_bytes=rng_bytes(5),
        name="I",
    )
    r = IkeSa(
        cfg_r,
        original_initiator=False,
        spi_i=SPI_I,
        spi_r=SPI_R,
        keys=KEYS,
        random_bytes=rng_bytes(6),
        name="R",
    )
    link = Link(i, r)
    i.connect(0.0)
    link.flush()
    assert i.established and r.established
    return link


def supported_in(link: Link, src: str, exchange: int) -> set[int]:
    msgs = [s.msg for s in link.sent_by(src) if s.msg.exchange == exchange]
    return {p.notify_type for m in msgs for p in m.payloads if isinstance(p, Notify)} & SUPPORTED


@pytest.mark.rfc("R5-1", "R6-7")
def test_supported_notifies_travel_in_ike_auth_inside_sk() -> None:
    link = handshake(IkeConfig(), IkeConfig())
    assert supported_in(link, "I", ExchangeType.IKE_AUTH) == SUPPORTED
    assert supported_in(link, "R", ExchangeType.IKE_AUTH) == SUPPORTED
    assert supported_in(link, "I", ExchangeType.IKE_SA_INIT) == set()
    auth = next(s for s in link.sent_by("I") if s.msg.exchange == ExchangeType.IKE_AUTH)
    outer = decode(auth.data)  # no keys: all that is visible is the SK payload
    assert [type(p) for p in outer.payloads] == [EncryptedPayload]
    assert auth.msg.protected
    init = next(s for s in link.sent_by("I") if s.msg.exchange == ExchangeType.IKE_SA_INIT)
    kinds = [p.payload_type if isinstance(p, OpaquePayload) else type(p).__name__ for p in init.msg.payloads]
    assert kinds == [PayloadType.SA, PayloadType.KE, "Nonce"]


@pytest.mark.rfc("R5-1", "R5-3")
@pytest.mark.parametrize(("mid", "replay"), [(True, False), (False, True)])
def test_capabilities_are_independent(mid: bool, replay: bool) -> None:
    link = handshake(IkeConfig(mid_sync=mid, replay_sync=replay), IkeConfig())
    for sa in (link.a, link.b):
        assert (sa.caps.mid_sync, sa.caps.replay_sync) == (mid, replay)


@pytest.mark.rfc("R5-2")
def test_responder_asserts_only_what_the_initiator_asserted() -> None:
    link = handshake(IkeConfig(mid_sync=False, replay_sync=False), IkeConfig())
    assert supported_in(link, "R", ExchangeType.IKE_AUTH) == set()
    link = handshake(IkeConfig(mid_sync=True, replay_sync=False), IkeConfig())
    assert supported_in(link, "R", ExchangeType.IKE_AUTH) == {NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED}


@pytest.mark.rfc("R5-3")
def test_capability_only_one_side_supports_is_not_used() -> None:
    link = handshake(IkeConfig(), IkeConfig(mid_sync=False))
    assert supported_in(link, "R", ExchangeType.IKE_AUTH) == {NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED}
    for sa in (link.a, link.b):
        assert not sa.caps.mid_sync and sa.caps.replay_sync
    # The responder's side, failing over, cannot use Message ID sync: it falls back to case 2.
    link.b.failover_takeover(1.0)
    link.now = 1.0
    link.flush()
    sync = [s.msg for s in link.sent_by("R") if s.msg.exchange == ExchangeType.INFORMATIONAL]
    types = {p.notify_type for m in sync for p in m.payloads if isinstance(p, Notify)}
    assert NotifyType.IKEV2_MESSAGE_ID_SYNC not in types
    assert NotifyType.IPSEC_REPLAY_COUNTER_SYNC in types


@pytest.mark.rfc("R5-4")
def test_negotiated_capabilities_are_shared_state() -> None:
    link = handshake(IkeConfig(replay_sync=False), IkeConfig())
    snap = link.b.snapshot(2.0)
    assert (snap.capabilities.mid_sync, snap.capabilities.replay_sync) == (True, False)
    standby = IkeSa.from_snapshot(snap, IkeConfig(), rng_bytes(9))
    assert standby.caps == link.b.caps
    assert standby.snapshot(2.0) == snap


def test_set_window_size_is_announced_and_used() -> None:
    link = handshake(IkeConfig(window_size=4), IkeConfig(window_size=2))
    assert link.a.requests.size == 2 and link.b.requests.size == 4
    assert link.a.responses.size == 4 and link.b.responses.size == 2


def test_first_child_sa_is_created_in_ike_auth() -> None:
    link = handshake(IkeConfig(esn=True), IkeConfig())
    (ci,), (cr,) = link.a.children, link.b.children
    assert (ci.spi_in, ci.spi_out) == (cr.spi_out, cr.spi_in)
    assert ci.esn and cr.esn


@pytest.mark.rfc("R3.2-1")
def test_parallel_child_sas_with_same_selectors_are_kept() -> None:
    link = handshake(IkeConfig(), IkeConfig())
    link.b.create_child(1.0)  # the cluster side adds a second SA (load sharing: one per member)
    link.b.create_child(1.0)
    link.now = 1.0
    link.flush()
    assert len(link.a.children) == 3 and len(link.b.children) == 3
    assert len({c.spi_in for c in link.a.children}) == 3
    pairs_a = {(c.spi_in, c.spi_out) for c in link.a.children}
    assert pairs_a == {(c.spi_out, c.spi_in) for c in link.b.children}


def test_rekey_replaces_child_with_fresh_counters() -> None:
    link = handshake(IkeConfig(), IkeConfig())
    old = link.a.children[0]
    for _ in range(10):
        old.next_out_seq()
    link.a.rekey_child(1.0, old.spi_in)
    link.now = 1.0
    link.flush()
    assert len(link.a.children) == 1 and len(link.b.children) == 1
    new = link.a.children[0]
    assert new.spi_in != old.spi_in and new.out_seq == 0
    assert link.b.children[0].spi_out == new.spi_in
    created = [e for e in link.a.events() if isinstance(e, ChildSaCreated)]
    assert created[-1].rekeyed_spi_in == old.spi_in
    assert any(isinstance(e, ChildSaDeleted) for e in link.b.events())
    rekey_req = next(s.msg for s in link.sent_by("I") if s.msg.exchange == ExchangeType.CREATE_CHILD_SA)
    assert any(isinstance(p, Notify) and p.notify_type == NotifyType.REKEY_SA for p in rekey_req.payloads)


@pytest.mark.rfc("R3.3-1")
def test_cluster_members_never_allocate_the_same_inbound_spi() -> None:
    # A deliberately poor random source (few distinct values) makes collisions likely if the
    # allocator did not split the SPI space by member.
    def weak(seed: int):  # type: ignore[no-untyped-def]
        r = rng_bytes(seed)
        return lambda n: bytes(b & 0x03 for b in r(n))

    members = [SpiAllocator(i, weak(i)) for i in range(3)]
    spis = [m.allocate() for m in members for _ in range(60)]
    assert len(spis) == len(set(spis))
    assert all(s > 255 for s in spis)
    assert [members[0].owner(s) for s in spis[:60]] == [0] * 60
    # After a failover the new active member allocates from its own part of the space.
    imported = spis[:60]
    for s in imported:
        members[1].reserve(s)
    fresh = [members[1].allocate() for _ in range(20)]
    assert not set(fresh) & set(spis)


@pytest.mark.parametrize("lost", [ExchangeType.IKE_SA_INIT, ExchangeType.IKE_AUTH])
def test_handshake_survives_a_lost_response(lost: int) -> None:
    common = {"spi_i": SPI_I, "spi_r": SPI_R, "keys": KEYS}
    i = IkeSa(IkeConfig(), original_initiator=True, random_bytes=rng_bytes(7), name="I", **common)  # type: ignore[arg-type]
    r = IkeSa(IkeConfig(), original_initiator=False, random_bytes=rng_bytes(8), name="R", **common)  # type: ignore[arg-type]
    link = Link(i, r)
    gone: list[int] = []

    def drop(s: object) -> bool:
        msg = s.msg  # type: ignore[attr-defined]
        if msg.response and msg.exchange == lost and not gone:
            gone.append(1)
            return True
        return False

    link.drop = drop  # type: ignore[assignment]
    i.connect(0.0)
    link.run_until(5.0)
    assert i.established and r.established
    assert r.counters["requests_answered"] == 2  # the retransmission was answered from the cache
    responses = [s.data for s in link.sent_by("R") if s.msg.exchange == lost]
    assert len(responses) == 2 and responses[0] == responses[1]
