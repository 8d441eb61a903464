"""IkeSa.sealed: the octets of a new message of an SA, encoded from its fields (no Message object).

The expected octets are written out by hand (RFC 7296 3.1 and 3.14, RFC 5282) and sealed with
``cryptography``'s AES-GCM called directly; the IV is the next octets of the SA's own draws.
"""

from __future__ import annotations

import random

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from protocol_harness import KEYS, SPI_I, SPI_R, make_snapshot

from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.wire import ExchangeType, Message, Nonce, decode, encode


def test_an_empty_informational_answer_is_sealed_with_the_next_octets_drawn_as_its_iv() -> None:
    draws = random.Random(7).randbytes
    iv = random.Random(7).randbytes(8)  # the SA's first draw: GCM's 8-octet explicit IV
    sa = IkeSa.from_snapshot(make_snapshot(initiator=False), IkeConfig(), draws)
    wire = sa.sealed(ExchangeType.INFORMATIONAL, 7, (), True)
    # Plaintext: no payloads, Pad Length 0 (one octet). SK body: IV 8 + 1 + ICV 16 = 25; SK Payload
    # Length 4 + 25 = 29 = 0x1d; message 28 + 29 = 57 = 0x39. Flags: R (0x20), I clear (responder),
    # so the responder's SK_er seals it (key | salt).
    aad = (
        SPI_I.to_bytes(8, "big")
        + SPI_R.to_bytes(8, "big")
        + bytes.fromhex("2e 20 25 20 00000007 00000039 00 00 001d")
    )
    sealed = AESGCM(KEYS.sk_er[:16]).encrypt(KEYS.sk_er[16:] + iv, b"\x00", aad)
    assert wire == aad + iv + sealed
    assert decode(wire, KEYS) == Message(SPI_I, SPI_R, 37, False, True, 7, (), True)


def test_ike_sa_init_goes_unprotected_and_draws_nothing() -> None:
    # IKE_SA_INIT is the one exchange sent in the clear (RFC 7296 1.2): no IV is drawn for it.
    draws = random.Random(3).randbytes
    sa = IkeSa.from_snapshot(make_snapshot(initiator=True), IkeConfig(), draws)
    nonce = Nonce(bytes(range(32)))
    wire = sa.sealed(ExchangeType.IKE_SA_INIT, 0, (nonce,), False)
    assert wire == encode(Message(SPI_I, SPI_R, 34, True, False, 0, (nonce,), False))
    assert draws(4) == random.Random(3).randbytes(4)  # the SA's draws untouched
