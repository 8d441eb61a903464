"""Scale: the remote-access gateway at 1,000 and 10,000 peers and the 100,000-peer SeGW, one failover each.

Each variant runs in its own process (so peak memories do not mix):
experiments/scenarios/remote_access_10k.toml with proactive and with lazy RFC 6311 sync at 10,000 peers
and proactive at 1,000, and experiments/scenarios/segw_100k.toml (the same mix at 100,000 peers) with
both. Printed per run: wall and CPU (user) seconds, simulated ESP packets per wall second, SimPy events
processed, the child's peak resident memory and the machine's load average when the run started (the
machine is shared: judge speed by CPU seconds, wall time by the load), and beside them the run-cost
estimate (hasim/sim/scenario/cost.py: CPU seconds, MiB, IKE messages) that `hasim run --dry-run` and
`hasim sweep` hold against their limits and a Dask worker's memory. Then the growth: CPU and wall
milliseconds per peer from 1,000 to 10,000 to 100,000 peers (flat is the target).

Targets: 10,000 peers at most 15 s wall and 1 GiB peak, both sync variants; 100,000 peers
at most 150 s wall and 8 GiB peak; cost per peer flat from 1,000 to 100,000.

    .venv/bin/python -m benchmarks scale                          # every size (also part of make bench)
    .venv/bin/python -m benchmarks.bench_scale --max-peers 10000  # without the 100,000-peer runs
    .venv/bin/python -m benchmarks.bench_scale --one 1000 proactive     # one run, JSON
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "experiments" / "scenarios"
RA10K = SCENARIOS / "remote_access_10k.toml"
SEGW100K = SCENARIOS / "segw_100k.toml"
RUNS = [
    (1_000, "proactive"),
    (10_000, "proactive"),
    (10_000, "lazy"),
    (100_000, "proactive"),
    (100_000, "lazy"),
]
# The 100,000-peer runs take about 5 minutes and 6.3 GiB each (docs/performance.md); `--max-peers
# 10000` leaves them out for a quicker look.
DEFAULT_MAX_PEERS = 100_000


def scenario_for(peers: int) -> Path:
    """The scenario file a size runs: the SeGW's from 100,000 peers on, else the 10,000-peer gateway's."""
    return SEGW100K if peers >= 100_000 else RA10K


def one(peers: int, sync: str) -> dict[str, float]:
    """Run the scenario once in this process; the figures of that run."""
    import simpy

    from benchmarks.memory import peak_mib
    from hasim.sim import load_scenario, scenario_from_dict, simulate, with_overrides
    from hasim.sim.scenario.cost import estimate_cost

    steps = [0]
    step = simpy.Environment.step

    def counting(env: simpy.Environment) -> None:
        steps[0] += 1
        step(env)

    simpy.Environment.step = counting  # type: ignore[method-assign,assignment]
    base = load_scenario(scenario_for(peers)).to_dict()
    cfg = scenario_from_dict(with_overrides(base, {"traffic.peers": peers, "policy.trigger": sync}))
    est = estimate_cost(cfg)
    load = os.getloadavg()[0]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    t0 = time.perf_counter()
    m = simulate(cfg, 1).metrics
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
    pkts = int(m["esp_out_sent"]) + int(m["esp_in_sent"])
    return {
        "wall_s": wall,
        "cpu_user_s": cpu,
        "peak_mib": peak_mib(),
        "load_1m": load,
        "sim_pkts": pkts,
        "sim_pkts_per_s": pkts / wall,
        "events": steps[0],
        "ike_messages": int(m["ike_messages"]),
        "sa_survival": float(m["sa_survival"]),
        "sync_completed": int(m["sync_exchanges_completed"]),
        "est_cpu_s": est.cpu_s,
        "est_mib": est.memory_bytes / 2**20,
        "est_ike_messages": est.ike_messages,
    }


def _child(peers: int, sync: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_scale", "--one", str(peers), sync],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(max_peers: int = DEFAULT_MAX_PEERS) -> None:
    """Print ``bench scale peers=... sync=... wall_s=... cpu_user_s=... peak_mib=... sim_pkts_per_s=...
    events=... load_1m=...`` per run up to ``max_peers``, then the growth per peer from 1,000 peers on."""
    proactive: dict[int, dict[str, float]] = {}
    for peers, sync in RUNS:
        if peers > max_peers:
            continue
        r = _child(peers, sync)
        if sync == "proactive":
            proactive[peers] = r
        print(
            f"bench scale peers={peers} sync={sync} wall_s={r['wall_s']:.2f} "
            f"cpu_user_s={r['cpu_user_s']:.2f} peak_mib={r['peak_mib']:.0f} "
            f"sim_pkts_per_s={r['sim_pkts_per_s']:.0f} events={r['events']} "
            f"sim_pkts={r['sim_pkts']} ike_messages={r['ike_messages']} sa_survival={r['sa_survival']:.4f} "
            f"load_1m={r['load_1m']:.2f} est_cpu_s={r['est_cpu_s']:.1f} est_mib={r['est_mib']:.0f} "
            f"est_ike_messages={r['est_ike_messages']:.0f}",
            flush=True,
        )
    sizes = sorted(proactive)
    if len(sizes) > 1:
        cpu = " ".join(f"cpu_ms_per_peer_{p}={proactive[p]['cpu_user_s'] / p * 1e3:.2f}" for p in sizes)
        wall = " ".join(f"wall_ms_per_peer_{p}={proactive[p]['wall_s'] / p * 1e3:.2f}" for p in sizes)
        mem = " ".join(f"kib_per_peer_{p}={proactive[p]['peak_mib'] / p * 1024:.1f}" for p in sizes)
        lo, hi = sizes[0], sizes[-1]
        ratio = (proactive[hi]["cpu_user_s"] / hi) / (proactive[lo]["cpu_user_s"] / lo)
        print(
            f"bench scale what=growth {cpu} {wall} {mem} cpu_per_peer_ratio_{hi}_vs_{lo}={ratio:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]), sys.argv[3])))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--max-peers", type=int, default=DEFAULT_MAX_PEERS, help="largest size to run")
        main(parser.parse_args().max_peers)
