"""Decoding is total: random and mutated octets either decode (and then re-encode to themselves) or
raise DecodeError; nothing else escapes, and nothing hangs."""

from __future__ import annotations

import contextlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import DecodeError
from hasim.wire import Message, SkKeys, decode, encode, iv_size
from hasim.wire.esp import decode_esp_header
from hasim.wire.keysfile import parse_keys_file
from hasim.wire.pcap_read import read_pcap
from hasim.wire.sk import body_size, seal

from .strategies import plain_message, protected_message, sk_keys

SETTINGS = settings(max_examples=300, deadline=None)


def decodes_or_raises(data: bytes, keys: SkKeys | None = None) -> Message | None:
    try:
        msg = decode(data, keys)
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(data), exc
        return None
    if keys is None or not msg.protected:
        assert encode(msg) == data
    return msg


@SETTINGS
@given(st.binary(max_size=200))
def test_random_octets(data: bytes) -> None:
    decodes_or_raises(data)


@SETTINGS
@given(st.binary(max_size=160))
def test_random_octets_behind_a_valid_header(tail: bytes) -> None:
    # A header whose length matches, so that the payload chain parser sees the random octets.
    for first in (41, 40, 42, 46, 33):
        head = struct.pack("!QQBBBBII", 1, 2, first, 0x20, 37, 0x08, 0, 28 + len(tail))
        decodes_or_raises(head + tail)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    wire = bytearray(encode(draw(plain_message())))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(wire) - 1, 0)))
        if kind == "flip" and wire:
            wire[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and wire:
            wire[pos] = draw(st.sampled_from([0x00, 0x01, 0x04, 0xFF, 0x29, 0x2E]))
        elif kind == "cut":
            del wire[pos:]
        else:
            wire[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    if len(wire) >= 28 and draw(st.booleans()):
        wire[24:28] = len(wire).to_bytes(4, "big")  # keep the length consistent: reach the payloads
    return bytes(wire)


@SETTINGS
@given(mutated())
def test_mutated_messages(data: bytes) -> None:
    decodes_or_raises(data)


@SETTINGS
@given(protected_message(), sk_keys, st.data())
def test_mutated_protected_messages(msg: Message, keys: SkKeys, data: st.DataObject) -> None:
    wire = bytearray(encode(msg, keys, bytes(iv_size(keys.suite))))
    pos = data.draw(st.integers(0, len(wire) - 1))
    wire[pos] ^= 1 << data.draw(st.integers(0, 7))
    decodes_or_raises(bytes(wire), keys)


@SETTINGS
@given(sk_keys, st.booleans(), st.integers(0, 255), st.binary(max_size=80))
def test_authenticated_garbage(keys: SkKeys, initiator: bool, first: int, plaintext: bytes) -> None:
    # A correctly encrypted and authenticated SK payload around arbitrary inner octets: the ICV
    # verifies, so the inner chain parser itself must be total.
    iv = bytes(iv_size(keys.suite))
    sk_len = 4 + body_size(keys.suite, len(plaintext))
    aad = struct.pack("!QQBBBBII", 1, 2, 46, 0x20, 37, 0x08 if initiator else 0, 0, 28 + sk_len)
    aad += struct.pack("!BBH", first, 0, sk_len)
    decodes_or_raises(seal(keys, initiator, iv, aad, plaintext), keys)


def test_huge_length_field_fails_fast() -> None:
    head = struct.pack("!QQBBBBII", 1, 2, 41, 0x20, 37, 0x08, 0, 0xFFFFFFFF)
    try:
        decode(head + b"\x00\x00\xff\xff")
    except DecodeError as exc:
        assert exc.offset == 24
    else:
        raise AssertionError("a length field of 2**32-1 must not decode")


@SETTINGS
@given(st.binary(max_size=12))
def test_esp_header_fuzz(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_esp_header(data)


@SETTINGS
@given(
    st.sampled_from([1, 101, 113, 228, 9]),
    st.lists(st.binary(max_size=120), max_size=4),
    st.binary(max_size=20),
)
def test_pcap_reader_fuzz(linktype: int, frames: list[bytes], tail: bytes) -> None:
    # Well-formed record framing around random frames, then random trailing octets.
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for f in frames:
        data += struct.pack("<IIII", 0, 0, len(f), len(f)) + f
    for blob in (data, data + tail, data[: len(data) // 2]):
        try:
            for _ in read_pcap(blob):
                pass
        except DecodeError:
            pass


@SETTINGS
@given(st.text(max_size=300))
def test_keys_file_fuzz(text: str) -> None:
    with contextlib.suppress(DecodeError):
        parse_keys_file(text.splitlines(keepends=True))
