"""IKEv2 key material for the one suite hasim negotiates with a real peer (RFC 7296 2.13-2.15).

Suite: ENCR_AES_CBC 128, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, Curve25519 (RFC 8031). With an
HMAC-based PRF the key is used as given, whatever its length (RFC 7296 2.13), so:

* ``SKEYSEED = prf(Ni | Nr, g^ir)``
* ``{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)``
  with lengths 32, 32, 32, 16, 16, 32, 32 (prf output, HMAC-SHA-256 key, AES-128 key);
* a pre-shared key AUTH = ``prf(prf(secret, "Key Pad for IKEv2"), <SignedOctets>)`` where the
  signed octets are the sender's IKE_SA_INIT message, the other side's nonce and
  ``prf(SK_px, <ID payload body>)`` (RFC 7296 2.15).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from hasim.wire import SkKeys, SkSuite

PRF_SIZE = 32
"""Output octets of PRF_HMAC_SHA2_256 (RFC 4868)."""

KEY_PAD = b"Key Pad for IKEv2"
"""The fixed string of the pre-shared key AUTH computation (RFC 7296 2.15)."""

_LENGTHS = (
    ("sk_d", 32),
    ("sk_ai", 32),
    ("sk_ar", 32),
    ("sk_ei", 16),
    ("sk_er", 16),
    ("sk_pi", 32),
    ("sk_pr", 32),
)


def prf(key: bytes, data: bytes) -> bytes:
    """PRF_HMAC_SHA2_256 (RFC 4868 2.2): HMAC-SHA-256 with the whole key."""
    return hmac.new(key, data, hashlib.sha256).digest()


def prf_plus(key: bytes, seed: bytes, length: int) -> bytes:
    """``prf+`` of RFC 7296 2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), concatenated.

    At most 255 blocks can be made (the counter is one octet).
    """
    if length > 255 * PRF_SIZE:
        raise ValueError(f"prf+ gives at most {255 * PRF_SIZE} octets, {length} asked")
    out = b""
    block = b""
    n = 1
    while len(out) < length:
        block = prf(key, block + seed + bytes([n]))
        out += block
        n += 1
    return out[:length]


@dataclass(frozen=True)
class IkeKeymat:
    """The seven keys of an IKE SA (RFC 7296 2.14)."""

    sk_d: bytes
    sk_ai: bytes
    sk_ar: bytes
    sk_ei: bytes
    sk_er: bytes
    sk_pi: bytes
    sk_pr: bytes

    def sk_keys(self) -> SkKeys:
        """The four keys the SK payload uses, in hasim.wire's form."""
        return SkKeys(SkSuite.AES_CBC_128_HMAC_SHA2_256_128, self.sk_ei, self.sk_er, self.sk_ai, self.sk_ar)


def skeyseed(nonce_i: bytes, nonce_r: bytes, shared_secret: bytes) -> bytes:
    """``SKEYSEED = prf(Ni | Nr, g^ir)`` (RFC 7296 2.14)."""
    return prf(nonce_i + nonce_r, shared_secret)


def derive_keymat(nonce_i: bytes, nonce_r: bytes, shared_secret: bytes, spi_i: int, spi_r: int) -> IkeKeymat:
    """All keys of a new IKE SA from the nonces, the DH shared secret and the SPIs (RFC 7296 2.14)."""
    seed = nonce_i + nonce_r + spi_i.to_bytes(8, "big") + spi_r.to_bytes(8, "big")
    stream = prf_plus(skeyseed(nonce_i, nonce_r, shared_secret), seed, sum(n for _, n in _LENGTHS))
    keys: dict[str, bytes] = {}
    at = 0
    for name, n in _LENGTHS:
        keys[name] = stream[at : at + n]
        at += n
    return IkeKeymat(**keys)


def psk_auth(secret: bytes, message: bytes, other_nonce: bytes, sk_p: bytes, id_body: bytes) -> bytes:
    """The AUTH data of a pre-shared key (RFC 7296 2.15): the sender's IKE_SA_INIT ``message``, the
    other side's nonce, and its own SK_pi/SK_pr over its own ID payload body (ID Type, RESERVED, data)."""
    signed = message + other_nonce + prf(sk_p, id_body)
    return prf(prf(secret, KEY_PAD), signed)
