"""Hypothesis strategies for wire values (shared by the property and fuzz tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from hasim.wire import (
    Delete,
    EncryptedPayload,
    Message,
    MessageIdSync,
    MessageIdSyncSupported,
    Nonce,
    Notify,
    OpaquePayload,
    Payload,
    ProtocolId,
    ReplayCounterSync,
    ReplayCounterSyncSupported,
    SkKeys,
    SkSuite,
)
from hasim.wire.rfc6311 import RFC6311_TYPES

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
critical = st.booleans()
# The 7 RESERVED bits of a generic header: 0 from hasim, anything from others (ignored, RFC 7296 3.2).
reserved = st.one_of(st.just(0), st.integers(0, 0x7F))
minor_version = st.one_of(st.just(0), st.integers(0, 0xF))
other_flags = st.one_of(st.just(0), st.integers(0, 0xFF).map(lambda f: f & ~0x28))

rfc6311_notify = st.one_of(
    st.just(MessageIdSyncSupported()),
    st.just(ReplayCounterSyncSupported()),
    st.builds(MessageIdSync, u32, u32, u32),
    st.booleans().flatmap(lambda esn: st.builds(ReplayCounterSync, u64 if esn else u32, st.just(esn))),
)
generic_notify = st.builds(
    Notify,
    notify_type=st.integers(0, 0xFFFF).filter(lambda t: t not in RFC6311_TYPES),
    protocol_id=st.integers(0, 255),
    spi=st.binary(max_size=8),
    data=st.binary(max_size=40),
    critical=critical,
    reserved=reserved,
)
notify = st.one_of(rfc6311_notify.map(lambda t: t.to_notify()), generic_notify)
delete = st.one_of(
    st.builds(Delete, st.just(int(ProtocolId.IKE)), st.just(()), critical, reserved),
    st.builds(
        Delete,
        st.sampled_from([int(ProtocolId.AH), int(ProtocolId.ESP)]),
        st.lists(st.binary(min_size=4, max_size=4), max_size=4).map(tuple),
        critical,
        reserved,
    ),
)
nonce = st.builds(Nonce, st.binary(min_size=16, max_size=64), critical, reserved)
# An unknown payload type (not one of RFC 7296's 33..48) with the critical bit set makes the whole
# message undecodable (RFC 7296 3.2), so opaque payloads of unknown types are generated non-critical.
opaque = (
    st.integers(1, 255)
    .filter(lambda t: t not in (40, 41, 42, 46))
    .flatmap(
        lambda t: st.builds(
            OpaquePayload,
            st.just(t),
            st.binary(max_size=40),
            critical if 33 <= t <= 48 else st.just(False),
            reserved,
        )
    )
)
payload: st.SearchStrategy[Payload] = st.one_of(notify, delete, nonce, opaque)
payloads = st.lists(payload, max_size=5).map(tuple)


@st.composite
def plain_message(draw: st.DrawFn) -> Message:
    """An unprotected message, sometimes ending in an undecrypted SK payload."""
    body = draw(payloads)
    if draw(st.booleans()):
        body = (
            *body,
            EncryptedPayload(
                draw(st.integers(0, 255)), draw(st.binary(max_size=64)), draw(critical), draw(reserved)
            ),
        )
    return Message(
        draw(u64),
        draw(u64),
        draw(st.integers(0, 255)),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(u32),
        body,
        minor_version=draw(minor_version),
        other_flags=draw(other_flags),
    )


@st.composite
def protected_message(draw: st.DrawFn) -> Message:
    """A message whose payloads travel inside an SK payload."""
    return Message(
        draw(u64),
        draw(u64),
        draw(st.integers(0, 255)),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(u32),
        draw(payloads),
        protected=True,
        minor_version=draw(minor_version),
        other_flags=draw(other_flags),
    )


def _key(n: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=n, max_size=n)


sk_keys = st.one_of(
    st.builds(SkKeys, st.just(SkSuite.AES_CBC_128_HMAC_SHA2_256_128), _key(16), _key(16), _key(32), _key(32)),
    st.builds(SkKeys, st.just(SkSuite.AES_GCM_16_128), _key(20), _key(20)),
)
