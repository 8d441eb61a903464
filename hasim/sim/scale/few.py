"""The flow bank's packet-by-packet path, for passes that move only a few packets.

Most passes between two syncs move a handful of packets (one SA at a sync start, a rekey, a takeover);
for them the array path's fixed cost of some seventy NumPy calls is more than the work. These
functions do the same thing one packet at a time: the same counters, the same uniforms in the same
order, the same floating-point operations in the same order, the same copies in flight, the same
reference windows (``ReplayWindow.receive``, which the array windows are tested against). The
equivalence tests run every scenario with this path only and with the array path only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hasim.sim.scale.copies import Copies

if TYPE_CHECKING:
    from hasim.sim.scale.bank import FlowBank


def send_few(bank: FlowBank, sel: NDArray[np.int64], *, side: bool) -> None:
    """``FlowBank._send`` packet by packet: the same counters, uniforms, arithmetic and copies in flight."""
    fls = bank.t_flow[sel].tolist()
    times = bank.t_off[sel].tolist()
    st = bank.stats
    feats = bank.feats
    arr: list[float] = []
    seq: list[int] = []
    spi: list[int] = []
    fl: list[int] = []
    i, n = 0, len(fls)
    while i < n:
        f = fls[i]
        j = i + 1
        while j < n and fls[j] == f:
            j += 1
        c = j - i
        bank.t_pos[f] += c
        st["offered"][f] += c
        if not bank.has_tx[f]:
            st["outage"][f] += c
            i = j
            continue
        last = int(bank.last_seq[f])
        m = min(c, bank.limit - last)
        st["exhausted"][f] += c - m
        if m <= 0:
            i = j
            continue
        bank.last_seq[f] = last + m
        st["sent"][f] += m
        bank.max_space[f] = max(float(bank.max_space[f]), (last + m) / bank.limit)
        bank.iv_range(f, last + 1, last + m)
        u: dict[str, list[float]] = {}
        for k in feats:
            if bank.uses[k][f]:
                p = int(bank.u_pos[k][f])
                u[k] = bank.u[k][p : p + m].tolist()
                bank.u_pos[k][f] = p + m
            else:
                u[k] = [0.0] * m
        loss, lat, jit = float(bank.loss[f]), float(bank.lat[f]), float(bank.jit[f])
        reo, reo_delay, dup = float(bank.reo[f]), float(bank.reo_delay[f]), float(bank.dup[f])
        burst = bank.bursts[int(bank.dirn[f])]
        s_f = int(bank.spi[f])
        u_loss, u_jit, u_reo, u_dup = u.get("loss"), u.get("jitter"), u.get("reorder"), u.get("dup")
        lost = 0
        for r in range(m):
            t = times[i + r]
            gone = u_loss is not None and u_loss[r] < loss
            if burst.intervals and burst.contains(t):
                gone = True
            a = t + lat
            if u_jit is not None and jit > 0.0:
                a = a + jit * u_jit[r]
            if u_reo is not None:
                a = a + (reo_delay if u_reo[r] < reo else 0.0)
            if gone:
                lost += 1
                continue
            copies = 2 if u_dup is not None and u_dup[r] < dup else 1
            for _ in range(copies):
                arr.append(a)
                seq.append(last + 1 + r)
                spi.append(s_f)
                fl.append(f)
        st["lost"][f] += lost
        i = j
    if fl:
        bank.in_flight(
            np.array(arr, dtype=np.float64),
            np.array(seq, dtype=np.uint64),
            np.array(spi, dtype=np.int64),
            np.array(fl, dtype=np.int64),
            side=side,
        )


def deliver_few(bank: FlowBank, taken: Copies) -> None:
    """``FlowBank._deliver`` for a few copies: the same order, windows and counts."""
    arr, seq, spi, fl = taken.arr.tolist(), taken.seq.tolist(), taken.spi.tolist(), taken.flow.tolist()
    order = sorted(range(len(arr)), key=lambda j: (fl[j], arr[j], j))
    st = bank.stats
    bound = {f: int(bank.spi[f]) for f in set(fl)}
    own: list[int] = []
    foreign: list[int] = []
    for j in order:
        st["delivered"][fl[j]] += 1
        (own if spi[j] == bound[fl[j]] else foreign).append(j)
    if foreign:
        bank.deliver_foreign(taken.arr[foreign], taken.seq[foreign], taken.spi[foreign], taken.flow[foreign])
    i = 0
    while i < len(own):
        f = fl[own[i]]
        k = i + 1
        while k < len(own) and fl[own[k]] == f:
            k += 1
        mine, i = own[i:k], k
        if not bank.rx_ok[f]:
            st["no_receiver"][f] += len(mine)
            continue
        win = bank.window(f)
        watch = float(bank.watch_from[f])
        need = math.isnan(bank.first_acc[f])
        counts = [0, 0, 0, 0]
        first = math.nan
        for j in mine:
            o = int(win.receive(seq[j]))
            counts[o] += 1
            if o == 0 and need and math.isnan(first) and arr[j] >= watch:
                first = arr[j]
        bank.store_window(f, win)
        for code, name in enumerate(("accepted", "duplicate", "too_old", "unverifiable")):
            st[name][f] += counts[code]
        if not math.isnan(first):
            bank.first_acc[f] = first
