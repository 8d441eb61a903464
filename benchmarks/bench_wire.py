"""Wire codec throughput: encode and decode of the RFC 6311 sync request, plain and in both SK suites.

Prints ``bench wire form=plain|cbc|gcm encode_per_s=... decode_per_s=... octets=...``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from hasim.wire import Message, MessageIdSync, ReplayCounterSync, SkKeys, SkSuite, decode, encode, iv_size

KEYS = {
    "cbc": SkKeys(SkSuite.AES_CBC_128_HMAC_SHA2_256_128, bytes(16), bytes(16), bytes(32), bytes(32)),
    "gcm": SkKeys(SkSuite.AES_GCM_16_128, bytes(20), bytes(20)),
}


def _rate(fn: Callable[[], object], seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            fn()
        n += 200
    return n / elapsed


def main() -> None:
    """Time encode and decode of the sync request in each form."""
    payloads = (MessageIdSync(7, 10, 3).to_notify(), ReplayCounterSync(64, esn=False).to_notify())
    for form in ("plain", "cbc", "gcm"):
        keys = KEYS.get(form)
        msg = Message(1, 2, 37, True, False, 0, payloads, protected=keys is not None)
        iv = bytes(iv_size(keys.suite)) if keys else None
        wire = encode(msg, keys, iv)
        enc = _rate(partial(encode, msg, keys, iv))
        dec = _rate(partial(decode, wire, keys))
        print(
            f"bench wire form={form} encode_per_s={enc:.0f} decode_per_s={dec:.0f} octets={len(wire)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
