"""Streams, links and traffic: vectorized and scalar paths agree, numbers by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hasim.sim.dataplane.link import LinkChannel, LossBursts, arrival_time, ge_states, hit
from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.scenario.sections import LinkSection
from hasim.sim.streams import RandomStreams


def test_streams_are_independent_of_each_other() -> None:
    a = RandomStreams(7)
    x = a.get("links", "x").random(3)
    b = RandomStreams(7)
    b.get("traffic", "new").random(100)  # a new stream used first does not shift "links/x"
    assert np.array_equal(b.get("links", "x").random(3), x)
    assert not np.array_equal(RandomStreams(8).get("links", "x").random(3), x)
    with pytest.raises(ValueError):
        a.get("weather")


def test_ge_states_match_scalar_chain() -> None:
    u = np.random.default_rng(1).random(5000)
    states = ge_states(u, False, 0.05, 0.3)
    bad, ref = False, []
    for v in u:
        bad = (not (v < 0.3)) if bad else (v < 0.05)
        ref.append(bad)
    assert np.array_equal(states, np.array(ref))


@pytest.mark.parametrize("model", ["bernoulli", "gilbert_elliott"])
def test_link_vectorized_equals_scalar(model: str) -> None:
    cfg = LinkSection(latency_s=0.01, jitter_s=0.002, loss_model=model, loss=0.1, reorder=0.1, duplicate=0.05)
    send = np.arange(3000) / 1000.0
    bursts = LossBursts([(1.0, 1.2)])
    vec = LinkChannel(cfg, RandomStreams(3), ("d",), bursts)
    idx1, arr1 = vec.transmit(send[:1700])
    idx2, arr2 = vec.transmit(send[1700:])
    idx = np.concatenate([idx1, idx2 + 1700])
    arr = np.concatenate([arr1, arr2])
    sca = LinkChannel(cfg, RandomStreams(3), ("d",), bursts)
    ref_idx, ref_arr = [], []
    for i, t in enumerate(send):
        for a in sca.transmit_one(float(t)):
            ref_idx.append(i)
            ref_arr.append(a)
    assert np.array_equal(idx, ref_idx) and np.array_equal(arr, ref_arr)
    assert not np.any((send[idx] >= 1.0) & (send[idx] < 1.2))  # the burst drops everything


def test_lossless_link_delivers_every_packet_after_latency() -> None:
    ch = LinkChannel(LinkSection(latency_s=0.02), RandomStreams(0), ("x",))
    idx, arr = ch.transmit(np.array([0.0, 0.5, 1.0]))
    assert idx.tolist() == [0, 1, 2] and arr.tolist() == [0.02, 0.52, 1.02]


def test_bernoulli_loss_rate() -> None:
    ch = LinkChannel(LinkSection(loss=0.2), RandomStreams(0), ("x",))
    idx, _ = ch.transmit(np.zeros(100_000))
    assert abs(1 - idx.size / 100_000 - 0.2) < 0.01


@pytest.mark.parametrize("model", ["constant", "poisson", "onoff"])
def test_arrivals_vectorized_equal_one_by_one(model: str) -> None:
    a = ArrivalProcess(model, 700.0, RandomStreams(5).get("traffic", "f"))
    b = ArrivalProcess(model, 700.0, RandomStreams(5).get("traffic", "f"))
    vec = np.concatenate([a.until(t) for t in (0.3, 0.31, 4.0, 9.0, 20.0)])
    ref = []
    while b.next_time() < 20.0:
        ref.append(b.pop())
    assert np.array_equal(vec, np.array(ref))
    assert np.all(np.diff(vec) > 0)


def test_poisson_times_are_the_phase_plus_the_streams_exponential_gaps() -> None:
    # the stream's first uniform over the rate is the phase, then exponential(1/rate) gaps of the same
    # stream summed one by one from it, however the times are asked for
    rate = 37.0
    p = ArrivalProcess("poisson", rate, RandomStreams(9).get("traffic", "f"))
    got = np.concatenate([p.until(t) for t in (0.5, 0.5, 3.0, 40.0, 41.0, 200.0)])
    g = RandomStreams(9).fresh("traffic", "f")
    phase = g.random() / rate
    sums = np.cumsum(np.concatenate(([phase], g.exponential(1.0 / rate, got.shape[0] + 1))))
    assert np.array_equal(got, sums[1:-1])
    assert got[-1] < 200.0 <= sums[-1]
    assert p.pop() == sums[-1]


def test_constant_rate_counts() -> None:
    a = ArrivalProcess("constant", 100.0, RandomStreams(5).get("traffic", "f"))
    assert a.until(10.0).size in (999, 1000, 1001)
    p = ArrivalProcess("poisson", 1000.0, RandomStreams(5).get("traffic", "g"))
    assert abs(p.until(100.0).size - 100_000) < 1500


def test_arrival_time_by_hand() -> None:
    # 10 ms latency, 2 ms jitter at uniform 0.5, 50 ms more when the reorder uniform is under 0.1
    assert arrival_time(1.0, 0.01, 0.002, 0.5, 0.1, 0.05, 0.05) == 1.0 + 0.01 + 0.001 + 0.05
    assert arrival_time(1.0, 0.01, 0.002, 0.5, 0.1, 0.05, 0.5) == 1.0 + 0.01 + 0.001
    assert arrival_time(1.0, 0.01, 0.0, None, 0.0, 0.0, None) == 1.0 + 0.01
    assert hit(0.2, 0.3) and not hit(0.3, 0.3)


def test_arrival_time_one_packet_equals_many_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    send = np.sort(rng.random(500) * 10.0)
    u_jit, u_reo = rng.random(500), rng.random(500)
    jit = np.where(rng.random(500) < 0.5, 0.003, 0.0)  # flows with and without jitter, as in the bank
    many = arrival_time(send, 0.02, jit, u_jit * (jit > 0), 0.2, 0.04, u_reo)
    one = [
        arrival_time(float(s), 0.02, float(j), float(u) if j > 0 else None, 0.2, 0.04, float(r))
        for s, j, u, r in zip(send, jit, u_jit, u_reo, strict=True)
    ]
    assert many.view(np.int64).tolist() == np.array(one).view(np.int64).tolist()


ONE_BY_ONE = [(), ("loss",), ("jitter",), ("reorder",), ("dup",), ("loss", "jitter", "dup")]


@pytest.mark.parametrize("one_by_one", [False, True])
@pytest.mark.parametrize("on", ONE_BY_ONE)
def test_one_packet_takes_one_uniform_of_each_enabled_feature_in_turn(
    on: tuple[str, ...], one_by_one: bool
) -> None:
    # transmit_one looks its draws up once: each packet still takes the next uniform of each enabled
    # feature's own stream (loss, jitter, reorder, dup) and none of a disabled one; a one-by-one flow
    # (an IKE SA's messages) draws the same doubles without a Generator
    values = {"loss": 0.3, "jitter": 0.004, "reorder": 0.4, "dup": 0.25}
    cfg = LinkSection(
        latency_s=0.01,
        loss=values["loss"] if "loss" in on else 0.0,
        jitter_s=values["jitter"] if "jitter" in on else 0.0,
        reorder=values["reorder"] if "reorder" in on else 0.0,
        reorder_delay_s=0.05,
        duplicate=values["dup"] if "dup" in on else 0.0,
    )
    ch = LinkChannel(cfg, RandomStreams(11), ("ike", "x"), one_by_one=one_by_one)
    u = {name: RandomStreams(11).get("links", "ike", "x", name).random(200) for name in on}
    for k in range(200):
        t = k * 0.125
        want = t + 0.01
        if "jitter" in on:
            want = want + 0.004 * u["jitter"][k]
        if "reorder" in on:
            want = want + 0.05 * (u["reorder"][k] < 0.4)
        copies = 2 if "dup" in on and u["dup"][k] < 0.25 else 1
        lost = "loss" in on and u["loss"][k] < 0.3
        assert ch.transmit_one(t) == ([] if lost else [want] * copies)
    assert sorted(ch._rngs) == ([] if one_by_one else sorted(on))  # no Generator but of an enabled feature


def test_a_one_by_one_flow_refuses_a_batch() -> None:
    # its streams are drawn as doubles: a batch from new Generators would repeat them
    ch = LinkChannel(LinkSection(loss=0.1), RandomStreams(11), ("ike", "x"), one_by_one=True)
    with pytest.raises(ValueError, match="one packet at a time"):
        ch.transmit(np.zeros(3))
