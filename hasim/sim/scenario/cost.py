"""What a run will cost, worked out from its scenario before it starts: events, CPU time, peak memory.

Every key can be valid on its own while the run is absurd in effect: a sync every nanosecond, a
rekey every microsecond or a rate spread of 1e300 run until killed or fill the memory. So ``hasim
run`` and ``hasim sweep`` estimate first and refuse beyond their limits, naming the keys that drive
the cost. The estimate counts what the simulator does, from the scenario's keys alone:

- ESP packets: peers x mean Child SAs x (esp_out_pps + esp_in_pps) x mean rate factor (log-uniform in
  [1/s, s]: (s - 1/s) / (2 ln s)) x the on/off duty cycle x duration_s;
- IKE messages: liveness checks by each end, rekeys (every rekey_interval_s, and whenever a Child SA's
  outgoing counter passes rekey_counter_fraction of its space: at most once a sync round, when the
  counters are looked at), and the RFC 6311 sync exchanges after each takeover (a crash's, or a
  strongswan-style standby's whose heartbeat_timeout_s is shorter than the heartbeat interval: it
  takes over between two heartbeats, hears the master, steps down and times out again),
  over ``duration_s`` and the fate-deciding tail after it (hasim.sim.model.fates: an SA's IKE side runs
  on until its own fate is known, then its clocks stop; after the last crash that takes its detection
  and a liveness interval, and an SA given up after its retransmissions, about one in
  ``1 / LOST_PER_SA`` per crash in the remote-access runs, also the retransmission schedule of
  RFC 7296 2.1: the tail counts with that chance);
- sync updates: one per SA (IKE SA and its Child SAs) per sync round, one round per sync_interval_s;
- timer events: heartbeats and the periods of on/off traffic.

Events are their sum. CPU time and memory use per-item costs measured on the scaled engine (the
default path; calibration in benchmarks/bench_cost.py); they are meant to be right within a factor of
about two, enough to tell a minute from a day and 1 GB from 100 GB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hasim.errors import ConfigError
from hasim.sim.scenario.sections import ScenarioConfig

# Measured per-item costs (scaled engine, one core, 2026). ESP packets, IKE messages, sync updates and
# SAs: refitted at c5a8953 on remote_access_10k at 1,000, 10,000 and 30,000 peers (seed 1, proactive),
# each run's CPU (user and system) split by where it was spent: the flow bank's passes per ESP packet
# (0.38, 0.40 and 0.39 microseconds), set-up per SA, the periodic share per SA update, and the rest
# (IKE messages with the event loop around them) per IKE message as counted below (123, 146 and 157
# microseconds); each constant is the three runs' time over their count, so the estimate gives 4.4,
# 44 and 131 s for runs of 3.7, 42 and 135 s. Those ran beside other jobs, which adds up to a third
# (at 069698c, the machine quieter, the 10,000-peer run took 31.6 s of user time). The rest (a run's
# start, a sync round's fixed cost, timers): benchmarks/bench_cost.py, whose runs stress one cost
# each. The gateway's ESP costs more per packet than one tunnel's (0.16 microseconds at 200,000
# packets/s: the passes' arrays are long), so the estimate is on the safe side for few fast tunnels.
CPU_START_S = 0.02  # a run in a warm process; the first one also loads the simulator (about 0.25 s)
CPU_PER_ESP_S = 0.4e-6
# The per-SA world (event records asked for, an attacker, Gilbert-Elliott links: the scaled engine does
# not reproduce them, hasim.sim.scale.world.scaled_supported) runs ESP in batches per SA instead: about
# 5 microseconds a packet (remote_access and remote_access_10k at 200, 2,000 and 5,000 peers with
# Gilbert-Elliott links: 3.3, 43 and 110 s where the scaled engine takes 1.2, 4.5 and 10 s).
CPU_PER_ESP_PER_SA_WORLD_S = 5e-6
CPU_PER_IKE_MESSAGE_S = 0.15e-3
CPU_PER_SYNC_ROUND_S = 0.85e-3
CPU_PER_SYNC_UPDATE_S = 2.5e-6
CPU_PER_TIMER_S = 10e-6
CPU_PER_IKE_SA_S = 0.175e-3
CPU_PER_CHILD_SA_S = 0.105e-3
MEM_BASE = 60e6
MEM_PER_IKE_SA = 33e3
MEM_PER_CHILD_SA = 15e3
EPOCH_PACKETS_PER_FLOW = (
    192  # the scaled engine's epoch budget (hasim/sim/scale/world.py; a test holds them equal)
)
MEM_PER_SA_FLAP = 600.0  # what a flap (see flaps) leaves behind per SA: 80 MB for 667 flaps of 200 SAs
MEM_PER_ESP_PACKET = 48.0  # an offered packet the scaled engine holds (its epoch's: see held_packets)

LOST_PER_SA = 1e-3  # share of SAs given up on timeout after a crash (remote_access_10k: 1 to 16 in 1,000)

DEFAULT_MAX_EVENTS = 1e9
DEFAULT_MAX_CPU_S = 3600.0
DEFAULT_MAX_MEMORY = 8 * 2**30


@dataclass(frozen=True)
class Part:
    """One kind of work: how many, what it costs, and the keys scaling it (key, factor over default)."""

    count: float
    cpu_s: float
    factors: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RunCost:
    """The estimate for one run."""

    esp_packets: float
    ike_messages: float
    sync_updates: float
    timer_events: float
    cpu_s: float
    memory_bytes: float
    parts: dict[str, Part]

    @property
    def events(self) -> float:
        return self.esp_packets + self.ike_messages + self.sync_updates + self.timer_events

    def drivers(self, limit: str = "cpu") -> list[str]:
        """The keys that push the cost over ``limit`` ("events", "cpu" or "memory") most: those of the
        part that counts most for it, largest factor over its default first."""
        if limit == "memory":
            names = ["esp_packets", "sas"]
        elif limit == "events":
            names = [
                max(("esp_packets", "ike_messages", "sync", "timers"), key=lambda n: self.parts[n].count)
            ]
        else:
            names = [max(self.parts, key=lambda n: self.parts[n].cpu_s)]
        factors: dict[str, float] = {}
        for name in names:
            for key, f in self.parts[name].factors:
                factors[key] = max(factors.get(key, 0.0), f)
        big = sorted((k for k, f in factors.items() if f > 1), key=lambda k: -factors[k])
        return big[:3] or sorted(factors)[:3]


def _product(*xs: float) -> float:
    """A product that is 0 when any factor is (no inf * 0 = nan) and inf instead of an overflow."""
    if any(x == 0 for x in xs):
        return 0.0
    try:
        return math.exp(sum(math.log(x) for x in xs))
    except OverflowError:
        return math.inf


def mean_rate_factor(spread: float) -> float:
    """E[f] for f log-uniform in [1/spread, spread]."""
    if spread <= 1.0:
        return 1.0
    return (spread - 1 / spread) / (2 * math.log(spread))


def _synced_time(cfg: ScenarioConfig) -> float:
    """How long the cluster has a standby to sync to: until the crash that leaves none, if any."""
    crashes = sorted(
        f.at_s + f.jitter_s / 2 for f in cfg.faults if f.kind == "crash" and f.target == "cluster"
    )
    standbys = cfg.cluster.members - 1
    if standbys < 1:
        return 0.0
    if len(crashes) >= standbys:
        return min(cfg.scenario.duration_s, crashes[standbys - 1])
    return cfg.scenario.duration_s


def decide_tail(cfg: ScenarioConfig) -> float:
    """Expected simulated seconds one SA's IKE side runs past ``duration_s`` until its fate is decided
    (then its own clocks stop: hasim.sim.model.fates).

    After the last crash an SA is decided once each end completed an exchange after the takeover: by
    the crash plus its detection plus one liveness interval. An SA given up after its retransmissions
    runs on through the whole retransmission schedule (RFC 7296 2.1); weighted by its chance,
    ``LOST_PER_SA`` per crash. Both bounded by ``decide_within_s``.
    """
    crashes = [f.at_s + f.jitter_s / 2 for f in cfg.faults if f.kind == "crash"]
    if not crashes:
        return 0.0
    c, m, p = cfg.cluster, cfg.membership, cfg.policy
    detect = (
        (c.master_down_multiplier + 1) * c.advertisement_interval_s
        if m.style == "vrrp"
        else m.heartbeat_timeout_s
    )
    give_up = sum(p.retransmit_timeout_s * p.retransmit_base**k for k in range(p.retransmit_tries + 1))
    decided = max(crashes) + detect + cfg.traffic.liveness_interval_s
    bound, duration = cfg.scenario.decide_within_s, cfg.scenario.duration_s
    common = min(bound, max(0.0, decided - duration))
    lost = min(bound, max(0.0, decided + give_up - duration)) - common
    return common + LOST_PER_SA * len(crashes) * lost


def counter_rekeys(cfg: ScenarioConfig) -> float:
    """Rekeys of one Child SA because its outgoing counter used ``rekey_counter_fraction`` of the
    sequence space (2**32, or 2**64 with ESN): one per that many packets it sends, at most one per
    sync round (hasim.sim.model.world.check_counter_rekeys runs once a round)."""
    t = cfg.traffic
    duty = t.on_s / (t.on_s + t.off_s) if t.model == "onoff" else 1.0
    sent = _product(t.esp_out_pps, mean_rate_factor(t.rate_spread), duty, cfg.scenario.duration_s)
    per_rekey = t.rekey_counter_fraction * (2.0**64 if cfg.policy.esn else 2.0**32)
    rounds = cfg.scenario.duration_s / cfg.cluster.sync_interval_s
    return min(float(math.floor(sent / per_rekey)), rounds)


def flaps(cfg: ScenarioConfig) -> float:
    """Takeovers of a strongswan-style standby whose heartbeat_timeout_s is shorter than the heartbeat
    interval (cluster.advertisement_interval_s, strongSwan's heartbeat_delay): it times out between
    two heartbeats, takes over, the other member does the same, and so on: once per timeout and two
    round trips of the link the heartbeats cross (measured: 667 in 2 s at a 1 ms timeout and 0.5 ms
    latency; a 0.5 s timeout flaps about once per heartbeat, half this bound), at each site that is a
    cluster."""
    c, m = cfg.cluster, cfg.membership
    if m.style != "strongswan" or m.heartbeat_timeout_s >= c.advertisement_interval_s:
        return 0.0
    latency = c.sync_latency_s if m.link == "sync" else cfg.heartbeat_link.latency_s
    sites = (c.members > 1) + (cfg.peer.is_cluster and cfg.peer.members > 1)
    return sites * cfg.scenario.duration_s / (m.heartbeat_timeout_s + 4 * latency)


def held_packets(pps: float, flows: float, sync_interval_s: float) -> float:
    """Offered ESP packets the scaled engine holds at once: one epoch of all flows, the epoch as long as
    ``EPOCH_PACKETS_PER_FLOW`` packets a flow take (at most 30 s, at least two sync intervals;
    hasim/sim/scale/world.py), so memory follows the flows rather than the packet rate."""
    if pps <= 0:
        return 0.0
    epoch = max(2.0 * sync_interval_s, min(30.0, EPOCH_PACKETS_PER_FLOW * flows / pps))
    return _product(pps, epoch)


def _per_sa_keys(cfg: ScenarioConfig) -> tuple[tuple[str, float], ...]:
    """The keys that send a run to the per-SA world, as cost factors (CPU per packet over the scaled
    engine's), for the message; none when it is the caller's records that do."""
    factor = CPU_PER_ESP_PER_SA_WORLD_S / CPU_PER_ESP_S
    links = (cfg.links.cluster_to_peer, cfg.links.peer_to_cluster)
    keys = [("attacker.enabled", factor)] if cfg.attacker.enabled else []
    if any(lk.loss_model != "bernoulli" for lk in links):
        keys.append(("links.loss_model", factor))
    return tuple(keys)


def estimate_cost(cfg: ScenarioConfig, scaled: bool = True) -> RunCost:
    """The estimate for ``cfg`` (validated, so every number is finite and in range) on the scaled engine,
    or with ``scaled`` False on the per-SA world (the caller knows which runs it:
    hasim.sim.scale.world.scaled_supported, a floor above this one)."""
    t = cfg.traffic
    duration = cfg.scenario.duration_s
    ike_time = duration + decide_tail(cfg)  # an SA's IKE side runs on while its fate is open
    child = (t.child_sas + t.child_sas_max) / 2 if t.child_sas_max > t.child_sas else float(t.child_sas)
    child_key = "traffic.child_sas_max" if t.child_sas_max > t.child_sas else "traffic.child_sas"
    rate = t.esp_out_pps + t.esp_in_pps
    spread = mean_rate_factor(t.rate_spread)
    duty = t.on_s / (t.on_s + t.off_s) if t.model == "onoff" else 1.0
    esp = _product(t.peers, child, rate, spread, duty, duration)
    long = ("scenario.duration_s", duration / 60)
    per_sa = () if scaled else _per_sa_keys(cfg)
    esp_part = Part(
        esp,
        esp * (CPU_PER_ESP_S if scaled else CPU_PER_ESP_PER_SA_WORLD_S),
        (
            ("traffic.peers", t.peers),
            (child_key, child),
            ("traffic.esp_out_pps", rate / 2000),
            ("traffic.rate_spread", spread),
            long,
            *per_sa,
        ),
    )
    ends = 2 * (cfg.peer.members if cfg.peer.is_cluster else 1)
    live = _product(t.peers, 2 * ends, ike_time, 1 / t.liveness_interval_s) if t.liveness_interval_s else 0.0
    rekey = _product(t.peers, child, 4, ike_time, 1 / t.rekey_interval_s) if t.rekey_interval_s else 0.0
    by_counter = _product(t.peers, child, 4, counter_rekeys(cfg))
    crashes = sum(1 for f in cfg.faults if f.kind == "crash")
    flapping = flaps(cfg)
    # a crash's takeover: a sync exchange (4 messages) per SA; a flap rarely lets one finish: about one
    # message per SA (measured 0.06 to 0.13 ms of CPU per SA and flap at 200 and 20 peers)
    takeover = _product(t.peers, 4 * crashes + flapping)
    ike = live + rekey + by_counter + takeover
    drivers: list[tuple[float, tuple[tuple[str, float], ...]]] = [
        (
            live,
            (("traffic.liveness_interval_s", 30 / t.liveness_interval_s if t.liveness_interval_s else 0.0),),
        ),
        (
            rekey,
            (
                (child_key, child),
                ("traffic.rekey_interval_s", 3600 / t.rekey_interval_s if t.rekey_interval_s else 0.0),
            ),
        ),
        (
            by_counter,
            ((child_key, child), ("traffic.rekey_counter_fraction", 0.9 / t.rekey_counter_fraction)),
        ),
        (
            _product(t.peers, flapping),
            (("membership.heartbeat_timeout_s", 2.1 / cfg.membership.heartbeat_timeout_s),),
        ),
    ]
    ike_part = Part(
        ike,
        ike * CPU_PER_IKE_MESSAGE_S,
        (("traffic.peers", t.peers), long) + max(drivers, key=lambda d: d[0])[1],
    )
    rounds = _product(_synced_time(cfg), 1 / cfg.cluster.sync_interval_s)
    sas = _product(t.peers, 1 + child)
    updates = _product(rounds, 1 + child, t.peers)
    sync_part = Part(
        rounds + updates,
        rounds * CPU_PER_SYNC_ROUND_S + updates * CPU_PER_SYNC_UPDATE_S,
        (("cluster.sync_interval_s", 1 / cfg.cluster.sync_interval_s), ("traffic.peers", t.peers), long),
    )
    beats = _product(duration, cfg.cluster.members, 1 / cfg.cluster.advertisement_interval_s)
    periods = _product(t.peers, child, 2, duration, 1 / (t.on_s + t.off_s)) if t.model == "onoff" else 0.0
    timer_part = Part(
        beats + periods,
        (beats + periods) * CPU_PER_TIMER_S,
        (
            ("cluster.advertisement_interval_s", 1 / cfg.cluster.advertisement_interval_s),
            ("traffic.on_s", 2 / (t.on_s + t.off_s)),
            ("traffic.peers", t.peers),
            long,
        ),
    )
    sa_part = Part(
        sas,
        t.peers * CPU_PER_IKE_SA_S + _product(t.peers, child) * CPU_PER_CHILD_SA_S,
        (("traffic.peers", t.peers), (child_key, child)),
    )
    parts = {
        "esp_packets": esp_part,
        "ike_messages": ike_part,
        "sync": sync_part,
        "timers": timer_part,
        "sas": sa_part,
    }
    pps = _product(t.peers, child, rate, spread)
    memory = (
        MEM_BASE
        + t.peers * MEM_PER_IKE_SA
        + _product(t.peers, child) * MEM_PER_CHILD_SA
        + min(held_packets(pps, _product(t.peers, child, 2), cfg.cluster.sync_interval_s), esp)
        * MEM_PER_ESP_PACKET
        + _product(t.peers, flapping, MEM_PER_SA_FLAP)
    )
    cpu = CPU_START_S + sum(p.cpu_s for p in parts.values())
    return RunCost(esp, ike, updates + rounds, beats + periods, cpu, memory, parts)


@dataclass(frozen=True)
class Limits:
    """What a run may cost before it is refused (``--max-events``, ``--max-cpu``, ``--max-memory``)."""

    events: float = DEFAULT_MAX_EVENTS
    cpu_s: float = DEFAULT_MAX_CPU_S
    memory_bytes: float = DEFAULT_MAX_MEMORY


def _si(x: float) -> str:
    return f"{x:.3g}" if x < 1e4 else f"{x:.2e}"


def describe(cost: RunCost) -> str:
    """One line: the figures of the estimate."""
    return (
        f"{_si(cost.events)} events ({_si(cost.esp_packets)} ESP packets, {_si(cost.ike_messages)} IKE "
        f"messages, {_si(cost.sync_updates)} sync updates, {_si(cost.timer_events)} timer events), "
        f"about {format_seconds(cost.cpu_s)} CPU, peak memory about {format_bytes(cost.memory_bytes)}"
    )


def format_seconds(s: float) -> str:
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 86400 * 365:
        return f"{s / 3600:.3g} h"
    return f"{_si(s / (86400 * 365))} years"


def format_bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{_si(n / size)} {unit}"
    return f"{n / 1e3:.3g} kB"


def check_cost(cost: RunCost, limits: Limits) -> None:
    """ConfigError naming the driving keys when ``cost`` exceeds ``limits``."""
    over = []
    exceeded = []
    if cost.events > limits.events:
        exceeded.append("events")
        over.append(f"{_si(cost.events)} events > --max-events {_si(limits.events)}")
    if cost.cpu_s > limits.cpu_s:
        exceeded.append("cpu")
        over.append(f"about {format_seconds(cost.cpu_s)} CPU > --max-cpu {_si(limits.cpu_s)} s")
    memory = cost.memory_bytes > limits.memory_bytes
    if memory:
        exceeded.append("memory")
        mem, limit = format_bytes(cost.memory_bytes), format_bytes(limits.memory_bytes)
        over.append(f"peak memory about {mem} > --max-memory {limit}")
    if not over:
        return
    keys = cost.drivers(exceeded[0])
    raise ConfigError(
        ", ".join(keys),
        f"the run would cost {'; '.join(over)}; change these keys, raise the limit or use --force",
    )
