"""Scale: the 10,000-peer remote-access gateway (experiments/scenarios/remote_access_10k.toml), one failover.

Each variant runs in its own process (so peak memories do not mix): the scenario with proactive and with
lazy RFC 6311 sync at 10,000 peers, and proactive at 100 and 1,000 peers for the growth. Printed per run:
wall and CPU (user) seconds, simulated ESP packets per wall second, SimPy events processed, and the
child's peak resident memory. Targets: at most 60 s wall and 4 GiB per 10,000-peer variant
on one core; wall time close to linear in peers.

    .venv/bin/python -m benchmarks scale
    .venv/bin/python -m benchmarks.bench_scale --one 1000 proactive     # one run, JSON
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "experiments" / "scenarios" / "remote_access_10k.toml"
RUNS = [(10_000, "proactive"), (10_000, "lazy"), (100, "proactive"), (1_000, "proactive")]


def one(peers: int, sync: str) -> dict[str, float]:
    """Run the scenario once in this process; the figures of that run."""
    import simpy

    from benchmarks.memory import peak_mib
    from hasim.sim import load_scenario, scenario_from_dict, simulate, with_overrides

    steps = [0]
    step = simpy.Environment.step

    def counting(env: simpy.Environment) -> None:
        steps[0] += 1
        step(env)

    simpy.Environment.step = counting  # type: ignore[method-assign,assignment]
    cfg = scenario_from_dict(
        with_overrides(load_scenario(SCENARIO).to_dict(), {"traffic.peers": peers, "policy.trigger": sync})
    )
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
        "sim_pkts": pkts,
        "sim_pkts_per_s": pkts / wall,
        "events": steps[0],
        "ike_messages": int(m["ike_messages"]),
        "sa_survival": float(m["sa_survival"]),
        "sync_completed": int(m["sync_exchanges_completed"]),
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


def main() -> None:
    """Print ``bench scale peers=... sync=... wall_s=... cpu_user_s=... peak_mib=... sim_pkts_per_s=...
    events=...`` per run, then the growth per peer from 100 to 10,000 peers."""
    walls: dict[int, float] = {}
    for peers, sync in RUNS:
        r = _child(peers, sync)
        if sync == "proactive":
            walls[peers] = r["wall_s"]
        print(
            f"bench scale peers={peers} sync={sync} wall_s={r['wall_s']:.2f} "
            f"cpu_user_s={r['cpu_user_s']:.2f} peak_mib={r['peak_mib']:.0f} "
            f"sim_pkts_per_s={r['sim_pkts_per_s']:.0f} events={r['events']} "
            f"sim_pkts={r['sim_pkts']} ike_messages={r['ike_messages']} sa_survival={r['sa_survival']:.4f}",
            flush=True,
        )
    if 100 in walls and 10_000 in walls:
        per = {p: walls[p] / p * 1000.0 for p in sorted(walls)}
        growth = " ".join(f"ms_per_peer_{p}={v:.2f}" for p, v in per.items())
        print(
            f"bench scale what=growth {growth} ratio_10000_vs_100={walls[10_000] / walls[100]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]), sys.argv[3])))
    else:
        main()
