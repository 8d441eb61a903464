"""Set-up of the scaled engine per peer: what building remote_access_10k costs before the first event.

Each size runs in its own process: the scenario's world is built (IKE SAs, ESP flows, their named
random streams, SimPy processes, the flow bank with its first epoch of offered times and link draws)
and the process reports the CPU (user) seconds of the build and the resident memory it added, in all
and per peer. Target: both per-peer figures flat from 1,000 to 100,000 peers.

    .venv/bin/python -m benchmarks setup
    .venv/bin/python -m benchmarks.bench_setup --one 10000      # one size, JSON
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "experiments" / "scenarios" / "remote_access_10k.toml"
SIZES = [1_000, 10_000]


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def one(peers: int) -> dict[str, float]:
    """Build the scenario's scaled world at ``peers`` peers in this process; the figures of the build."""
    from hasim.sim import load_scenario, scenario_from_dict, with_overrides
    from hasim.sim.gc_policy import collector_held_back
    from hasim.sim.scale.world import ScaledWorld

    cfg = scenario_from_dict(with_overrides(load_scenario(SCENARIO).to_dict(), {"traffic.peers": peers}))
    before = _rss_mib()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    world = ScaledWorld(cfg, 1)
    with collector_held_back():  # as in a run: no collection during set-up
        world.build()
        # read before the collector is back: its first (young) collection would look at every object
        # set-up made (0.6 s at 10,000 peers), a pass no run makes (the run goes on with it off)
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
        added = _rss_mib() - before
    return {
        "cpu_user_s": cpu,
        "rss_added_mib": added,
        "kib_per_peer": added * 1024.0 / peers,
        "cpu_ms_per_peer": cpu * 1000.0 / peers,
        "epoch_s": world.bank.epoch_s,
    }


def main() -> None:
    """Print ``bench setup peers=... cpu_user_s=... rss_added_mib=... kib_per_peer=...`` per size."""
    for peers in SIZES:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_setup", "--one", str(peers)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"bench setup peers={peers} cpu_user_s={r['cpu_user_s']:.2f} "
            f"cpu_ms_per_peer={r['cpu_ms_per_peer']:.3f} rss_added_mib={r['rss_added_mib']:.0f} "
            f"kib_per_peer={r['kib_per_peer']:.1f} epoch_s={r['epoch_s']:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
    else:
        main()
