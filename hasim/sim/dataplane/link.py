"""One direction of a link: latency, jitter, Bernoulli or Gilbert-Elliott loss, reordering and duplication.

A :class:`LinkChannel` turns send times into arrival times. It has a vectorized path (``transmit``:
arrays in, arrays out) and a scalar path (``transmit_one``: one packet) that consume exactly the same
draws: every enabled feature takes one uniform per packet from its own stream, whether the packet is
lost or not, so that ``Generator.random(n)`` and n calls of ``Generator.random()`` see the same numbers.
Each packet flow (an ESP direction of one Child SA, the IKE messages of one SA, the sync channel) gets
its own channel and streams; the loss process of a physical link is thus realised independently per
flow, which keeps flows independent of each other's batching.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hasim.sim.scenario.sections import LinkSection
from hasim.sim.streams import RandomStreams


@dataclass
class LossBursts:
    """Time intervals [start, end) in which every packet sent on a direction is lost (a loss-burst fault)."""

    intervals: list[tuple[float, float]] = field(default_factory=list)

    def add(self, start: float, end: float) -> None:
        """Register a burst."""
        self.intervals.append((start, end))

    def mask(self, times: np.ndarray) -> np.ndarray:
        """True where a packet sent at that time falls inside a burst."""
        out = np.zeros(times.shape, dtype=bool)
        for a, b in self.intervals:
            out |= (times >= a) & (times < b)
        return out

    def contains(self, t: float) -> bool:
        """Whether one send time falls inside a burst."""
        return any(a <= t < b for a, b in self.intervals)


def ge_states(u: np.ndarray, bad0: bool, p_good_to_bad: float, p_bad_to_good: float) -> np.ndarray:
    """Gilbert-Elliott states (True = bad) for packets whose transition uniforms are ``u``.

    Before packet k the chain moves: good -> bad if u[k] < p_good_to_bad, bad -> good if u[k] < p_bad_to_good.
    The loop runs once per state change, not once per packet.
    """
    n = u.shape[0]
    states = np.empty(n, dtype=bool)
    to_bad = np.flatnonzero(u < p_good_to_bad)
    to_good = np.flatnonzero(u < p_bad_to_good)
    pos, cur = 0, bad0
    while pos < n:
        flips = to_good if cur else to_bad
        j = int(np.searchsorted(flips, pos))
        if j >= flips.shape[0]:
            states[pos:] = cur
            break
        idx = int(flips[j])
        states[pos:idx] = cur
        cur = not cur
        states[idx] = cur
        pos = idx + 1
    return states


class LinkChannel:
    """One flow over one link direction: decides per packet loss, delay and duplication."""

    def __init__(
        self,
        cfg: LinkSection,
        streams: RandomStreams,
        path: tuple[str, ...],
        bursts: LossBursts | None = None,
    ) -> None:
        self.cfg = cfg
        self.bursts = bursts if bursts is not None else LossBursts()
        self._streams, self._path = streams, path
        self._rngs: dict[str, np.random.Generator] = {}
        self.ge_bad = False

    def rng(self, name: str) -> np.random.Generator:
        """The stream of one feature (loss, state, jitter, reorder, dup), created on first use: a stream
        depends only on its name, so creating it late changes no draw, and unused ones cost nothing."""
        gen = self._rngs.get(name)
        if gen is None:
            gen = self._rngs[name] = self._streams.get("links", *self._path, name)
        return gen

    def _uniforms(self, name: str, n: int) -> np.ndarray:
        return self.rng(name).random(n)

    def transmit(self, send: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized: (index into ``send`` of each delivered copy, its arrival time), in send order."""
        cfg = self.cfg
        n = send.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if cfg.loss_model == "gilbert_elliott":
            u = self._uniforms("state", n)
            states = ge_states(u, self.ge_bad, cfg.ge_good_to_bad, cfg.ge_bad_to_good)
            self.ge_bad = bool(states[-1])
            p = np.where(states, cfg.ge_loss_bad, cfg.ge_loss_good)
            lost = self._uniforms("loss", n) < p
        elif cfg.loss > 0.0:
            lost = self._uniforms("loss", n) < cfg.loss
        else:
            lost = np.zeros(n, dtype=bool)
        if self.bursts.intervals:
            lost |= self.bursts.mask(send)
        arrival = send + cfg.latency_s
        if cfg.jitter_s > 0.0:
            arrival = arrival + cfg.jitter_s * self._uniforms("jitter", n)
        if cfg.reorder > 0.0:
            arrival = arrival + np.where(self._uniforms("reorder", n) < cfg.reorder, cfg.reorder_delay_s, 0.0)
        idx = np.flatnonzero(~lost)
        if cfg.duplicate > 0.0:
            dup = self._uniforms("dup", n) < cfg.duplicate
            idx = np.sort(np.concatenate([idx, np.flatnonzero(dup & ~lost)]), kind="stable")
        return idx, arrival[idx]

    def transmit_one(self, t: float) -> list[float]:
        """Scalar: the arrival times of the copies of one packet sent at ``t`` (empty when lost)."""
        cfg = self.cfg
        if cfg.loss_model == "gilbert_elliott":
            u = float(self.rng("state").random())
            if self.ge_bad and u < cfg.ge_bad_to_good:
                self.ge_bad = False
            elif not self.ge_bad and u < cfg.ge_good_to_bad:
                self.ge_bad = True
            p = cfg.ge_loss_bad if self.ge_bad else cfg.ge_loss_good
            lost = float(self.rng("loss").random()) < p
        elif cfg.loss > 0.0:
            lost = float(self.rng("loss").random()) < cfg.loss
        else:
            lost = False
        if self.bursts.contains(t):
            lost = True
        arrival = t + cfg.latency_s
        if cfg.jitter_s > 0.0:
            arrival = arrival + cfg.jitter_s * float(self.rng("jitter").random())
        if cfg.reorder > 0.0 and float(self.rng("reorder").random()) < cfg.reorder:
            arrival += cfg.reorder_delay_s
        copies = 1
        if cfg.duplicate > 0.0 and float(self.rng("dup").random()) < cfg.duplicate:
            copies = 2
        return [] if lost else [arrival] * copies
