"""End-to-end simulator speed: one site-to-site tunnel, 100,000 ESP packets/s each way, one failover.

The vectorized run simulates 120 s; the same traffic through the plain SimPy packet-by-packet path
(one event per packet sent and per copy delivered, scalar anti-replay window: the reference the tests
keep) runs for 5 simulated seconds. Printed: simulated ESP packets per wall second of the vectorized
run (target >= 5 million), its ratio to the packet-by-packet rate (target >= 50), and the process's
peak resident memory after the vectorized run.
"""

from __future__ import annotations

import time

from benchmarks.memory import peak_mib, reset_peak
from hasim.sim.api import simulate
from hasim.sim.scenario.config import scenario_from_dict

RATE_PPS = 100_000.0


def _config(duration_s: float, crash_at_s: float | None) -> object:
    d: dict[str, object] = {
        "scenario": {"name": "bench_e2e", "duration_s": duration_s},
        "traffic": {"peers": 1, "child_sas": 1, "esp_out_pps": RATE_PPS, "esp_in_pps": RATE_PPS},
        "links": {"latency_s": 0.01},
    }
    if crash_at_s is not None:
        d["faults"] = [{"kind": "crash", "at_s": crash_at_s}]
    return scenario_from_dict(d)


def _rate(duration_s: float, crash_at_s: float | None, esp_path: str) -> tuple[float, int, float]:
    cfg = _config(duration_s, crash_at_s)
    start = time.perf_counter()
    m = simulate(cfg, 1, esp_path=esp_path).metrics  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    pkts = int(m["esp_out_sent"]) + int(m["esp_in_sent"])
    return pkts / wall, pkts, wall


def main() -> None:
    """Print ``bench e2e sim_pkts_per_s=... ratio_vs_simpy=... peak_mib=...``."""
    reset_peak()  # the benchmarks before this one ran in the same process
    vec_rate, vec_pkts, vec_wall = _rate(120.0, 60.5, "vectorized")
    peak = peak_mib()
    ref_rate, ref_pkts, ref_wall = _rate(5.0, None, "reference")
    print(
        f"e2e: vectorized {vec_pkts} packets in {vec_wall:.2f} s; "
        f"SimPy packet by packet {ref_pkts} packets in {ref_wall:.2f} s",
        flush=True,
    )
    print(
        f"bench e2e sim_pkts_per_s={vec_rate:.0f} simpy_pkts_per_s={ref_rate:.0f} "
        f"ratio_vs_simpy={vec_rate / ref_rate:.1f} peak_mib={peak:.1f} wall_s={vec_wall:.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
