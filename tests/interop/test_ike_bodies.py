"""SA, KE, ID and AUTH payload bodies (RFC 7296 3.3-3.8): golden bytes by hand, round trips, errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hasim.errors import DecodeError
from hasim.interop.handshake import SUITE, choose_proposal
from hasim.wire import ike_bodies as b

# One IKE proposal, number 1, no SPI, four transforms (RFC 7296 3.3.1, 3.3.2, 3.3.5), by hand:
SUITE_SA = bytes.fromhex(
    "0000002c01010004"  # last proposal, length 44, #1, protocol IKE, SPI size 0, 4 transforms
    "0300000c0100000c800e0080"  # more, length 12, ENCR, AES_CBC (12), attribute Key Length = 128
    "0300000802000005"  # more, length 8, PRF, PRF_HMAC_SHA2_256 (5)
    "030000080300000c"  # more, length 8, INTEG, AUTH_HMAC_SHA2_256_128 (12)
    "000000080400001f"  # last, length 8, DH, Curve25519 (31)
)


def test_suite_sa_golden_bytes() -> None:
    assert b.encode_sa((b.Proposal(1, b.PROTOCOL_IKE, b"", SUITE),)) == SUITE_SA
    assert b.decode_sa(SUITE_SA) == (b.Proposal(1, 1, b"", SUITE),)


def test_choose_proposal_picks_the_one_offering_the_suite_and_keeps_its_number() -> None:
    other = b.Proposal(1, 1, b"", (b.Transform(1, 20, 256), b.Transform(2, 7), b.Transform(4, 21)))
    offered = b.Proposal(2, 1, b"", (b.Transform(1, 12, 256), *SUITE, b.Transform(4, 14)))
    chosen = choose_proposal(b.decode_sa(b.encode_sa((other, offered))))
    assert chosen == b.Proposal(2, 1, b"", SUITE)
    assert choose_proposal((other,)) is None


transforms = st.builds(
    b.Transform, st.integers(1, 5), st.integers(0, 0xFFFF), st.none() | st.integers(0, 0xFFFF)
)
proposals = st.builds(
    b.Proposal,
    st.integers(1, 255),
    st.integers(1, 3),
    st.binary(max_size=8),
    st.lists(transforms, min_size=1, max_size=6).map(tuple),
)


@given(st.lists(proposals, min_size=1, max_size=4).map(tuple))
def test_sa_round_trip(ps: tuple[b.Proposal, ...]) -> None:
    assert b.decode_sa(b.encode_sa(ps)) == ps


@pytest.mark.parametrize(
    ("body", "offset"),
    [
        (SUITE_SA[:7], 0),  # truncated proposal header
        (SUITE_SA[:3] + b"\x2d" + SUITE_SA[4:], 2),  # proposal length past the end
        (SUITE_SA + b"\x00", 44),  # octets after the last proposal
        (b"\x02" + SUITE_SA[1:], 44),  # "more proposals" but none follows
    ],
)
def test_malformed_sa_raises_decode_error_with_offset(body: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_sa(body)
    assert err.value.offset == offset


def test_ke_id_auth_bodies() -> None:
    assert b.encode_ke(31, b"\x11" * 32) == b"\x00\x1f\x00\x00" + b"\x11" * 32
    assert b.decode_ke(b.encode_ke(31, b"x")) == (31, b"x")
    assert b.encode_id(b.IdType.FQDN, b"a.example") == b"\x02\x00\x00\x00a.example"
    assert b.decode_id(b"\x02\x00\x00\x00a.example") == (2, b"a.example")
    assert b.encode_auth(b.AUTH_SHARED_KEY_MIC, b"mac") == b"\x02\x00\x00\x00mac"
    assert b.decode_auth(b"\x02\x00\x00\x00mac") == (2, b"mac")
    for dec in (b.decode_ke, b.decode_id, b.decode_auth):
        with pytest.raises(DecodeError):
            dec(b"\x00\x01")
