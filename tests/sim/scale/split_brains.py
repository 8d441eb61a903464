"""A small gateway whose lossy heartbeats split the cluster's brain again and again (repair after 2 s,
preemption), then a crash: the scenario the scaled engine's per-SA lookups are held to."""

from __future__ import annotations

from typing import Any


def split_brains(
    members: int, duration_s: float, crash_at_s: float, links: dict[str, float] | None = None
) -> dict[str, Any]:
    """Overrides for ``scenario(**...)``: ``members`` members, three peers with two Child SAs each."""
    config: dict[str, Any] = {
        "scenario": {"duration_s": duration_s},
        "cluster": {"members": members, "sync_interval_s": 0.4, "advertisement_interval_s": 0.1},
        "membership": {"repair_s": 2.0, "link": "own", "preempt": True},
        "heartbeat_link": {"loss": 0.4, "latency_s": 0.0005},
        "traffic": {
            "peers": 3,
            "child_sas": 2,
            "liveness_interval_s": 1.0,
            "rekey_interval_s": 3.0,
            "esp_out_pps": 200.0,
            "esp_in_pps": 100.0,
        },
        "faults": [{"at_s": crash_at_s, "member": "active"}],
    }
    if links is not None:
        config["links"] = links
    return config
