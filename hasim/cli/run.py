"""``hasim run SCENARIO.toml``: run one scenario and print its metrics, its IKE ladder or a pcap.

``--set key=value`` overrides any scenario key (dotted, validated like the file); ``--json`` prints
one JSON object; ``--trace`` prints the IKE message ladder (time, from, to, exchange, Message ID,
notifies with their values) with faults and takeovers between the messages; ``--pcap FILE`` writes
the IKE messages and a sample of ESP headers, plus ``FILE.keys`` (Wireshark's
ikev2_decryption_table) so that tshark decrypts the SK payloads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from hasim.cli.examples import complete_example
from hasim.cli.limits import cost_options, limits_from
from hasim.errors import ConfigError, check_writable
from hasim.sim.scenario.cost import RunCost

CLUSTER_ADDR = "192.0.2.1"


def peer_addr(i: int) -> str:
    """The peer of IKE SA ``i``: 198.51.100.x for the first 250, then 10.x.y.z."""
    if i < 250:
        return f"198.51.100.{i + 1}"
    n = i + 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def parse_sets(pairs: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` strings into a dict; a pair without ``=`` is a ConfigError naming it."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(pair, "expected --set key=value, e.g. --set cluster.sync_interval_s=0.5")
        out[key.strip()] = value.strip()
    return out


def parse_seed(text: str) -> int:
    """``--seed``: an integer in [0, 2**63), like ``scenario.seed``."""
    try:
        value = int(text)
    except ValueError:
        raise ConfigError("--seed", f"expected an integer, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise ConfigError("--seed", f"got {value}; expected an integer in [0, 2**63)")
    return value


def cost_dict(cost: RunCost) -> dict[str, float]:
    """The estimate's figures for --json."""
    return {
        "events": cost.events,
        "esp_packets": cost.esp_packets,
        "ike_messages": cost.ike_messages,
        "sync_updates": cost.sync_updates,
        "timer_events": cost.timer_events,
        "cpu_s": cost.cpu_s,
        "memory_bytes": cost.memory_bytes,
    }


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def format_metrics(name: str, seed: int, metrics: dict[str, float | int]) -> str:
    """The metrics as an aligned two-column table."""
    width = max(len(k) for k in metrics)
    lines = [f"scenario {name}  seed {seed}", ""]
    for k, v in metrics.items():
        text = ("nan" if math.isnan(v) else f"{v:.6g}") if isinstance(v, float) else str(v)
        lines.append(f"{k:<{width}}  {text:>14}")
    return "\n".join(lines)


def _clock(t: float, clock: str) -> str:
    """A ladder time: seconds, or a step number (``hasim explore``'s abstract time, clock "step")."""
    return f"{int(t):10d}" if clock == "step" else f"{t:10.4f}"


EXPLORE_MARKS = {
    "timer",
    "state_copy",
    "request",
    "esp_sent",
    "duplicate",
    "share_lost",
    "dropped",
    "violated",
}
AFTER_MESSAGE = {"dropped", "violated"}
"""Marks shown after the message of their step: what the receiver did with it."""
"""Marks only ``hasim explore`` writes (its steps), shown like the simulator's own."""


def format_trace(records: dict[str, list[dict[str, Any]]], clock: str = "time_s") -> str:
    """The IKE ladder, with crash/detection/takeover lines where they happen; ``clock`` names the
    time column (``step`` for ``hasim explore``)."""
    rows: list[tuple[float, int, str]] = []
    for r in records.get("ike_messages", []):
        kind = "resp" if r["response"] else "req "
        lost = "  (lost)" if r["lost"] else ""
        rows.append(
            (
                r["time"],
                1,
                f"{_clock(r['time'], clock)}  {r['src']:>11} -> {r['dst']:<11} sa={r['sa']:<3} "
                f"{r['exchange']:<15} mid={r['message_id']:<4} {kind} {r['notifies']}{lost}".rstrip(),
            )
        )
    marks = {"crash", "takeover", "grace_end", "loss_burst", "partition", "sa_unknown", "replay_accepted"}
    marks |= EXPLORE_MARKS
    for r in records.get("timeline", []):
        if (r["kind"] in marks and r["sa"] == -1) or r["kind"] in ("sa_unknown", "replay_accepted"):
            order = 3 if r["kind"] in AFTER_MESSAGE else 0
            rows.append(
                (r["time"], order, f"{_clock(r['time'], clock)}  == {r['node']} {r['kind']} {r['value']}")
            )
        elif r["kind"] == "deleted":
            rows.append(
                (
                    r["time"],
                    2,
                    f"{_clock(r['time'], clock)}  == {r['node']} IKE SA {r['sa']} deleted ({r['value']})",
                )
            )
    rows.sort(key=lambda x: (x[0], x[1]))
    head = f"{clock:>10}  {'from':>11} -> {'to':<11} {'sa':<6} {'exchange':<15} {'mid':<9}"
    head += f"{'kind':<5}notifies"
    return "\n".join([head, *(r[2] for r in rows)])


def write_pcap(path: Path, result: Any) -> Path:
    """Write IKE messages and the ESP sample to ``path`` and the keys beside it; returns the keys path."""
    from hasim.wire.esp import EspHeader
    from hasim.wire.keysfile import write_keys_file
    from hasim.wire.pcap import PcapWriter

    items: list[tuple[float, int, Any]] = []
    keys: dict[tuple[int, int], Any] = {}
    for t, src, dst, sa, data, k in result.ike_raw:
        s = CLUSTER_ADDR if src.startswith("cluster") else peer_addr(sa)
        d = CLUSTER_ADDR if dst.startswith("cluster") else peer_addr(sa)
        items.append((t, 0, ("ike", data, s, d)))
        keys[(int.from_bytes(data[0:8], "big"), int.from_bytes(data[8:16], "big"))] = k
    for r in result.records.get("esp_sample", []):
        header = EspHeader(r["spi"], r["seq"] & 0xFFFFFFFF)
        items.append((r["time"], 1, ("esp", header, r["src"], r["dst"], r["sa"])))
    items.sort(key=lambda x: (x[0], x[1]))
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for t, _, item in items:
            if item[0] == "ike":
                w.write_ike(t, item[1], item[2], item[3])
            else:
                src = CLUSTER_ADDR if item[2].startswith("cluster") else peer_addr(item[4])
                dst = CLUSTER_ADDR if item[3].startswith("cluster") else peer_addr(item[4])
                w.write_esp(t, item[1], src, dst)
    keys_path = keys_file(path)
    write_keys_file(keys_path, keys)
    return keys_path


def keys_file(pcap: Path) -> Path:
    """Where the keys of a pcap go: beside it, ``<pcap>.keys``."""
    return pcap.with_name(pcap.name + ".keys")


@click.command(name="run")
@click.argument("scenario", metavar="SCENARIO", shell_complete=complete_example("scenario"))
@click.option("--seed", default=None, metavar="N", help="Root seed (default: scenario.seed).")
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a scenario key (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("--no-progress", is_flag=True, help="No progress bar (shown on stderr for runs over 2 s).")
@click.option("--trace", is_flag=True, help="Print the IKE message ladder.")
@click.option(
    "--pcap",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write IKE messages and sampled ESP headers to this pcap (keys in FILE.keys).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the run's estimated cost (events, CPU, memory) and stop."
)
@cost_options
@click.option("--force", is_flag=True, help="Run even beyond the cost limits.")
def run(
    scenario: str,
    seed: str | None,
    sets: tuple[str, ...],
    as_json: bool,
    no_progress: bool,
    trace: bool,
    pcap: Path | None,
    dry_run: bool,
    max_events: str | None,
    max_cpu: str | None,
    max_memory: str | None,
    force: bool,
) -> None:
    """Run SCENARIO (a TOML file or a packaged example's name, see `hasim examples`) and print its
    metrics (a table, or JSON with --json)."""
    from hasim.api import load_scenario
    from hasim.experiments.run_progress import SimClockBar
    from hasim.sim import simulate
    from hasim.sim.scale.world import scaled_supported
    from hasim.sim.scenario.cost import check_cost, describe, estimate_cost

    limits = limits_from(max_events, max_cpu, max_memory)
    cfg = load_scenario(scenario, parse_sets(sets))
    run_seed = cfg.scenario.seed if seed is None else parse_seed(seed)
    cost = estimate_cost(cfg, scaled_supported(cfg, records=trace or pcap is not None))
    if dry_run:
        if as_json:
            click.echo(json.dumps({"scenario": cfg.scenario.name, **cost_dict(cost)}))
        else:
            click.echo(f"scenario {cfg.scenario.name}: {describe(cost)}")
        return
    if not force:
        check_cost(cost, limits)
    if pcap is not None:  # before the run: its metrics are printed after the pcap is written
        check_writable(pcap, keys_file(pcap))
    with SimClockBar(cfg.scenario.duration_s, cfg.scenario.name, enabled=not no_progress) as bar:
        result = simulate(cfg, run_seed, records=trace or pcap is not None, on_clock=bar.attach)
    if trace:
        click.echo(format_trace(result.records))
        click.echo("")
    if pcap is not None:
        keys_path = write_pcap(pcap, result)
        click.echo(
            f"wrote {pcap} ({len(result.ike_raw)} IKE messages, "
            f"{len(result.records.get('esp_sample', []))} ESP headers) and {keys_path}",
            err=True,
        )
    if as_json:
        obj = {
            "scenario": cfg.scenario.name,
            "seed": run_seed,
            **{k: _plain(v) for k, v in result.metrics.items()},
        }
        click.echo(json.dumps(obj, sort_keys=False))
    else:
        click.echo(format_metrics(cfg.scenario.name, run_seed, result.metrics))
