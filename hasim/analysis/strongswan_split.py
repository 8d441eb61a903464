"""How long a split brain lasts under strongSwan's HA rules, in closed form (docs/model.md section 7).

The rules are :mod:`hasim.protocol.membership`'s strongswan style. A member X takes over from a live
master Y (a false failover) at t = 0 and pushes HA_SEGMENT_TAKE at once, then heartbeats every I from 0;
Y's heartbeats, n of which were lost in a row, reach X from delta = (n + 1) I - MDI on, every I. Every
message crosses the link in latency L and is lost independently with probability p (q = 1 - p). The
split brain ends at the first of these, each an attempt that succeeds with the probability given:

- X is node 1 (it keeps the segment): at L its TAKE or its first heartbeat reaches Y (1 - p^2), at
  k I + L a later heartbeat (q); at delta + j I + L, Y's heartbeat reached X and X's TAKE answering it
  reached Y (q^2). Y drops every time: X serves on.
- X is node 0: at L its TAKE reaches Y (q): Y drops, X serves on; at k I + 2 L X's heartbeat reached Y,
  which answers with a TAKE (q^2); at delta + j I Y's heartbeat reaches X (q): X drops, Y serves on.

Who is master before the next false failover is a two-state chain: after a false failover by node 1,
node 1 serves; after one by node 0, node 0 serves with probability a (its TAKE came first), node 1
otherwise. The backup of the next one is the other node, so the share of false failovers taken by node
0 is 1 / (1 + a) and the mean split brain is (a E_1 + E_0) / (1 + a). Exact for Bernoulli loss and
delta > 0; for Gilbert-Elliott loss ``hasim advise`` uses the mean loss (the TAKE and the heartbeat that
follows it share a burst, which this ignores).
"""

from __future__ import annotations

import math

__all__ = ["strongswan_split_brain_mean"]

_TAIL = 1e-15
"""Stop adding attempts when the chance that none succeeded so far falls below this."""


def _first_success(attempts: list[tuple[float, float, bool]], survive: float) -> tuple[float, float]:
    """(mean end time, chance that a ``True`` attempt ended it) over attempts sorted by time; ``survive``
    is the chance that none of the earlier attempts succeeded."""
    mean = kept = 0.0
    for t, s, taker_keeps in sorted(attempts, key=lambda a: a[0]):
        mean += survive * s * t
        if taker_keeps:
            kept += survive * s
        survive *= 1.0 - s
    return mean, kept


def _periods(ivl: float, loss: float) -> int:
    """Heartbeat periods to add: each has an attempt that succeeds with q, so p^k bounds the rest."""
    return 2 if loss <= 0.0 else 2 + math.ceil(math.log(_TAIL) / math.log(loss))


def strongswan_split_brain_mean(ivl: float, master_down: float, n: int, latency: float, loss: float) -> float:
    """Mean split brain (s) per false failover of the strongswan style, for heartbeat interval ``ivl``,
    timeout ``master_down``, ``n`` losses in a row to fail, one-way ``latency`` and independent loss
    ``loss`` per message (the module docstring derives it)."""
    if loss >= 1.0:
        return math.inf
    q, delta, lat = 1.0 - loss, (n + 1) * ivl - master_down, latency
    k_max = _periods(ivl, loss)
    node1 = [(lat, 1.0 - loss * loss, True)]
    node1 += [(k * ivl + lat, q, True) for k in range(1, k_max)]
    node1 += [(delta + j * ivl + lat, q * q, True) for j in range(k_max)]
    node0 = [(lat, q, True), (2 * lat, q * q, False)]
    node0 += [(k * ivl + 2 * lat, q * q, False) for k in range(1, k_max)]
    node0 += [(delta + j * ivl, q, False) for j in range(k_max)]
    mean1, _ = _first_success(node1, 1.0)
    mean0, a = _first_success(node0, 1.0)
    return (a * mean1 + mean0) / (1.0 + a)
