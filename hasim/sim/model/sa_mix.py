"""Per-IKE-SA variety of a large gateway: how many Child SAs, how fast each one sends, when it rekeys.

RFC 6311 section 3.1 pictures a remote-access gateway with 10,000 clients; real clients differ. The
``[traffic]`` knobs ``child_sas_max``, ``rate_spread`` and ``rekey_jitter_s`` turn the uniform
population of the small scenarios into a mix: each IKE SA ``i`` gets ``children[i]`` Child SAs
(uniform in ``child_sas..child_sas_max``), a rate factor (log-uniform in ``[1/spread, spread]``) on
both nominal ESP rates, and a first rekey at ``rekey_interval_s - U[0, rekey_jitter_s)`` (strongSwan's
``rand_time``), so rekeys are staggered instead of all at once.

All draws come from one stream, ``traffic/sa_mix``, as three vectors over the SAs, and only when a knob
is off its default: with the defaults every SA has exactly the configured values (no float touched),
and no other stream moves either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hasim.sim.scenario.sections import TrafficSection
from hasim.sim.streams import RandomStreams


@dataclass(frozen=True)
class SaMix:
    """Child SA count, ESP rates (packets/s per Child SA and direction) and first rekey time per IKE SA."""

    children: tuple[int, ...]
    out_pps: tuple[float, ...]
    in_pps: tuple[float, ...]
    first_rekey_s: tuple[float, ...]

    @classmethod
    def draw(cls, t: TrafficSection, streams: RandomStreams) -> SaMix:
        """The mix of ``t.peers`` IKE SAs (see the module docstring)."""
        n = t.peers
        lo, hi = t.child_sas, max(t.child_sas, t.child_sas_max)
        varied = hi > lo or t.rate_spread > 1.0 or t.rekey_jitter_s > 0.0
        if not varied:
            return cls((lo,) * n, (t.esp_out_pps,) * n, (t.esp_in_pps,) * n, (t.rekey_interval_s,) * n)
        rng = streams.get("traffic", "sa_mix")
        u = rng.random((n, 3))
        children = (lo + np.floor(u[:, 0] * (hi - lo + 1)).astype(np.int64)).clip(lo, hi)
        if t.rate_spread > 1.0:
            factor = np.exp((2.0 * u[:, 1] - 1.0) * np.log(t.rate_spread))
            out_pps = (t.esp_out_pps * factor).tolist()
            in_pps = (t.esp_in_pps * factor).tolist()
        else:
            out_pps, in_pps = [t.esp_out_pps] * n, [t.esp_in_pps] * n
        first = np.maximum(t.rekey_interval_s - t.rekey_jitter_s * u[:, 2], 0.0)
        return cls(
            tuple(int(c) for c in children),
            tuple(float(x) for x in out_pps),
            tuple(float(x) for x in in_pps),
            tuple(float(x) for x in first) if t.rekey_jitter_s > 0 else (t.rekey_interval_s,) * n,
        )

    @property
    def total_child_sas(self) -> int:
        """Child SAs over all IKE SAs."""
        return int(sum(self.children))
