"""Loading and validating a scenario (TOML or dict) into frozen dataclasses, with one clear ConfigError.

Every mistake - an unknown key, a wrong type, a value with a unit where a number is expected, a value
out of range or not among the choices - raises :class:`hasim.errors.ConfigError` naming the dotted key,
the value given and what is allowed. The section dataclasses and their documented fields live in
:mod:`hasim.sim.scenario.sections`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hasim.errors import ConfigError, parse_toml, read_utf8, shown, toml_literal
from hasim.sim.scenario.sections import (
    AttackerSection,
    ClusterLinkSection,
    ClusterSection,
    FaultSection,
    LinkSection,
    LinksSection,
    MembershipSection,
    PeerSection,
    PolicySection,
    ScenarioConfig,
    ScenarioSection,
    TrafficSection,
)

__all__ = [
    "AttackerSection",
    "ClusterLinkSection",
    "ClusterSection",
    "FaultSection",
    "LinkSection",
    "LinksSection",
    "MembershipSection",
    "PeerSection",
    "PolicySection",
    "ScenarioConfig",
    "ScenarioSection",
    "TrafficSection",
    "check_seed",
    "config_to_dict",
    "describe_fields",
    "load_scenario",
    "scenario_from_dict",
    "with_overrides",
]

_SECTIONS: dict[str, type] = {
    "scenario": ScenarioSection,
    "cluster": ClusterSection,
    "peer": PeerSection,
    "traffic": TrafficSection,
    "policy": PolicySection,
    "attacker": AttackerSection,
    "membership": MembershipSection,
    "heartbeat_link": LinkSection,
    "cluster_link": ClusterLinkSection,
}
_DIRECTIONS = ("cluster_to_peer", "peer_to_cluster")
_LINK_FIELDS = {f.name for f in dataclasses.fields(LinkSection)}
_TOP_KEYS = (*_SECTIONS, "links", "faults")


def _unknown(key: str, name: str, allowed: list[str]) -> ConfigError:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ConfigError(key, f"unknown key{hint}; allowed: {', '.join(allowed)}")


def _describe(meta: Mapping[str, Any], kind: type) -> str:
    unit = f" in {meta['unit']}" if meta.get("unit") else ""
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    name = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[kind]
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        rng = f" in {'(' if meta.get('lo_open') else '['}{lo}, {hi}]"
    elif lo is not None:
        rng = f" {'>' if meta.get('lo_open') else '>='} {lo}"
    elif hi is not None:
        rng = f" <= {hi}"
    else:
        rng = ""
    return f"{name}{unit}{rng}"


def _coerce(key: str, value: Any, f: dataclasses.Field[Any]) -> Any:
    kind = type(f.default)
    meta = f.metadata
    want = _describe(meta, kind)
    bad = ConfigError(key, f"got {shown(value)}; expected {want}")
    if kind is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if kind is str:
        if not isinstance(value, str):
            raise bad
        if meta.get("choices") and value not in meta["choices"]:
            raise bad
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and meta.get("unit"):
            raise ConfigError(
                key, f"got {shown(value)}; expected {want}, a plain number (the unit is in the key)"
            )
        raise bad
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise bad
            value = int(value)
    else:
        try:
            value = float(value)
        except OverflowError:  # an int beyond the largest float
            raise bad from None
        if not math.isfinite(value):
            raise bad
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        raise bad
    if hi is not None and value > hi:
        raise bad
    return value


def _section(prefix: str, cls: type, raw: Any, base: Any = None) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(prefix, f"got {shown(raw)}; expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = f"{prefix}.{name}"
        if name not in fields:
            raise _unknown(key, str(name), list(fields))
        values[name] = _coerce(key, value, fields[name])
    if base is not None:
        return dataclasses.replace(base, **values)
    return cls(**values)


def _links(raw: Any) -> LinksSection:
    if not isinstance(raw, Mapping):
        raise ConfigError("links", f"got {shown(raw)}; expected a table")
    shared = {k: v for k, v in raw.items() if k not in _DIRECTIONS}
    for name in shared:
        if name not in _LINK_FIELDS:
            raise _unknown(f"links.{name}", str(name), [*_DIRECTIONS, *sorted(_LINK_FIELDS)])
    both = _section("links", LinkSection, shared)
    dirs = {d: _section(f"links.{d}", LinkSection, raw.get(d, {}), both) for d in _DIRECTIONS}
    return LinksSection(**dirs)


def _faults(raw: Any) -> tuple[FaultSection, ...]:
    if not isinstance(raw, (list, tuple)):
        raise ConfigError("faults", f"got {shown(raw)}; expected an array of tables ([[faults]])")
    out = []
    for i, item in enumerate(raw):
        fault = _section(f"faults[{i}]", FaultSection, item)
        if isinstance(item, Mapping) and "at_s" not in item:
            raise ConfigError(f"faults[{i}].at_s", "missing; every fault needs its time in s")
        out.append(fault)
    return tuple(out)


_MEMBER = re.compile(r"m([0-9]{1,9})", re.ASCII)  # m0, m1, ...: a member's index, in ASCII digits


def _check_whole(cfg: ScenarioConfig) -> None:
    for i, fault in enumerate(cfg.faults):
        named = _MEMBER.fullmatch(fault.member)
        if fault.member not in ("active", "standby") and named is None:
            raise ConfigError(
                f"faults[{i}].member", f"got {shown(fault.member)}; expected active, standby or m0, m1, ..."
            )
        site, members = ("cluster", cfg.cluster.members)
        if fault.target == "peer":
            site, members = ("peer", cfg.peer.members if cfg.peer.is_cluster else 1)
        if named is not None and int(named.group(1)) >= members:
            raise ConfigError(
                f"faults[{i}].member", f"got {fault.member!r}; the {site} has members m0..m{members - 1}"
            )
        if fault.target == "peer" and fault.kind == "crash" and not cfg.peer.is_cluster:
            raise ConfigError(f"faults[{i}].target", "got 'peer'; a peer crash needs peer.is_cluster = true")
        if fault.at_s > cfg.scenario.duration_s:
            raise ConfigError(
                f"faults[{i}].at_s",
                f"got {fault.at_s}; expected a time within scenario.duration_s = {cfg.scenario.duration_s}",
            )
    if 0 < cfg.policy.replay_window < 32:
        raise ConfigError(
            "policy.replay_window", f"got {cfg.policy.replay_window}; expected 0 (off) or 32..65536"
        )
    if not cfg.policy.esn and cfg.policy.skip_packets > 2**32 - 1:
        raise ConfigError(
            "policy.skip_packets",
            f"got {cfg.policy.skip_packets}; expected at most 2**32 - 1 (a 32-bit sequence number) "
            "unless policy.esn = true",
        )
    if cfg.peer.ike_window_size + max(cfg.policy.m1_margin, cfg.policy.p1_margin) > 2**31:
        raise ConfigError(
            "policy.m1_margin",
            f"window {cfg.peer.ike_window_size} + margin {max(cfg.policy.m1_margin, cfg.policy.p1_margin)} "
            "exceeds half the 32-bit Message ID space (2**31)",
        )
    _check_cluster_link(cfg)
    _check_strongswan_pair(cfg)
    crashes = sum(1 for f in cfg.faults if f.kind == "crash" and f.target == "cluster")
    if crashes >= cfg.cluster.members and cfg.membership.repair_s == 0:
        raise ConfigError(
            "faults",
            f"{crashes} crashes of the cluster need at least {crashes + 1} cluster.members, "
            f"got {cfg.cluster.members}",
        )


def _check_strongswan_pair(cfg: ScenarioConfig) -> None:
    """strongSwan's HA plugin pairs two nodes (charon.plugins.ha.local and remote)."""
    if cfg.membership.style != "strongswan":
        return
    sites = [("cluster.members", cfg.cluster.members)]
    if cfg.peer.is_cluster:
        sites.append(("peer.members", cfg.peer.members))
    for key, members in sites:
        if members > 2:
            raise ConfigError(
                key, f"got {members}; membership.style = 'strongswan' pairs two members (HA local and remote)"
            )


def _check_cluster_link(cfg: ScenarioConfig) -> None:
    """Keys that would be silently ignored: a Bernoulli loss beside a Gilbert-Elliott chain, a link of
    the advertisements' own that they do not cross."""
    if cfg.cluster_link.loss_model == "gilbert_elliott" and cfg.cluster.sync_loss > 0:
        raise ConfigError(
            "cluster.sync_loss",
            f"got {cfg.cluster.sync_loss}; with cluster_link.loss_model = 'gilbert_elliott' the loss is "
            "the chain's (cluster_link.ge_loss_good, ge_loss_bad): set 0",
        )
    if cfg.membership.link == "sync" and cfg.heartbeat_link != LinkSection():
        raise ConfigError(
            "heartbeat_link",
            "set, but membership.link = 'sync' sends the advertisements over the cluster link; "
            "set membership.link = 'own' to give them a link of their own",
        )


_CLUSTER_LINK_ELSEWHERE = {"latency_s": "cluster.sync_latency_s", "loss": "cluster.sync_loss"}


def _moved_keys(raw: Any) -> None:
    """The cluster link's latency and Bernoulli loss are [cluster] keys: say so rather than list keys."""
    if isinstance(raw, Mapping):
        for name, where in _CLUSTER_LINK_ELSEWHERE.items():
            if name in raw:
                raise ConfigError(f"cluster_link.{name}", f"the cluster link's {name} is {where}; set that")


def scenario_from_dict(d: Mapping[str, Any]) -> ScenarioConfig:
    """Validate a nested mapping (as read from TOML) into a ScenarioConfig; missing keys take defaults."""
    if not isinstance(d, Mapping):
        raise ConfigError("<root>", f"got {type(d).__name__}; expected a table")
    for name in d:
        if name not in _TOP_KEYS:
            raise _unknown(str(name), str(name), list(_TOP_KEYS))
    _moved_keys(d.get("cluster_link"))
    parts: dict[str, Any] = {n: _section(n, cls, d.get(n, {})) for n, cls in _SECTIONS.items()}
    parts["links"] = _links(d.get("links", {}))
    parts["faults"] = _faults(d.get("faults", []))
    cfg = ScenarioConfig(**parts)
    _check_whole(cfg)
    return cfg


def check_seed(value: Any, key: str = "seed") -> int:
    """A run's seed, checked as ``scenario.seed`` is (an integer in [0, 2**63 - 1]); ConfigError naming
    ``key`` otherwise (a float such as 1.5 would otherwise be cut to 1, a negative one fail deep inside)."""
    field = next(f for f in dataclasses.fields(ScenarioSection) if f.name == "seed")
    if hasattr(value, "__index__") and not isinstance(value, bool):
        value = value.__index__()  # a NumPy integer, as seeds drawn from a SeedSequence are
    return int(_coerce(key, value, field))


def load_scenario(path: str | Path) -> ScenarioConfig:
    """Read a scenario TOML file; a syntax error becomes a ConfigError naming the file."""
    p = Path(path)
    return scenario_from_dict(parse_toml(read_utf8(p, "a scenario (TOML)"), str(p)))


def config_to_dict(cfg: ScenarioConfig) -> dict[str, Any]:
    """The full resolved config as nested plain dicts and lists (JSON- and TOML-able)."""
    return cfg.to_dict()


def with_overrides(d: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Apply dotted-key overrides (``cluster.sync_interval_s``, ``faults[0].at_s``, ``links.loss``) to a copy.

    String values are read as TOML literals (so ``--set policy.esn=true`` works). ``links.<field>`` sets
    both directions. An unknown key raises ConfigError; the result still goes through scenario_from_dict.
    """
    import copy

    if not isinstance(d, Mapping):
        raise ConfigError("<root>", f"got {type(d).__name__}; expected a table")
    if not isinstance(overrides, Mapping):
        raise ConfigError("overrides", f"got {type(overrides).__name__}; expected a mapping of dotted keys")
    out: dict[str, Any] = copy.deepcopy(dict(d))
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ConfigError(shown(key), "expected a dotted key (a string), as in cluster.sync_interval_s")
        if isinstance(value, str):
            value = toml_literal(key, value)
        parts = key.split(".")
        if parts[0] == "links" and len(parts) == 2 and parts[1] in _LINK_FIELDS:
            links = _table(out, "links")
            links[parts[1]] = value
            for direction in _DIRECTIONS:
                if direction in links:
                    _table(links, direction, "links.")[parts[1]] = value
            continue
        _set_dotted(out, key, parts, value)
    return out


def _table(out: dict[str, Any], name: str, prefix: str = "") -> dict[str, Any]:
    """The table ``out[name]`` that an override goes into, made if missing; anything else there (a
    scenario's ``cluster = 5``, an earlier ``--set faults=[1]``) is refused as validation would."""
    table = out.setdefault(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}{name}", f"got {shown(table)}; expected a table")
    return table


_FAULT = re.compile(r"faults\[([0-9]{1,9})\]", re.ASCII)


def _set_dotted(out: dict[str, Any], key: str, parts: list[str], value: Any) -> None:
    head = parts[0]
    if head.startswith("faults[") and head.endswith("]"):
        index = _FAULT.fullmatch(head)
        if index is None:
            raise ConfigError(key, "fault index must be an integer, as in faults[0].at_s")
        idx = int(index.group(1))
        faults = out.setdefault("faults", [])
        if not isinstance(faults, list):
            raise ConfigError("faults", f"got {shown(faults)}; expected an array of tables ([[faults]])")
        if not 0 <= idx < len(faults):
            raise ConfigError(key, f"no fault {idx}; the scenario has {len(faults)}")
        if len(parts) != 2:
            raise ConfigError(key, "expected faults[i].<field>")
        _check_field(key, FaultSection, parts[1])
        fault = faults[idx]
        if not isinstance(fault, dict):
            raise ConfigError(f"faults[{idx}]", f"got {shown(fault)}; expected a table")
        fault[parts[1]] = value
        return
    if key == "faults":  # the whole schedule, e.g. --set 'faults=[]'
        out["faults"] = value
        return
    if head not in _TOP_KEYS or head == "faults":
        raise _unknown(key, head, list(_TOP_KEYS))
    if head == "links":
        if len(parts) != 3 or parts[1] not in _DIRECTIONS:
            raise ConfigError(key, f"expected links.<field> or links.<direction>.<field>, {_DIRECTIONS}")
        _check_field(key, LinkSection, parts[2])
        _table(_table(out, "links"), parts[1], "links.")[parts[2]] = value
        return
    if len(parts) != 2:
        raise ConfigError(key, f"expected {head}.<field>")
    if head == "cluster_link":
        _moved_keys({parts[1]: value})
    _check_field(key, _SECTIONS[head], parts[1])
    _table(out, head)[parts[1]] = value


def _check_field(key: str, cls: type, name: str) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    if name not in names:
        raise _unknown(key, name, names)


def describe_fields() -> list[dict[str, Any]]:
    """One row per scenario key: dotted key, default, unit, meaning, allowed values, source of the default."""
    rows: list[dict[str, Any]] = []
    tables: list[tuple[str, type]] = [*_SECTIONS.items(), ("links", LinkSection), ("faults[]", FaultSection)]
    for prefix, cls in tables:
        for f in dataclasses.fields(cls):
            m = f.metadata
            rows.append(
                {
                    "key": f"{prefix}.{f.name}",
                    "default": f.default,
                    "unit": m["unit"],
                    "doc": m["doc"],
                    "allowed": _describe(m, type(f.default)),
                    "source": m["source"],
                }
            )
    return rows
