"""A crash fault names its member: the active one at that instant, the standby next in line, or by name.

Three members, M0 active, crash of M0 at 13 s: its advertisement of 13 s still leaves and arrives 0.5 ms
later; M1 (priority 100) takes over 3 x 1 s + 156/256 s later, at 16.609875; M2 (priority 99) would wait
3 x 1 s + 157/256 s = 3.61328125 s (RFC 5798 6.1). A second fault at 15 s falls inside that detection,
when M0 is still the (dead) active member. After M1 took over, its advertisements leave at 16.609875 + k.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hasim.errors import ConfigError
from hasim.sim import scenario_from_dict, simulate, with_overrides

SCENARIO = Path(__file__).parents[3] / "experiments" / "scenarios" / "multiple_failover.toml"


def _events(member: str, at_s: float = 15.0) -> list[tuple[float, str, str]]:
    base = tomllib.loads(SCENARIO.read_text())
    cfg = scenario_from_dict(with_overrides(base, {"faults[1].at_s": at_s, "faults[1].member": member}))
    rows = simulate(cfg, 5, records=True).records["timeline"]
    kinds = ("crash", "takeover", "crash_no_target")
    # a takeover is recorded for the member and for each SA it takes over: one entry per instant
    return list(
        dict.fromkeys((round(r["time"], 4), r["node"], r["kind"]) for r in rows if r["kind"] in kinds)
    )


def test_active_during_detection_finds_no_live_active_member() -> None:
    assert _events("active") == [
        (13.0, "cluster.m0", "crash"),
        (15.0, "cluster", "crash_no_target"),
        (16.6099, "cluster.m1", "takeover"),
    ]


def test_standby_and_named_members() -> None:
    assert _events("standby")[:3] == [
        (13.0, "cluster.m0", "crash"),
        (15.0, "cluster.m1", "crash"),
        (round(13.0005 + 3.61328125, 4), "cluster.m2", "takeover"),  # M2's own master-down interval
    ]
    assert _events("m2")[:3] == [
        (13.0, "cluster.m0", "crash"),
        (15.0, "cluster.m2", "crash"),
        (16.6099, "cluster.m1", "takeover"),
    ]


def test_active_after_the_takeover_is_the_new_active_member() -> None:
    events = _events("active", at_s=16.62)  # the scenario's M1 -> M2 -> M3
    assert events[:4] == [
        (13.0, "cluster.m0", "crash"),
        (16.6099, "cluster.m1", "takeover"),
        (16.62, "cluster.m1", "crash"),
        (round(16.610375 + 3.61328125, 4), "cluster.m2", "takeover"),
    ]


@pytest.mark.parametrize("member", ["m3", "leader", "m"])
def test_an_unknown_member_names_the_key(member: str) -> None:
    base = tomllib.loads(SCENARIO.read_text())
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(with_overrides(base, {"faults[1].member": member}))
    assert err.value.key == "faults[1].member"
