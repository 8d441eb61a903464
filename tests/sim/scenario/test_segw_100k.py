"""experiments/scenarios/segw_100k.toml: it loads and validates, it is remote_access_10k.toml's mix at ten
times the SAs (and ten times the sync capacity), and every number its header states is recomputed here
from its keys (the master-down interval by RFC 5798 6.1, the rekey share from the uniform jitter, the
cost estimate by hasim.sim.scenario.cost), so the prose cannot drift from the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hasim.cli import cli, main
from hasim.sim.scenario.config import load_scenario
from hasim.sim.scenario.cost import DEFAULT_MAX_MEMORY, describe, estimate_cost

SCENARIOS = Path(__file__).resolve().parents[3] / "experiments" / "scenarios"
SEGW = SCENARIOS / "segw_100k.toml"
RA10K = SCENARIOS / "remote_access_10k.toml"
# What may differ from the 10,000-peer gateway: its name and seed, and what is scaled by ten.
SCALED = {"scenario.name", "scenario.seed", "traffic.peers", "cluster.sync_capacity_per_s"}


def _header() -> str:
    """The leading comment block as one line of single-spaced prose."""
    lines = []
    for line in SEGW.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(" ".join(lines).split())


def _flat(d: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_it_is_the_10k_mix_with_ten_times_the_sas_and_the_sync_capacity() -> None:
    segw, ra = load_scenario(SEGW), load_scenario(RA10K)
    assert segw.scenario.name == "segw_100k"
    a, b = _flat(segw.to_dict()), _flat(ra.to_dict())
    assert {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} == SCALED
    assert segw.traffic.peers == 10 * ra.traffic.peers == 100_000
    assert segw.cluster.sync_capacity_per_s == 10 * ra.cluster.sync_capacity_per_s
    assert [f.kind for f in segw.faults] == ["crash"]


def test_every_number_of_the_header_follows_from_the_keys() -> None:
    cfg = load_scenario(SEGW)
    c, t = cfg.cluster, cfg.traffic
    text = _header()
    assert cfg.membership.style == "vrrp"
    skew = (256 - cfg.membership.priority) * c.advertisement_interval_s / 256  # RFC 5798 6.1
    expected = [
        f"{t.peers:,} IKE SAs",
        f"crashes at {cfg.faults[0].at_s:g} s",
        f"{c.master_down_multiplier} x {c.advertisement_interval_s:g} s + {skew:.3f} s skew",
        f"{t.peers:,} / {c.sync_capacity_per_s:,.0f} = {t.peers / c.sync_capacity_per_s:g} s of exchanges",
        f"has {t.child_sas} or {t.child_sas_max} Child SAs",
        f"[1/{t.rate_spread:g}, {t.rate_spread:g}]",
        f"nominal {t.esp_out_pps:g} packets/s cluster -> peer and {t.esp_in_pps:g} packets/s peer -> cluster",
        f"from {t.esp_out_pps / t.rate_spread:g} to {t.esp_out_pps * t.rate_spread:g} and from "
        f"{t.esp_in_pps / t.rate_spread:g} to {t.esp_in_pps * t.rate_spread:g} ESP packets/s",
        f"every {t.liveness_interval_s:g} s by each end",
        f"at {t.rekey_interval_s:g} s - U[0, {t.rekey_jitter_s:g} s)",
    ]
    # first rekey uniform in (rekey - jitter, rekey]: the share due before duration_s
    first = t.rekey_interval_s - t.rekey_jitter_s
    share = min(1.0, max(0.0, (cfg.scenario.duration_s - first) / t.rekey_jitter_s))
    expected.append(f"{share:.0%} of the SAs rekey during the {cfg.scenario.duration_s:g} s of ESP")
    cost = estimate_cost(cfg)
    expected.append(f"estimate: {describe(cost)}")
    over = cost.memory_bytes > DEFAULT_MAX_MEMORY
    expected.append(
        f"{'above' if over else 'within'} the default --max-memory ({DEFAULT_MAX_MEMORY / 2**30:g}GiB)"
    )
    missing = [e for e in expected if e not in text]
    assert not missing, f"{SEGW.name}'s header does not say (recompute it): {missing}"


def test_dry_run_prints_the_estimate_and_a_memory_limit_below_it_refuses_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    res = CliRunner().invoke(cli, ["run", str(SEGW), "--dry-run"])
    assert res.exit_code == 0, res.output
    line = res.output.strip()
    assert line == f"scenario segw_100k: {describe(estimate_cost(load_scenario(SEGW)))}"
    assert re.search(r"events \(.* ESP packets, .* IKE messages.*\), about .* CPU, peak memory about ", line)
    # a limit below the estimate refuses it before it starts: one line naming the keys behind the memory
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(SEGW), "--max-memory", "1GiB"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-memory" in err[0] and "traffic.peers" in err[0]
