"""A small analytic model for testing the sweep machinery (not the simulator).

``y = a * b + noise * N(0, 1)`` drawn from the run's seed, plus an integer count and a fraction, so
that the runner, statistics and plots can be checked against values worked out by hand.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from hasim.experiments.metric_kinds import COUNT, DURATION, FRACTION, PROPORTION, VALUE
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
p = 0.5
"""


def run_toy(config: dict[str, Any], seed: int) -> dict[str, float | int]:
    """Metrics of the toy model; raises when ``a == fail_when_a`` (to test failed-run rows)."""
    m = config["model"]
    if m["sleep_s"]:
        time.sleep(m["sleep_s"])
    if m["a"] == m["fail_when_a"]:
        raise RuntimeError(f"toy model refuses a={m['a']}")
    if m["label"] == "die":  # the whole worker process dies, as on SIGKILL or a crash in C
        os._exit(3)
    rng = np.random.default_rng(seed)
    y = m["a"] * m["b"] + m["noise"] * float(rng.normal())
    count, frac = int(rng.integers(0, 100)), float(rng.random())
    hit = int(rng.random() < m["p"])  # a Bernoulli(p) trial: one SA that survives or not
    return {"y": y, "count": count, "frac": frac, "hit": hit, "wall_time_s": 0.001}


def records_toy(config: dict[str, Any], seed: int) -> dict[str, list[dict[str, Any]]]:
    """Records shaped like the simulator's: IKE requests, a sync exchange, drops and failover events."""
    ike = [
        {
            "time": 1.0 + 4 * k,
            "src": "peer",
            "dst": "cluster",
            "sa": 0,
            "message_id": k,
            "response": False,
            "notifies": "",
            "lost": False,
        }
        for k in range(4)
    ]
    ike += [
        {
            "time": 2.0,
            "src": "cluster.m0",
            "dst": "peer",
            "sa": 0,
            "message_id": 0,
            "response": False,
            "notifies": "",
            "lost": False,
        },
        {
            "time": 6.1,
            "src": "cluster.m1",
            "dst": "peer",
            "sa": 0,
            "message_id": 0,
            "response": False,
            "notifies": "IKEV2_MESSAGE_ID_SYNC(nonce=0x1, send=1, recv=2)",
            "lost": False,
        },
    ]
    sync = [{"time": 6.1, "node": "cluster.m1", "sa": 0, "kind": "sync_sent", "m1": 1, "p1": 2}]
    drops = [
        {
            "time": 4.5,
            "node": "cluster",
            "sa": 0,
            "what": "esp:0x1",
            "reason": "no_receiver",
            "count": 900,
            "message_id": -1,
        },
        {
            "time": 6.2,
            "node": "peer",
            "sa": 0,
            "what": "esp:0x2",
            "reason": "replay",
            "count": 12,
            "message_id": -1,
        },
        {
            "time": 6.3,
            "node": "cluster.m1",
            "sa": 0,
            "what": "ike",
            "reason": "out_of_window",
            "count": 1,
            "message_id": 1,
        },
    ]
    timeline = [
        {"time": 4.0, "node": "cluster.m0", "kind": "crash", "value": 0, "sa": -1},
        {"time": 6.1, "node": "cluster.m1", "kind": "takeover", "value": 1, "sa": -1},
        {"time": 6.1, "node": "cluster.m1", "kind": "takeover", "value": "since_sync_s=0.6", "sa": 0},
        {"time": 6.1, "node": "cluster.m1", "kind": "sync_sent", "value": "m1=1;p1=2", "sa": 0},
    ]
    counters = [
        {"time": 3.0, "node": "cluster.m0", "sa": 0, "view": "live", "esp_out_seq": 3000, "esp_in_top": 2990},
        {
            "time": 3.0,
            "node": "cluster.m1",
            "sa": 0,
            "view": "standby",
            "esp_out_seq": 2500,
            "esp_in_top": 2490,
        },
        {"time": 3.0, "node": "peer", "sa": 0, "view": "live", "esp_out_seq": 2995, "esp_in_top": 2998},
        {
            "time": 6.1,
            "node": "cluster.m1",
            "sa": 0,
            "view": "imported",
            "esp_out_seq": 2500,
            "esp_in_top": 2490,
        },
        {"time": 6.1, "node": "cluster.m1", "sa": 0, "view": "live", "esp_out_seq": 3600, "esp_in_top": 3590},
    ]
    return {
        "ike_messages": ike,
        "sync_exchanges": sync,
        "drops": drops,
        "timeline": timeline,
        "counters": counters,
    }


TOY_KINDS = {"y": VALUE, "count": COUNT, "frac": FRACTION, "hit": PROPORTION, "wall_time_s": DURATION}
TOY = Model(name="toy", run=run_toy, resolve=resolve_generic, records=records_toy, kinds=TOY_KINDS)
