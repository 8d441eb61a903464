"""How much of the ESP sequence-number space each failover burns, and how many failovers fit.

Why: RFC 6311 section 5.2 makes the new member skip its outgoing counter forward by s on every
failover, and suggests s = 2**30 when the rate is hard to estimate, "in which case a rekey SHOULD
follow shortly afterwards". RFC 4303 section 3.3.3 forbids the counter to cycle: the sender must
rekey before it would send number 2**32 (2**64 with Extended Sequence Numbers, section 2.2.1).
So the skipped numbers are spent, and (max - used) // s failovers fit before a rekey is forced:
with s = 2**30 and no ESN, (2**32 - 1) // 2**30 = 3.
"""

from __future__ import annotations

import math

__all__ = ["SEQ_MAX_32", "SEQ_MAX_64", "counter_fraction", "failovers_until_rekey", "seq_max"]

#: Highest sequence number a non-ESN SA may send (RFC 4303 section 2.2: 32-bit counter, no cycling).
SEQ_MAX_32 = 2**32 - 1
#: Highest sequence number an ESN SA may send (RFC 4303 section 2.2.1: 64-bit counter).
SEQ_MAX_64 = 2**64 - 1


def seq_max(esn: bool) -> int:
    """The last usable sequence number: 2**64 - 1 with ESN, else 2**32 - 1 (RFC 4303 3.3.3)."""
    return SEQ_MAX_64 if esn else SEQ_MAX_32


def failovers_until_rekey(skip: int, used: int = 0, esn: bool = False) -> float:
    """How many more skips of ``skip`` fit before the counter would pass its maximum.

    ``used`` is the counter's current value. A zero skip costs nothing (returns infinity).
    """
    if skip < 0 or used < 0:
        raise ValueError("skip and used must be >= 0")
    left = seq_max(esn) - used
    if left < 0:
        return 0
    if skip == 0:
        return math.inf
    return left // skip


def counter_fraction(skip: int, esn: bool = False) -> float:
    """The share of the whole sequence space one failover spends."""
    return skip / seq_max(esn)
