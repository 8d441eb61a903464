"""Key derivation (RFC 7296 2.13-2.15) against published HMAC vectors and an independent recomputation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hasim.interop.keymat import derive_keymat, prf, prf_plus, psk_auth, skeyseed


def _h(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@pytest.mark.parametrize(
    ("key", "data", "expected"),
    [
        # RFC 4231 test case 1 (also RFC 4868 2.7.1 PRF-HMAC-SHA-256 test case 1)
        (
            bytes([0x0B] * 20),
            b"Hi There",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        # RFC 4231 test case 2
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ],
)
def test_prf_is_hmac_sha256_rfc4231_vectors(key: bytes, data: bytes, expected: str) -> None:
    assert prf(key, data).hex() == expected


def test_prf_plus_is_the_rfc7296_chain() -> None:
    key, seed = b"K" * 32, b"seed octets"
    t1 = _h(key, seed + b"\x01")
    t2 = _h(key, t1 + seed + b"\x02")
    t3 = _h(key, t2 + seed + b"\x03")
    assert prf_plus(key, seed, 80) == (t1 + t2 + t3)[:80]
    assert prf_plus(key, seed, 32) == t1


def test_prf_plus_refuses_more_than_255_blocks() -> None:
    assert len(prf_plus(b"k", b"s", 255 * 32)) == 255 * 32
    with pytest.raises(ValueError, match="at most"):
        prf_plus(b"k", b"s", 255 * 32 + 1)


def test_keymat_slices_sk_d_ai_ar_ei_er_pi_pr_in_order() -> None:
    ni, nr, gir = bytes(range(32)), bytes(range(100, 132)), bytes(range(200, 232))
    spi_i, spi_r = 0x0102030405060708, 0x1112131415161718
    seed = ni + nr + bytes.fromhex("0102030405060708") + bytes.fromhex("1112131415161718")
    sks = _h(ni + nr, gir)  # SKEYSEED = prf(Ni | Nr, g^ir)
    stream = b""
    block = b""
    for n in range(1, 7):  # 192 octets = 6 blocks
        block = _h(sks, block + seed + bytes([n]))
        stream += block
    km = derive_keymat(ni, nr, gir, spi_i, spi_r)
    assert skeyseed(ni, nr, gir) == sks
    assert km.sk_d == stream[0:32]
    assert km.sk_ai == stream[32:64]
    assert km.sk_ar == stream[64:96]
    assert km.sk_ei == stream[96:112]
    assert km.sk_er == stream[112:128]
    assert km.sk_pi == stream[128:160]
    assert km.sk_pr == stream[160:192]
    keys = km.sk_keys()
    assert (keys.sk_ei, keys.sk_er, keys.sk_ai, keys.sk_ar) == (km.sk_ei, km.sk_er, km.sk_ai, km.sk_ar)


def test_psk_auth_follows_rfc7296_2_15() -> None:
    secret, msg, nonce, sk_p = b"secret", b"IKE_SA_INIT octets", b"N" * 32, b"P" * 32
    id_body = b"\x02\x00\x00\x00a.b"
    inner = _h(secret, b"Key Pad for IKEv2")
    expected = _h(inner, msg + nonce + _h(sk_p, id_body))
    assert psk_auth(secret, msg, nonce, sk_p, id_body) == expected
