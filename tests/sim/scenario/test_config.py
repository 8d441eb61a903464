"""Scenario config: defaults, round trips, overrides, and one clear error per class of mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hasim.errors import ConfigError
from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.policy import AfterFailover, SkipKind, SyncReading, SyncTrigger
from hasim.sim.model.ike_config import ike_config_for
from hasim.sim.scenario.config import describe_fields, load_scenario, scenario_from_dict, with_overrides


def test_defaults_cite_their_sources() -> None:
    cfg = scenario_from_dict({})
    assert cfg.cluster.advertisement_interval_s == 1.0 and cfg.cluster.master_down_multiplier == 3
    assert (cfg.policy.retransmit_timeout_s, cfg.policy.retransmit_base, cfg.policy.retransmit_tries) == (
        4.0,
        1.8,
        5,
    )
    assert cfg.policy.replay_window == 32
    rows = {r["key"]: r for r in describe_fields()}
    assert "RFC 5798" in rows["cluster.master_down_multiplier"]["source"]
    assert "strongSwan" in rows["policy.retransmit_timeout_s"]["source"]
    assert all(r["doc"] for r in rows.values())


def test_round_trip_and_link_shorthand() -> None:
    cfg = scenario_from_dict(
        {"links": {"loss": 0.1, "peer_to_cluster": {"loss": 0.2}}, "faults": [{"at_s": 5}]}
    )
    assert cfg.links.cluster_to_peer.loss == 0.1 and cfg.links.peer_to_cluster.loss == 0.2
    assert scenario_from_dict(cfg.to_dict()) == cfg


def test_overrides_parse_toml_literals_and_set_both_directions() -> None:
    d = scenario_from_dict({"faults": [{"at_s": 5}]}).to_dict()
    d2 = with_overrides(
        d,
        {
            "cluster.sync_interval_s": "0.5",
            "links.loss": "0.3",
            "policy.esn": "true",
            "faults[0].at_s": 7,
            "policy.trigger": "lazy",
        },
    )
    cfg = scenario_from_dict(d2)
    assert cfg.cluster.sync_interval_s == 0.5 and cfg.policy.esn is True and cfg.faults[0].at_s == 7.0
    assert cfg.links.cluster_to_peer.loss == cfg.links.peer_to_cluster.loss == 0.3
    assert cfg.policy.trigger == "lazy"
    assert d["cluster"]["sync_interval_s"] == 1.0  # the input is not modified


def test_load_scenario(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('[scenario]\nname = "x"\nduration_s = 5\n[[faults]]\nkind = "crash"\nat_s = 2.0\n')
    cfg = load_scenario(p)
    assert cfg.scenario.duration_s == 5.0 and cfg.faults[0].at_s == 2.0
    p.write_text("[scenario\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(p)


BAD = [
    ("unknown key", {"cluster": {"sync_intervl_s": 1}}, "cluster.sync_intervl_s", "sync_interval_s"),
    ("unknown section", {"clustr": {}}, "clustr", "cluster"),
    ("wrong type", {"peer": {"is_cluster": 1}}, "peer.is_cluster", "true or false"),
    ("unit in value", {"cluster": {"sync_interval_s": "500ms"}}, "cluster.sync_interval_s", "plain number"),
    ("unit in key", {"cluster": {"sync_interval_ms": 500}}, "cluster.sync_interval_ms", "sync_interval_s"),
    ("out of range", {"cluster": {"sync_loss": 1.5}}, "cluster.sync_loss", "[0.0, 1.0]"),
    ("not positive", {"cluster": {"sync_interval_s": 0}}, "cluster.sync_interval_s", "(0.0, 86400.0]"),
    ("not a choice", {"policy": {"trigger": "soon"}}, "policy.trigger", "'proactive'"),
    ("not an integer", {"traffic": {"peers": 1.5}}, "traffic.peers", "an integer"),
    (
        "link direction",
        {"links": {"cluster_to_peer": {"jitter": 1}}},
        "links.cluster_to_peer.jitter",
        "jitter_s",
    ),
    ("fault without time", {"faults": [{"kind": "crash"}]}, "faults[0].at_s", "missing"),
    ("fault kind", {"faults": [{"kind": "meteor", "at_s": 1}]}, "faults[0].kind", "'crash'"),
    (
        "peer crash needs cluster",
        {"faults": [{"at_s": 1, "target": "peer"}]},
        "faults[0].target",
        "is_cluster",
    ),
    ("too many crashes", {"faults": [{"at_s": 1}, {"at_s": 2}]}, "faults", "cluster.members"),
    (
        "fault after end",
        {"scenario": {"duration_s": 5}, "faults": [{"at_s": 9}]},
        "faults[0].at_s",
        "duration_s",
    ),
    ("section not a table", {"cluster": 3}, "cluster", "a table"),
    # 10**400 is beyond a float, 10**5000 beyond what repr() writes out (4300 digits)
    ("integer beyond a float", {"cluster": {"sync_interval_s": 10**400}}, "cluster.sync_interval_s", "(0.0"),
    ("integer beyond repr", {"scenario": {"seed": 10**5000}}, "scenario.seed", "about 5000 digits"),
    ("member m²", {"faults": [{"at_s": 1, "member": "m\u00b2"}]}, "faults[0].member", "m0, m1"),
    (
        "peer member out of range",
        {"peer": {"is_cluster": True}, "faults": [{"at_s": 1, "target": "peer", "member": "m2"}]},
        "faults[0].member",
        "the peer has members m0..m1",
    ),
]


@pytest.mark.parametrize(("what", "d", "key", "hint"), BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_names_the_key(what: str, d: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(d)
    assert err.value.key == key
    assert hint in str(err.value)


def test_bad_override_names_the_key() -> None:
    d = scenario_from_dict({}).to_dict()
    with pytest.raises(ConfigError) as err:
        with_overrides(d, {"cluster.sync_intervall_s": 1})
    assert err.value.key == "cluster.sync_intervall_s"
    with pytest.raises(ConfigError) as err:
        with_overrides(d, {"faults[3].at_s": 1})
    assert err.value.key == "faults[3].at_s"
    with pytest.raises(ConfigError) as err:
        scenario_from_dict(with_overrides(d, {"policy.replay_window": "big"}))
    assert err.value.key == "policy.replay_window"


@pytest.mark.parametrize(
    ("d", "overrides", "key"),
    [
        ({"faults": [1]}, {"faults[0].at_s": 1}, "faults[0]"),
        ({"faults": {"at_s": 1}}, {"faults[0].at_s": 1}, "faults"),
        ({"cluster": 5}, {"cluster.members": 3}, "cluster"),
        ({"links": 5}, {"links.loss": 0.1}, "links"),
        ({"links": {"peer_to_cluster": []}}, {"links.peer_to_cluster.loss": 0.1}, "links.peer_to_cluster"),
        ({}, {"faults[+0].at_s": 1}, "faults[+0].at_s"),
        ({}, {7: 1}, "7"),
        ([], {}, "<root>"),
        ({}, [("cluster.members", 3)], "overrides"),
    ],
)
def test_an_override_into_what_is_not_a_table_names_it(d: Any, overrides: Any, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        with_overrides(d, overrides)
    assert err.value.key == key


@pytest.mark.parametrize(
    ("key", "kind", "read"),
    [
        ("trigger", SyncTrigger, lambda c: c.member.trigger),
        ("skip_policy", SkipKind, lambda c: c.member.skip_out.kind),
        ("mid_reading", SyncReading, lambda c: c.reading),
        ("ike_after_failover", AfterFailover, lambda c: c.member.after_failover),
        ("ipsec_after_failover", ReplayPolicy, lambda c: c.inbound_after_failover),
    ],
)
def test_policy_words_are_the_protocol_enum_values(key: str, kind: type, read: Any) -> None:
    for member in kind:
        cfg = scenario_from_dict({"policy": {key: member.value}})
        assert read(ike_config_for(cfg, cluster_side=True)) is member


@pytest.mark.parametrize(
    ("key", "word"), [("trigger", "eager"), ("trigger", "on_trigger"), ("skip_policy", "huge")]
)
def test_words_of_no_protocol_enum_are_refused(key: str, word: str) -> None:
    with pytest.raises(ConfigError) as exc:
        scenario_from_dict({"policy": {key: word}})
    assert exc.value.key == f"policy.{key}" and repr(word) in str(exc.value)
