"""The SK (Encrypted and Authenticated) payload's cryptography, really done with ``cryptography``.

Two suites (keys are given; key exchange is out of scope):

* AES-CBC-128 + HMAC-SHA2-256-128 (RFC 7296 3.14, RFC 3602, RFC 4868): body = IV (16) |
  AES-CBC(inner payloads | padding | pad length) | ICV (16); the ICV is HMAC-SHA-256 over the whole
  message from the IKE header up to the ICV, truncated to 16 octets.
* AES-GCM-16 with a 128-bit key (RFC 5282): SK_e is 16 key octets then a 4-octet salt; body =
  explicit IV (8) | ciphertext | ICV (16); nonce = salt | IV; AAD = everything before the IV (the IKE
  header and the SK generic header). No block alignment is needed, so hasim sends no padding.

The sender's keys follow the I flag: the original initiator uses SK_ei/SK_ai, the responder
SK_er/SK_ar (RFC 7296 2.14). Padding is zero octets of minimal length on send; on receipt any pad
length that fits is accepted (RFC 7296 3.14 "the recipient MUST accept any length").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hasim.errors import DecodeError, IntegrityError

ICV_SIZE = 16
"""Both suites carry a 16-octet ICV (HMAC-SHA2-256-128 truncation; GCM's 16-octet tag)."""


class SkSuite(IntEnum):
    """The SK protection suites hasim implements (IANA transform IDs in the comments)."""

    AES_CBC_128_HMAC_SHA2_256_128 = 1  # ENCR_AES_CBC (12) keylen 128 + AUTH_HMAC_SHA2_256_128 (12)
    AES_GCM_16_128 = 2  # ENCR_AES_GCM_16 (20) keylen 128, RFC 5282


_CBC = SkSuite.AES_CBC_128_HMAC_SHA2_256_128
"""Bound once: every message asks which suite it is under, and an enum member's lookup is slow."""


def iv_size(suite: SkSuite) -> int:
    """Octets of IV at the start of the SK body: the AES block for CBC, 8 explicit octets for GCM."""
    return 16 if suite == _CBC else 8


@dataclass(frozen=True)
class SkKeys:
    """The SK keys of one IKE SA (RFC 7296 2.14); for GCM ``sk_ai``/``sk_ar`` are empty and each
    ``sk_e*`` is the 16-octet AES key followed by the 4-octet salt (RFC 5282 section 7.1)."""

    suite: SkSuite
    sk_ei: bytes
    sk_er: bytes
    sk_ai: bytes = b""
    sk_ar: bytes = b""

    def __post_init__(self) -> None:
        if self.suite == SkSuite.AES_CBC_128_HMAC_SHA2_256_128:
            ok = len(self.sk_ei) == len(self.sk_er) == 16 and len(self.sk_ai) == len(self.sk_ar) == 32
            want = "16-octet SK_ei/SK_er and 32-octet SK_ai/SK_ar"
        else:
            ok = len(self.sk_ei) == len(self.sk_er) == 20 and not self.sk_ai and not self.sk_ar
            want = "20-octet SK_ei/SK_er (key | salt) and empty SK_ai/SK_ar"
        if not ok:
            raise ValueError(f"{self.suite.name} needs {want}")

    def sender(self, initiator: bool) -> tuple[bytes, bytes]:
        """(encryption key, integrity key) of the sender whose I flag is ``initiator``."""
        return (self.sk_ei, self.sk_ai) if initiator else (self.sk_er, self.sk_ar)


@lru_cache(maxsize=1 << 15)
def _ecb_encryptor(key: bytes) -> CipherContext:
    """An AES-ECB encryption context of one key, kept open (only ``update`` is ever called): CBC is
    chained on it block by block (RFC 3602 2.3), which gives the octets of a CBC context made per
    message without the cost of making one. Room for the keys of 16,000 IKE SAs (both directions)."""
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()


@lru_cache(maxsize=1 << 15)
def _ecb_decryptor(key: bytes) -> CipherContext:
    """The decryption twin of :func:`_ecb_encryptor`."""
    return Cipher(algorithms.AES(key), modes.ECB()).decryptor()


@lru_cache(maxsize=1 << 15)
def _gcm(key: bytes) -> AESGCM:
    """The AES-GCM cipher of one 16-octet key, made once per key (it holds no per-message state)."""
    return AESGCM(key)


def _cbc_encrypt(key: bytes, iv: bytes, padded: bytes) -> bytes:
    """AES-CBC of whole blocks: C_k = E(P_k xor C_(k-1)), C_0 = IV (RFC 3602 2.3)."""
    ecb = _ecb_encryptor(key)
    prev = int.from_bytes(iv, "big")
    out = []
    for k in range(0, len(padded), 16):
        block = ecb.update((int.from_bytes(padded[k : k + 16], "big") ^ prev).to_bytes(16, "big"))
        out.append(block)
        prev = int.from_bytes(block, "big")
    return b"".join(out)


def _cbc_decrypt(key: bytes, iv: bytes, ct: bytes) -> bytes:
    """AES-CBC decryption of whole blocks: P_k = D(C_k) xor C_(k-1), all blocks at once."""
    plain = int.from_bytes(_ecb_decryptor(key).update(ct), "big") ^ int.from_bytes(iv + ct[:-16], "big")
    return plain.to_bytes(len(ct), "big")


_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
"""Octet tables of ``b ^ ipad`` and ``b ^ opad`` (RFC 2104), for ``bytes.translate``."""


@lru_cache(maxsize=1 << 15)
def _hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA-256's inner and outer hash states after the padded key (RFC 2104 section 2), made once
    per key: a message then costs the hashing of its own octets only. Room as for the AES contexts."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\x00")
    return hashlib.sha256(padded.translate(_IPAD)), hashlib.sha256(padded.translate(_OPAD))


def _icv(auth_key: bytes, data: bytes) -> bytes:
    """HMAC-SHA2-256-128 (RFC 4868): H((K ^ opad) | H((K ^ ipad) | data)), its first 16 octets."""
    inner, outer = _hmac_pads(auth_key)
    h = inner.copy()
    h.update(data)
    o = outer.copy()
    o.update(h.digest())
    return o.digest()[:ICV_SIZE]


def body_size(suite: SkSuite, plaintext_len: int) -> int:
    """Octets of the SK body that protects ``plaintext_len`` octets of inner payloads."""
    if suite == _CBC:
        return 16 + (plaintext_len // 16 + 1) * 16 + ICV_SIZE
    return 8 + plaintext_len + 1 + ICV_SIZE


def seal(keys: SkKeys, initiator: bool, iv: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """The SK body for ``plaintext``; ``aad`` is the message up to the IV (length fields final)."""
    enc_key, auth_key = keys.sender(initiator)
    if len(iv) != iv_size(keys.suite):
        raise ValueError(f"{keys.suite.name} needs a {iv_size(keys.suite)}-octet IV, got {len(iv)}")
    if keys.suite == _CBC:
        pad = 15 - len(plaintext) % 16
        padded = plaintext + bytes(pad) + bytes([pad])
        ct = _cbc_encrypt(enc_key, iv, padded)
        icv = _icv(auth_key, aad + iv + ct)
        return iv + ct + icv
    sealed = _gcm(enc_key[:16]).encrypt(enc_key[16:] + iv, plaintext + b"\x00", aad)
    return iv + sealed


def open_sk(keys: SkKeys, initiator: bool, aad: bytes, body: bytes, body_offset: int) -> bytes:
    """Verify and decrypt an SK body; return the inner payloads' octets (padding removed).

    ``body_offset`` is where the body starts in the message. A wrong ICV raises IntegrityError
    (R6-7, R9-1); a body of impossible size or a bad pad length raises DecodeError.
    """
    enc_key, auth_key = keys.sender(initiator)
    n_iv = iv_size(keys.suite)
    if keys.suite == _CBC:
        ct_len = len(body) - n_iv - ICV_SIZE
        if ct_len < 16 or ct_len % 16:
            raise DecodeError(
                body_offset, f"SK body of {len(body)} octets is not IV (16) + whole AES blocks + ICV (16)"
            )
        iv, ct, icv = body[:n_iv], body[n_iv:-ICV_SIZE], body[-ICV_SIZE:]
        expected = _icv(auth_key, aad + iv + ct)
        if not hmac.compare_digest(expected, icv):
            raise IntegrityError(body_offset + len(body) - ICV_SIZE, "SK payload ICV does not verify")
        padded = _cbc_decrypt(enc_key, iv, ct)
    else:
        if len(body) < n_iv + 1 + ICV_SIZE:
            raise DecodeError(
                body_offset,
                f"SK body of {len(body)} octets is shorter than IV (8) + pad length (1) + ICV (16)",
            )
        try:
            padded = _gcm(enc_key[:16]).decrypt(enc_key[16:] + body[:n_iv], body[n_iv:], aad)
        except InvalidTag:
            raise IntegrityError(
                body_offset + len(body) - ICV_SIZE, "SK payload ICV does not verify"
            ) from None
    pad = padded[-1]
    if pad + 1 > len(padded):
        raise DecodeError(
            body_offset + n_iv + len(padded) - 1,
            f"SK pad length {pad} exceeds the {len(padded) - 1} decrypted octets",
        )
    return padded[: len(padded) - 1 - pad]
