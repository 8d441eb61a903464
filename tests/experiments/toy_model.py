"""A small analytic model for testing the sweep machinery (not the simulator).

``y = a * b + noise * N(0, 1)`` drawn from the run's seed, plus an integer count and a fraction, so
that the runner, statistics and plots can be checked against values worked out by hand.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hasim.experiments.model import Model, resolve_generic

BASE_TOML = """\
[scenario]
name = "toy"
duration_s = 10.0

[model]
a = 1.0
b = 2.0
noise = 0.5
fail_when_a = -1.0
sleep_s = 0.0
label = "plain"
"""


def run_toy(config: dict[str, Any], seed: int) -> dict[str, float | int]:
    """Metrics of the toy model; raises when ``a == fail_when_a`` (to test failed-run rows)."""
    m = config["model"]
    if m["sleep_s"]:
        time.sleep(m["sleep_s"])
    if m["a"] == m["fail_when_a"]:
        raise RuntimeError(f"toy model refuses a={m['a']}")
    rng = np.random.default_rng(seed)
    y = m["a"] * m["b"] + m["noise"] * float(rng.normal())
    return {"y": y, "count": int(rng.integers(0, 100)), "frac": float(rng.random()), "wall_time_s": 0.001}


def records_toy(config: dict[str, Any], seed: int) -> dict[str, list[dict[str, Any]]]:
    """A tiny timeline: a counter per node over time and three events."""
    rows: list[dict[str, Any]] = []
    for t in range(10):
        rows.append({"time": float(t), "node": "peer", "kind": "esp_seq_out", "value": 100 * t})
        rows.append(
            {"time": float(t), "node": "m1" if t < 5 else "m2", "kind": "esp_seq_out", "value": 100 * t}
        )
    rows += [
        {"time": 4.0, "node": "m1", "kind": "fault", "value": None},
        {"time": 6.0, "node": "m2", "kind": "takeover", "value": None},
    ]
    return {"timeline": rows}


TOY = Model(name="toy", run=run_toy, resolve=resolve_generic, records=records_toy)
