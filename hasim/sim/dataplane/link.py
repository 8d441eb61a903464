"""One direction of a link: latency, jitter, Bernoulli or Gilbert-Elliott loss, reordering and duplication.

The rule is written once: :func:`hit` (a packet is lost, reordered or doubled when its uniform falls
below the probability), :func:`arrival_time` (latency, jitter, reorder delay) and :func:`ge_states` (the
Gilbert-Elliott chain). They work on one packet (floats) and on many (arrays) with the same operations
in the same order, so every path gets the same times to the bit.

A :class:`LinkChannel` turns send times into arrival times. It has a vectorized path (``transmit``:
arrays in, arrays out) and a scalar path (``transmit_one``: one packet) that consume exactly the same
draws: every enabled feature takes one uniform per packet from its own stream, whether the packet is
lost or not, so that ``Generator.random(n)`` and n calls of ``Generator.random()`` see the same
numbers. The flow bank of the scaled engine (:mod:`hasim.sim.scale.send`) draws the same uniforms and
applies the same functions.

Each packet flow (an ESP direction of one Child SA, the IKE messages of one SA) gets its own channel and
streams; the loss process of a physical link is thus realised independently per flow, which keeps flows
independent of each other's batching. The cluster link is the exception (``hasim.sim.model.cluster_link``):
its sync messages and advertisements are flows of one link direction that share its Gilbert-Elliott
chain (a :class:`GeChain`, stepped once per message of either kind, in send order) and its partitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, overload

import numpy as np
from numpy.typing import NDArray

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
        if not self.intervals:  # the usual case: no burst on the direction (no generator to make)
            return False
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


class GeChain:
    """The Gilbert-Elliott state of one link direction and the stream of its transition uniforms; the
    flows that cross the direction share one, so a burst entered by one message is met by the next."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.bad = False

    def step(self, n: int, p_good_to_bad: float, p_bad_to_good: float) -> np.ndarray:
        """The states of the next ``n`` packets (True = bad): ``n`` uniforms, then :func:`ge_states`."""
        states = ge_states(self.rng.random(n), self.bad, p_good_to_bad, p_bad_to_good)
        self.bad = bool(states[-1])
        return states


F = TypeVar("F", float, NDArray[np.float64])
"""One packet (floats) or many (arrays, one entry per packet)."""


@overload
def hit(u: float, p: float) -> bool: ...


@overload
def hit(u: NDArray[np.float64], p: float | NDArray[np.float64]) -> NDArray[np.bool_]: ...


def hit(u: float | NDArray[np.float64], p: float | NDArray[np.float64]) -> bool | NDArray[np.bool_]:
    """Whether a packet meets a random event (loss, reordering, duplication): its uniform for that event
    falls below the event's probability."""
    return u < p


def arrival_time(
    send: F,
    latency: F | float,
    jitter: F | float,
    u_jitter: F | None,
    reorder: F | float,
    reorder_delay: F | float,
    u_reorder: F | None,
) -> F:
    """When packets sent at ``send`` arrive: the latency, plus the jitter times the packet's uniform, plus
    the reorder delay when it is reordered. A feature whose uniforms are None is off (a flow without it
    among flows with it has zeros: adding 0.0 to a non-negative time changes no bit)."""
    arrival = send + latency
    if u_jitter is not None:
        arrival = arrival + jitter * u_jitter
    if u_reorder is not None:
        arrival = arrival + reorder_delay * hit(u_reorder, reorder)
    return arrival


def bernoulli_streams(cfg: LinkSection) -> tuple[str, ...]:
    """The streams a Bernoulli-loss link draws one uniform per packet from (``transmit``); empty for a
    Gilbert-Elliott link (its chain's streams are not listed)."""
    if cfg.loss_model != "bernoulli":
        return ()
    on = (("loss", cfg.loss), ("jitter", cfg.jitter_s), ("reorder", cfg.reorder), ("dup", cfg.duplicate))
    return tuple(name for name, value in on if value > 0.0)


_Draw = Callable[[], float] | None
_ScalarDraws = tuple[_Draw, _Draw, _Draw, _Draw]
"""``LinkChannel.transmit_one``'s draws of one uniform (loss, jitter, reorder, duplication), None when off."""


class LinkChannel:
    """One flow over one link direction: decides per packet loss, delay and duplication."""

    def __init__(
        self,
        cfg: LinkSection,
        streams: RandomStreams,
        path: tuple[str, ...],
        bursts: LossBursts | None = None,
        *,
        chain: GeChain | None = None,
        one_by_one: bool = False,
    ) -> None:
        """``chain``: a Gilbert-Elliott state shared with other flows of the same direction (default:
        the flow's own, from its ``state`` stream). ``one_by_one``: a flow whose packets only ever go
        one at a time (``transmit_one``; ``transmit`` is refused), drawn a few times a run (an IKE SA's
        messages): its loss, jitter, reorder and duplication uniforms are the doubles its streams'
        Generators would give, drawn without making a Generator (``RandomStreams.doubles``: about a
        microsecond to make and 0.15 KiB against 3.6 and 0.63)."""
        self.cfg = cfg
        self.one_by_one = one_by_one
        self.bursts = bursts if bursts is not None else LossBursts()
        self._streams, self._path = streams, path
        self._rngs: dict[str, np.random.Generator] = {}
        self._chain = chain
        self._ones: dict[str, Callable[[], float]] = {}
        self._scalar: _ScalarDraws | None = None

    def rng(self, name: str) -> np.random.Generator:
        """The stream of one feature (loss, state, jitter, reorder, dup), created on first use: a stream
        depends only on its name, so creating it late changes no draw, and unused ones cost nothing."""
        gen = self._rngs.get(name)
        if gen is None:
            gen = self._rngs[name] = self._streams.get("links", *self._path, name)
        return gen

    @property
    def chain(self) -> GeChain:
        """The Gilbert-Elliott state this flow steps (its own unless shared)."""
        if self._chain is None:
            self._chain = GeChain(self.rng("state"))
        return self._chain

    def _one(self, name: str) -> float:
        """The next uniform of one feature's stream, for one packet (``Generator.random()``)."""
        draw = self._ones.get(name)
        if draw is None:
            draw = self._ones[name] = self.rng(name).random
        return draw()

    def _uniforms(self, name: str, n: int) -> np.ndarray:
        return self.rng(name).random(n)

    def _draw(self, name: str, on: bool, n: int) -> NDArray[np.float64] | None:
        """``n`` uniforms of one feature, or None when the feature is off (then nothing is drawn)."""
        return self.rng(name).random(n) if on else None

    def transmit(
        self, send: np.ndarray, u_loss: NDArray[np.float64] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorized: (index into ``send`` of each delivered copy, its arrival time), in send order.
        ``u_loss``: the loss uniforms, when the caller drew them from a loss stream several flows share
        in an order of its own (the cluster link's sync messages to several standbys)."""
        if self.one_by_one:
            raise ValueError(f"link flow {self._path} sends one packet at a time (transmit_one)")
        cfg = self.cfg
        n = send.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if cfg.loss_model == "gilbert_elliott":
            u = self._uniforms("loss", n) if u_loss is None else u_loss
            states = self.chain.step(n, cfg.ge_good_to_bad, cfg.ge_bad_to_good)
            gone = hit(u, np.where(states, cfg.ge_loss_bad, cfg.ge_loss_good))
        elif cfg.loss > 0.0:
            gone = hit(self._uniforms("loss", n) if u_loss is None else u_loss, cfg.loss)
        else:
            gone = np.zeros(n, dtype=bool)
        if self.bursts.intervals:
            gone |= self.bursts.mask(send)
        u_jit = self._draw("jitter", cfg.jitter_s > 0.0, n)
        u_reo = self._draw("reorder", cfg.reorder > 0.0, n)
        arrival = arrival_time(
            send, cfg.latency_s, cfg.jitter_s, u_jit, cfg.reorder, cfg.reorder_delay_s, u_reo
        )
        idx = np.flatnonzero(~gone)
        if cfg.duplicate > 0.0:
            doubled = hit(self._uniforms("dup", n), cfg.duplicate)
            idx = np.sort(np.concatenate([idx, np.flatnonzero(doubled & ~gone)]), kind="stable")
        return idx, arrival[idx]

    def transmit_one(self, t: float) -> list[float]:
        """Scalar: the arrival times of the copies of one packet sent at ``t`` (empty when lost)."""
        cfg = self.cfg
        draws = self._scalar
        if draws is None:
            draws = self._scalar = self._scalar_draws()
        loss, jitter, reorder, dup = draws
        if cfg.loss_model == "gilbert_elliott":
            bad = bool(self.chain.step(1, cfg.ge_good_to_bad, cfg.ge_bad_to_good)[0])
            gone = hit(self._one("loss"), cfg.ge_loss_bad if bad else cfg.ge_loss_good)
        elif loss is not None:
            gone = hit(loss(), cfg.loss)
        else:
            gone = False
        if self.bursts.intervals and self.bursts.contains(t):
            gone = True
        u_jit = None if jitter is None else jitter()
        u_reo = None if reorder is None else reorder()
        arrival = arrival_time(t, cfg.latency_s, cfg.jitter_s, u_jit, cfg.reorder, cfg.reorder_delay_s, u_reo)
        copies = 1
        if dup is not None and hit(dup(), cfg.duplicate):
            copies = 2
        return [] if gone else [arrival] * copies

    def _scalar_draws(self) -> _ScalarDraws:
        """The one-uniform draws of ``transmit_one``'s enabled features, looked up once (a packet of this
        flow takes its uniforms in this order: loss, jitter, reorder, duplication; the Gilbert-Elliott
        loss draws through ``_one`` after its chain's step)."""
        cfg = self.cfg

        def draw(name: str, on: bool) -> _Draw:
            if not on:
                return None
            if self.one_by_one:
                return self._streams.doubles("links", *self._path, name).random
            return self.rng(name).random

        return (
            draw("loss", cfg.loss_model != "gilbert_elliott" and cfg.loss > 0.0),
            draw("jitter", cfg.jitter_s > 0.0),
            draw("reorder", cfg.reorder > 0.0),
            draw("dup", cfg.duplicate > 0.0),
        )
