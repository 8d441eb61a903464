"""A finished run's world is freed by reference counting alone: nothing of it is left for the cyclic
collector, whatever the ESP path, the trigger, the records or the faults (World.dismantle)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from hasim.sim import simulate
from hasim.sim.model.world import World
from hasim.sim.scenario.config import ScenarioConfig

from ..scale.split_brains import split_brains
from ..scenarios import scenario

BUSY: dict[str, Any] = {"liveness_interval_s": 1.0, "rekey_interval_s": 4.0, "child_sas": 2}
"""Every clock a run has: liveness checks at both sites and scheduled rekeys, two Child SAs a peer."""


def _gateway(peers: int, trigger: str = "proactive", members: int = 2) -> ScenarioConfig:
    crash = [{"at_s": 5.0, "member": "active"}] if members > 1 else []
    return scenario(
        scenario={"duration_s": 12.0},
        cluster={"members": members},
        traffic={**BUSY, "peers": peers, "esp_out_pps": 50.0, "esp_in_pps": 50.0},
        policy={"trigger": trigger},
        links={"latency_s": 0.01, "loss": 0.01},
        faults=crash,
    )


@pytest.fixture
def collector_off() -> Iterator[None]:
    """The cyclic collector off, and what earlier tests left collected first: anything found later is
    this test's."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


CASES = {
    "scaled_proactive": dict(config=_gateway(6), esp_path="auto"),
    "scaled_out_of_window": dict(config=_gateway(6, "out_of_window"), esp_path="auto"),  # anomaly watches
    "per_sa_vectorized": dict(config=_gateway(4), esp_path="vectorized"),
    "reference_single_member": dict(config=_gateway(2, members=1), esp_path="reference"),
    "records": dict(config=_gateway(3), esp_path="auto", records=True),
    "split_brains": dict(config=scenario(**split_brains(3, 14.0, 10.0)), esp_path="auto"),
}


@pytest.mark.usefixtures("collector_off")
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_world_is_left_for_the_collector(case: str) -> None:
    result = simulate(seed=3, **CASES[case])
    assert result.metrics["ike_messages"] > 0  # the run did run
    # the collector is off: a world kept alive by a cycle would still be among the tracked objects
    assert not any(isinstance(o, World) for o in gc.get_objects())


def _left_after(peers: int) -> int:
    """Objects the first full collection after a run at ``peers`` peers finds unreachable."""
    gc.collect()
    simulate(_gateway(peers), 4)
    return gc.collect()


@pytest.mark.usefixtures("collector_off")
def test_what_a_run_leaves_to_the_collector_does_not_grow_with_the_peers() -> None:
    """Before the world took itself apart a run left every one of its objects (thousands a peer: SAs,
    flows, streams, events) for the first collection; now it leaves a few objects whatever its size."""
    _left_after(2)  # first-time imports and caches out of the way
    small, large = _left_after(4), _left_after(40)
    assert large == small
    assert large < 50  # SimPy's environment with its bound methods (8 objects), nothing a peer
