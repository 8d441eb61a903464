"""The run-cost estimate against measurement: CPU time and peak memory of runs that stress one cost each.

The per-item costs in hasim/sim/scenario/cost.py come from these runs (one fresh child process each,
so that the peak memory is the run's own, after a one-second warm-up run that loads the simulator, as
in a sweep's worker). Each line prints the measured figure beside the estimate and their ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "esp_2e5pps": {"traffic": {"esp_out_pps": 1e5, "esp_in_pps": 1e5}},
    "esp_2e5pps_600s": {
        "traffic": {"esp_out_pps": 1e5, "esp_in_pps": 1e5},
        "scenario": {"duration_s": 600.0},
    },
    "peers_1000": {"traffic": {"peers": 1000, "esp_out_pps": 20.0, "esp_in_pps": 20.0}},
    "peers_10000": {
        "traffic": {"peers": 10000, "esp_out_pps": 1.0, "esp_in_pps": 1.0},
        "scenario": {"duration_s": 10.0},
    },
    "peers_10000_child_4": {
        "traffic": {"peers": 10000, "child_sas": 4, "esp_out_pps": 1.0, "esp_in_pps": 1.0},
        "scenario": {"duration_s": 10.0},
    },
    "sync_1ms": {"cluster": {"sync_interval_s": 0.001}},
    "sync_10ms_peers_1000": {
        "cluster": {"sync_interval_s": 0.01},
        "traffic": {"peers": 1000, "esp_out_pps": 1.0, "esp_in_pps": 1.0},
    },
    "liveness_1s_peers_1000": {
        "traffic": {"peers": 1000, "esp_out_pps": 1.0, "esp_in_pps": 1.0, "liveness_interval_s": 1.0}
    },
    "onoff_1ms": {"traffic": {"model": "onoff", "on_s": 0.001, "off_s": 0.001}},
}

_CHILD = """
import json, sys, time
from benchmarks.memory import peak_mib, reset_peak
from hasim.sim import scenario_from_dict, simulate
from hasim.sim.scenario.cost import estimate_cost
cfg = scenario_from_dict(json.loads(sys.argv[1]))
simulate(scenario_from_dict({"scenario": {"duration_s": 1.0}}), 0)  # load the simulator: a warm process
reset_peak()
start = time.process_time()
simulate(cfg, 1)
cpu = time.process_time() - start
est = estimate_cost(cfg)
mib = est.memory_bytes / 2**20
print(json.dumps({"cpu_s": cpu, "peak_mib": peak_mib(), "est_cpu_s": est.cpu_s, "est_mib": mib}))
"""


def main() -> None:
    """One ``bench cost case=... cpu_s=... est_cpu_s=... peak_mib=... est_mib=...`` line per case."""
    for name, overrides in CASES.items():
        config = {**overrides, "faults": [{"kind": "crash", "at_s": 5.0}]}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(config)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout)
        print(
            f"bench cost case={name} cpu_s={r['cpu_s']:.2f} est_cpu_s={r['est_cpu_s']:.2f} "
            f"cpu_ratio={r['est_cpu_s'] / r['cpu_s']:.2f} peak_mib={r['peak_mib']:.0f} "
            f"est_mib={r['est_mib']:.0f} mem_ratio={r['est_mib'] / r['peak_mib']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
