"""The SK cipher contexts are kept per IKE SA's keys: made on the first message each way, found again
by every later one however many other SAs send in between, and gone with the keys.

Each ciphertext is checked against an AES-CBC context made for that message with ``cryptography``
directly; the counts of contexts alive are worked out from the SAs made and dropped.
"""

from __future__ import annotations

import copy
import pickle
import weakref

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hasim.wire import Message, Nonce, SkKeys, SkSuite, decode, encode

SPI_I, SPI_R = 0x0123456789ABCDEF, 0xFEDCBA9876543210


def keys_of(i: int) -> SkKeys:
    """Distinct CBC keys for SA ``i`` (no two SAs share a key)."""
    word = i.to_bytes(4, "big")
    return SkKeys(
        SkSuite.AES_CBC_128_HMAC_SHA2_256_128,
        sk_ei=word * 4,
        sk_er=(i + 1_000_000).to_bytes(4, "big") * 4,
        sk_ai=word * 8,
        sk_ar=bytes(32),
    )


def message(k: int, initiator: bool) -> Message:
    """A liveness-sized protected INFORMATIONAL (one nonce) of Message ID ``k``."""
    return Message(SPI_I, SPI_R, 37, initiator, not initiator, k, (Nonce(bytes([k % 256]) * 16),), True)


def cbc_alone(key: bytes, iv: bytes, msg: Message) -> bytes:
    """The message's ciphertext from a context made for it: inner payloads, zero padding, pad length."""
    plain = encode(
        Message(msg.spi_i, msg.spi_r, 37, msg.initiator, msg.response, msg.message_id, msg.payloads)
    )
    inner = plain[28:]
    pad = 15 - len(inner) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(inner + bytes(pad) + bytes([pad])) + enc.finalize()


def test_contexts_are_made_on_the_first_message_each_way_and_kept_for_the_next() -> None:
    keys = keys_of(7)
    assert keys.ciphers.enc == [None, None] and keys.ciphers.dec == [None, None]
    wire = encode(message(0, True), keys, bytes(16))
    assert decode(wire, keys) == message(0, True)
    enc_i, dec_i = keys.ciphers.enc[True], keys.ciphers.dec[True]
    # the initiator's key: one context sealing, one opening; nothing yet for the responder's key
    assert enc_i is not None and dec_i is not None
    assert keys.ciphers.enc[False] is None and keys.ciphers.dec[False] is None
    for k in range(1, 5):
        iv = bytes([k]) * 16
        wire = encode(message(k, True), keys, iv)
        assert wire[48:-16] == cbc_alone(keys.sk_ei, iv, message(k, True))
        assert decode(wire, keys) == message(k, True)
        assert keys.ciphers.enc[True] is enc_i and keys.ciphers.dec[True] is dec_i
    wire = encode(message(5, False), keys, bytes(16))
    assert decode(wire, keys) == message(5, False)
    made = [keys.ciphers.enc[True], keys.ciphers.enc[False], keys.ciphers.dec[True], keys.ciphers.dec[False]]
    assert len({id(c) for c in made}) == 4  # four an SA: each key sealing and opening


def test_every_sa_finds_its_own_contexts_after_a_round_of_17000_others() -> None:
    """17,000 SAs sending both ways in turn, as liveness checks go round all SAs: 34,000 encryption
    contexts, more than the 32,768 a global cache of keys had room for, and every SA's next round
    uses the contexts its first made (each still encrypting as a context made for the message)."""
    all_keys = [keys_of(i) for i in range(17_000)]
    first = []
    for keys in all_keys:
        encode(message(0, True), keys, bytes(16))
        encode(message(0, False), keys, bytes(16))
        first.append((keys.ciphers.enc[True], keys.ciphers.enc[False]))
    iv = bytes(range(16))
    for keys, (enc_i, enc_r) in zip(all_keys, first, strict=True):
        wire_i = encode(message(1, True), keys, iv)
        wire_r = encode(message(1, False), keys, iv)
        assert keys.ciphers.enc[True] is enc_i and keys.ciphers.enc[False] is enc_r
    assert wire_i[48:-16] == cbc_alone(all_keys[-1].sk_ei, iv, message(1, True))
    assert wire_r[48:-16] == cbc_alone(all_keys[-1].sk_er, iv, message(1, False))


def test_contexts_go_with_their_keys() -> None:
    """300 SAs each seal both ways (600 contexts alive); dropping every other SA's keys (deleted, or
    replaced by a rekey's) leaves the 150 others' 300, and new keys with the same octets as a dropped
    SA's get contexts of their own."""
    all_keys: list[SkKeys | None] = [keys_of(i) for i in range(300)]
    refs = []
    for keys in all_keys:
        assert keys is not None
        encode(message(0, True), keys, bytes(16))
        encode(message(0, False), keys, bytes(16))
        refs.append((weakref.ref(keys.ciphers.enc[True]), weakref.ref(keys.ciphers.enc[False])))
    assert sum(r() is not None for pair in refs for r in pair) == 600
    for i in range(0, 300, 2):
        all_keys[i] = None
    assert sum(r() is not None for pair in refs for r in pair) == 300
    assert all(r() is None for pair in refs[0::2] for r in pair)
    again = keys_of(0)
    assert again.ciphers.enc == [None, None]
    wire = encode(message(1, True), again, bytes(16))
    assert refs[0][0]() is None and again.ciphers.enc[True] is not None
    assert decode(wire, again) == message(1, True)


def test_copies_of_keys_start_without_contexts_and_equal_the_original() -> None:
    """Keys pickled (to a worker) or deep-copied carry their octets, not OpenSSL's contexts: the copy
    equals the original, makes its own contexts, and opens what the original sealed."""
    keys = keys_of(3)
    wire = encode(message(2, True), keys, bytes(16))
    for twin in (pickle.loads(pickle.dumps(keys)), copy.deepcopy(keys)):
        assert twin == keys and hash(twin) == hash(keys)
        assert twin.ciphers.enc == [None, None] and twin.ciphers.dec == [None, None]
        assert decode(wire, twin) == message(2, True)
        assert encode(message(2, True), twin, bytes(16)) == wire


def test_gcm_ciphers_are_made_once_per_sender_key() -> None:
    keys = SkKeys(SkSuite.AES_GCM_16_128, bytes(range(20)), bytes(range(20, 40)))
    iv = bytes(8)
    first = decode(encode(message(0, True), keys, iv), keys)
    gcm_i = keys.ciphers.gcm[True]
    assert first == message(0, True) and gcm_i is not None and keys.ciphers.gcm[False] is None
    assert decode(encode(message(1, True), keys, iv), keys) == message(1, True)
    assert keys.ciphers.gcm[True] is gcm_i
    assert decode(encode(message(2, False), keys, iv), keys) == message(2, False)
    assert keys.ciphers.gcm[False] not in (None, gcm_i)
