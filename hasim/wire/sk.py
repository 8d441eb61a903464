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
import threading
from dataclasses import dataclass, field
from enum import IntEnum

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


_IV_SIZES = (0, 16, 8)
"""Octets of IV at the start of the SK body, by suite: the AES block for CBC, 8 explicit octets for GCM
(a tuple indexed by the suite's value: a look-up without a call, for every message's seal and open)."""


def iv_size(suite: SkSuite) -> int:
    """Octets of IV at the start of the SK body: the AES block for CBC, 8 explicit octets for GCM."""
    return _IV_SIZES[suite]


class _CbcChain:
    """An AES-CBC encryption context of one key kept open across messages, and the last ciphertext
    block it chained (its state). CBC only chains through that block (RFC 3602 2.3: C_k = E(P_k xor
    C_(k-1))), so a message with its own IV goes through the open context in one ``update``: only the
    first block is corrected for the state (xor state, xor IV); every other block chains as in a
    context made for the message. Making a context costs several microseconds, an ``update`` a
    fraction."""

    __slots__ = ("__weakref__", "ctx", "last", "lock")

    def __init__(self, ctx: CipherContext) -> None:
        self.ctx = ctx
        self.last = 0  # the context's IV: zero
        self.lock = threading.Lock()
        """Held from reading the state to storing the next: runs in threads of one process (a Dask
        worker with several threads, a notebook) share the kept contexts."""


_ZERO_IV = modes.CBC(bytes(16))
"""The mode every kept context starts from (a mode object holds only its IV)."""


def _new_encryptor(key: bytes) -> _CbcChain:
    """An open CBC encryption context of ``key`` (see :func:`_cbc_encrypt`)."""
    return _CbcChain(Cipher(algorithms.AES(key), _ZERO_IV).encryptor())


def _new_decryptor(key: bytes) -> CipherContext:
    """An open CBC decryption context of ``key`` (see :func:`_cbc_decrypt`: it keeps no state of a
    message for the next, so it needs no lock)."""
    return Cipher(algorithms.AES(key), _ZERO_IV).decryptor()


class _Ciphers:
    """The cipher objects of one :class:`SkKeys`, made on its first message in each direction and
    kept as long as the keys are: an IKE SA's next message finds them, and they go when its keys go
    (the SA deleted, its keys replaced), so what is kept is bounded by the keys alive, four AES-CBC
    contexts (about 0.9 KiB each) or two AES-GCM ciphers an IKE SA. Indexed by the sender's I flag:
    its encryption key's context sealing, and the same key's opening at the other end."""

    __slots__ = ("dec", "enc", "gcm")

    def __init__(self) -> None:
        self.enc: list[_CbcChain | None] = [None, None]
        self.dec: list[CipherContext | None] = [None, None]
        self.gcm: list[AESGCM | None] = [None, None]

    def __reduce__(self) -> tuple[type[_Ciphers], tuple[()]]:
        """Copies (pickled keys: a sweep's results, a worker's task) start with none made: OpenSSL's
        contexts cannot be pickled, and a copy's messages make their own."""
        return (_Ciphers, ())


@dataclass(frozen=True)
class SkKeys:
    """The SK keys of one IKE SA (RFC 7296 2.14); for GCM ``sk_ai``/``sk_ar`` are empty and each
    ``sk_e*`` is the 16-octet AES key followed by the 4-octet salt (RFC 5282 section 7.1)."""

    suite: SkSuite
    sk_ei: bytes
    sk_er: bytes
    sk_ai: bytes = b""
    sk_ar: bytes = b""
    ciphers: _Ciphers = field(default_factory=_Ciphers, init=False, repr=False, compare=False)
    """The cipher objects made for these keys (not part of their value)."""

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


def _gcm(keys: SkKeys, initiator: bool) -> AESGCM:
    """The AES-GCM cipher of the sender's 16-octet key, made once per key (it holds no per-message
    state)."""
    made = keys.ciphers.gcm
    cipher = made[initiator]
    if cipher is None:
        cipher = made[initiator] = AESGCM(keys.sender(initiator)[0][:16])
    return cipher


def _cbc_encrypt(chain: _CbcChain, iv: bytes, padded: bytes) -> bytes:
    """AES-CBC of whole blocks under ``iv``: the first block enters the open context as
    P_1 xor IV xor state, so that the context's E(that xor state) is E(P_1 xor IV)."""
    with chain.lock:
        head = int.from_bytes(padded[:16], "big") ^ int.from_bytes(iv, "big") ^ chain.last
        ct: bytes = chain.ctx.update(head.to_bytes(16, "big") + padded[16:])
        chain.last = int.from_bytes(ct[-16:], "big")
    return ct


def _cbc_decrypt(ctx: CipherContext, iv_ct: bytes | memoryview) -> bytes:
    """AES-CBC decryption of whole blocks that follow their IV (the SK body as it is on the wire): the
    IV goes through the open context as one more block, whose output (D(IV) xor whatever state) is
    thrown away; after it P_k = D(C_k) xor C_(k-1) with C_0 the IV, as in a context made for the
    message. One ``update`` call does it all, so threads sharing the context cannot mix messages."""
    plain: bytes = ctx.update(iv_ct)
    return plain[16:]


_HMAC_BLOCK = 64
"""SHA-256's block: HMAC pads its key to it (RFC 2104)."""
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
"""Each octet xor ipad and xor opad (RFC 2104), for ``bytes.translate``."""


def _icv(auth_key: bytes, data: bytes | memoryview) -> bytes:
    """HMAC-SHA2-256-128 (RFC 4868): HMAC-SHA-256 of ``data``, its first 16 octets. HMAC as RFC 2104
    writes it, H(K xor opad | H(K xor ipad | data)), in two hashes made per message: cheaper than
    ``hmac.digest``, which in OpenSSL 3 looks its HMAC up again on every call (1.7 against 2.6 us a
    median ICV inside a 3,000-peer run), and it keeps nothing per key."""
    if len(auth_key) > _HMAC_BLOCK:
        auth_key = hashlib.sha256(auth_key).digest()
    key = auth_key.ljust(_HMAC_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD) + data).digest()
    return hashlib.sha256(key.translate(_OPAD) + inner).digest()[:ICV_SIZE]


def body_size(suite: SkSuite, plaintext_len: int) -> int:
    """Octets of the SK body that protects ``plaintext_len`` octets of inner payloads."""
    if suite == _CBC:
        return 16 + (plaintext_len // 16 + 1) * 16 + ICV_SIZE
    return 8 + plaintext_len + 1 + ICV_SIZE


def seal(keys: SkKeys, initiator: bool, iv: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """The whole protected message: ``aad`` (the message up to the IV, length fields final), then the
    SK body that protects ``plaintext``."""
    enc_key, auth_key = keys.sender(initiator)
    if len(iv) != _IV_SIZES[keys.suite]:
        raise ValueError(f"{keys.suite.name} needs a {iv_size(keys.suite)}-octet IV, got {len(iv)}")
    if keys.suite == _CBC:
        pad = 15 - len(plaintext) % 16
        chains = keys.ciphers.enc
        chain = chains[initiator]
        if chain is None:
            chain = chains[initiator] = _new_encryptor(enc_key)
        head = aad + iv + _cbc_encrypt(chain, iv, plaintext + _PADS[pad])
        return head + _icv(auth_key, head)
    return aad + iv + _gcm(keys, initiator).encrypt(enc_key[16:] + iv, plaintext + b"\x00", aad)


_PADS = tuple(bytes(pad) + bytes([pad]) for pad in range(16))
"""The padding and Pad Length octet sent after a plaintext of each length mod 16 (zeros, minimal)."""


def open_sk(keys: SkKeys, initiator: bool, data: bytes, body_offset: int) -> bytes:
    """Verify and decrypt the SK body that runs from ``body_offset`` to the end of message ``data``
    (everything before it is the AAD); return the inner payloads' octets (padding removed).

    A wrong ICV raises IntegrityError (R6-7, R9-1); a body of impossible size or a bad pad length
    raises DecodeError.
    """
    enc_key, auth_key = keys.sender(initiator)
    n_iv = _IV_SIZES[keys.suite]
    body_len = len(data) - body_offset
    ct_at = body_offset + n_iv
    if keys.suite == _CBC:
        ct_len = body_len - n_iv - ICV_SIZE
        if ct_len < 16 or ct_len % 16:
            raise DecodeError(
                body_offset, f"SK body of {body_len} octets is not IV (16) + whole AES blocks + ICV (16)"
            )
        icv_at = len(data) - ICV_SIZE
        view = memoryview(data)
        if not hmac.compare_digest(_icv(auth_key, view[:icv_at]), data[icv_at:]):
            raise IntegrityError(icv_at, "SK payload ICV does not verify")
        ctxs = keys.ciphers.dec
        ctx = ctxs[initiator]
        if ctx is None:
            ctx = ctxs[initiator] = _new_decryptor(enc_key)
        padded = _cbc_decrypt(ctx, view[body_offset:icv_at])
    else:
        if body_len < n_iv + 1 + ICV_SIZE:
            raise DecodeError(
                body_offset,
                f"SK body of {body_len} octets is shorter than IV (8) + pad length (1) + ICV (16)",
            )
        try:
            padded = _gcm(keys, initiator).decrypt(
                enc_key[16:] + data[body_offset:ct_at], data[ct_at:], data[:body_offset]
            )
        except InvalidTag:
            raise IntegrityError(len(data) - ICV_SIZE, "SK payload ICV does not verify") from None
    pad = padded[-1]
    if pad + 1 > len(padded):
        raise DecodeError(
            ct_at + len(padded) - 1,
            f"SK pad length {pad} exceeds the {len(padded) - 1} decrypted octets",
        )
    return padded[: len(padded) - 1 - pad]
