"""``hasim explore``: search every interleaving of a member pair up to a bound, through the real
protocol objects, and print per reading of R5.1-5 and member policy what was covered (states,
depth, time), whether each safety property holds (else its shortest counterexample as the ladder
of ``hasim run --trace``), and how the terminal states end (synchronized or IKE SA deleted).

``--pcap DIR`` writes each ladder shown as a pcap (with its keys file: tshark decrypts the IKE
messages). ``--compare`` adds the AMB-1 answer at the bound: the shortest path on which the strict reading
loses the SA and the sync-only reading, taking the same steps, keeps it (both ladders). ``--json``
prints one JSON object. Exit code 1 when a safety or the outcome property fails.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hasim.cli.run import format_trace

if TYPE_CHECKING:
    from hasim.explore.model import Bounds, Policy
    from hasim.explore.search import Exploration
    from hasim.explore.search import Path as Steps
    from hasim.protocol.policy import SyncReading

F = TypeVar("F", bound=Callable[..., object])


MAX_STATES = 2_000_000
"""The most states one search holds: about 1.4 kB each (measured: 200,000 states, 270 MB over the
process's start), so some 3 GB; bounds of 8 crashes, losses, requests, duplicates and ESP packets at
window 4 pass it within a minute and would go on until memory runs out."""
_STATE_MEMORY = "about 1.4 kB of memory each"


def _check_finished(complete: bool, max_states: int) -> None:
    """An exhaustive search (no --max-states) that passed MAX_STATES is stopped with one line."""
    if not complete and not max_states:
        from hasim.errors import ConfigError

        raise ConfigError(
            "bounds",
            f"the search passed {MAX_STATES:,} states ({_STATE_MEMORY}) without finishing; lower the bounds "
            "or give --max-states N for a search of N states that is not exhaustive",
        )


def _bound_option(name: str) -> Callable[[F], F]:
    from hasim.explore.model import Bounds

    default = next(f.default for f in fields(Bounds) if f.name == name)
    doc = {
        "failovers": "crashes of an active member",
        "syncs": "state copies to the standby",
        "sync_losses": "copies to the standby (made when a sync is sent or completed) lost",
        "losses": "datagrams lost",
        "duplicates": "datagrams duplicated",
        "requests": "requests started per side",
        "esp": "ESP packets sent per side",
        "in_flight": "no step adds datagrams while this many are in flight",
        "tries": "retransmissions before an SA is given up",
        "early_timeouts": "timers fired while datagrams are in flight",
    }[name]
    return click.option(
        "--" + name.replace("_", "-"),
        name,
        type=int,
        default=default,
        show_default=True,
        help=doc.capitalize() + ".",
    )


def _ladder(path: Steps, bounds: Bounds, reading: SyncReading, policy: Policy) -> str:
    from hasim.explore.ladder import records

    return format_trace(records(path, bounds, reading, policy), clock="step")


def _write_pcap(folder: Path | None, label: str, steps: Steps) -> None:
    """The datagrams of one ladder (delivered or lost, at their step's second) as ``label``.pcap in
    ``folder``, with the keys file beside it so that tshark decrypts the IKE messages."""
    if folder is None:
        return
    from hasim.cli.run import CLUSTER_ADDR, peer_addr
    from hasim.explore.model import KEYS, SPI_I, SPI_R
    from hasim.wire.esp import EspHeader
    from hasim.wire.keysfile import write_keys_file
    from hasim.wire.pcap import PcapWriter

    folder.mkdir(parents=True, exist_ok=True)
    addr = (CLUSTER_ADDR, peer_addr(0))
    pcap = folder / f"{label}.pcap"
    with pcap.open("wb") as fh:
        w = PcapWriter(fh)
        for t, a in enumerate(steps, start=1):
            d = a.datagram
            if a.kind not in ("deliver", "lose") or d is None:
                continue
            if d.esp:
                w.write_esp(float(t), EspHeader(d.spi, d.seq), addr[1 - d.dst], addr[d.dst])
            else:
                w.write_ike(float(t), d.data, addr[1 - d.dst], addr[d.dst])
    write_keys_file(folder / f"{label}.pcap.keys", {(SPI_I, SPI_R): KEYS})


def _label(res: Exploration, what: str) -> str:
    return f"{res.reading}-{res.policy.name}-w{res.bounds.window}-{what}"


def _run_json(res: Exploration, ladders: bool, pcap: Path | None) -> dict[str, Any]:
    from hasim.explore.ladder import records

    props = {}
    for f in res.findings.values():
        entry: dict[str, Any] = {
            "safety": f.safety,
            "holds": f.holds,
            "states": f.states,
            "shortest_steps": None if f.path is None else len(f.path),
            "detail": f.detail,
        }
        if f.path is not None and (ladders or f.safety):
            entry["ladder"] = records(f.path, res.bounds, res.reading, res.policy)
            _write_pcap(pcap, _label(res, f.name), f.path)
        props[f.name] = entry
    out = res.outcome
    return {
        "reading": str(res.reading),
        "policy": res.policy.name,
        "bounds": asdict(res.bounds),
        "states": res.states,
        "transitions": res.transitions,
        "depth": res.depth,
        "seconds": round(res.seconds, 3),
        "complete": res.complete,
        "properties": props,
        "outcome": {
            "terminal": out.terminal,
            "synchronized": out.synchronized,
            "deleted": out.deleted,
            "waiting": out.waiting,
            "neither": out.neither,
            "deleted_share": out.deleted / out.terminal if out.terminal else None,
        },
    }


def _run_text(res: Exploration, ladders: bool, pcap: Path | None) -> list[str]:
    b = res.bounds
    head = (
        f"explore reading={res.reading} policy={res.policy.name} window={b.window}: states={res.states} "
        f"transitions={res.transitions} depth={res.depth} time={res.seconds:.1f}s"
        + ("" if res.complete else " (stopped at --max-states: not exhaustive)")
    )
    lines = [head]
    show = []
    for f in res.findings.values():
        label = "safety " if f.safety else "counted"
        if f.holds:
            lines.append(f"  {label} {f.name:<36} holds")
        else:
            verdict = "FAILS" if f.safety else "happens"
            lines.append(
                f"  {label} {f.name:<36} {verdict} in {f.states} states, shortest {len(f.path or ())} steps"
            )
            if f.safety or ladders:
                show.append(f)
    out = res.outcome
    share = f"{100 * out.deleted / out.terminal:.2f}%" if out.terminal else "-"
    lines.append(
        f"  outcome terminal={out.terminal} synchronized={out.synchronized} deleted={out.deleted} ({share}) "
        f"waiting={out.waiting} neither={out.neither}"
    )
    for f in show:
        assert f.path is not None  # a property that happens has its shortest path
        _write_pcap(pcap, _label(res, f.name), f.path)
        lines += [
            "",
            f"shortest counterexample: {f.name} ({f.detail})",
            _ladder(f.path, b, res.reading, res.policy),
        ]
    if out.neither_path is not None:
        _write_pcap(pcap, _label(res, "neither"), out.neither_path)
        lines += ["", "shortest terminal state neither synchronized nor deleted"]
        lines.append(_ladder(out.neither_path, b, res.reading, res.policy))
    return lines


@click.command(name="explore")
@click.option(
    "--reading",
    "readings",
    multiple=True,
    type=click.Choice(["strict", "sync_only", "strongswan", "all"]),
    help="Reading of R5.1-5 (repeatable; default strict).",
)
@click.option(
    "--policy", "policies", multiple=True, metavar="NAME", help="Member policy (repeatable, or all)."
)
@click.option(
    "--window", "windows", multiple=True, type=int, help="IKE window size (repeatable; default 1 and 2)."
)
@_bound_option("failovers")
@_bound_option("syncs")
@_bound_option("sync_losses")
@_bound_option("losses")
@_bound_option("duplicates")
@_bound_option("requests")
@_bound_option("esp")
@_bound_option("in_flight")
@_bound_option("tries")
@_bound_option("early_timeouts")
@click.option("--peer-cluster", is_flag=True, help="The peer is a cluster too (its member may crash).")
@click.option(
    "--max-states",
    type=click.IntRange(0, None),
    default=0,
    help=f"Stop after this many states (0: exhaustive, up to {MAX_STATES:,}).",
)
@click.option("--ladders", is_flag=True, help="Print the shortest ladder of every property that happens.")
@click.option("--compare", is_flag=True, help="Strict against sync-only: an SA lost only under strict.")
@click.option(
    "--pcap",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each ladder shown as DIR/<reading>-<policy>-w<window>-<property>.pcap (keys beside it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explore(
    readings: tuple[str, ...],
    policies: tuple[str, ...],
    windows: tuple[int, ...],
    peer_cluster: bool,
    max_states: int,
    ladders: bool,
    compare: bool,
    pcap: Path | None,
    as_json: bool,
    **counts: int,
) -> None:
    """Explore every interleaving up to the bounds and check the safety and outcome properties."""
    from hasim.errors import ConfigError
    from hasim.explore.model import POLICIES, READINGS, Bounds
    from hasim.explore.search import explore as search

    if max_states > MAX_STATES:
        raise ConfigError("--max-states", f"got {max_states:,}; at most {MAX_STATES:,} ({_STATE_MEMORY})")
    cap = max_states or MAX_STATES + 1  # exhaustive: until the search ends or passes MAX_STATES
    if pcap is not None:  # before the searches, not when the first ladder is written
        pcap.mkdir(parents=True, exist_ok=True)
    names = list(READINGS) if "all" in readings else list(readings or ("strict",))
    pols = list(POLICIES) if "all" in policies else list(policies or ("proactive",))
    for p in pols:
        if p not in POLICIES:
            raise ConfigError("--policy", f"unknown policy {p!r}; one of {', '.join(POLICIES)} or all")
    runs, failed, comparisons, text = [], False, [], []
    for window in windows or (1, 2):
        try:
            bounds = Bounds(window=window, peer_cluster=peer_cluster, **counts)
        except ConfigError as exc:  # name the option: bounds.sync_losses is --sync-losses here
            option = "--" + exc.key.removeprefix("bounds.").replace("_", "-")
            raise ConfigError(option, exc.message) from None
        for p in pols:
            for r in names:
                res = search(bounds, READINGS[r], POLICIES[p], max_states=cap)
                _check_finished(res.complete, max_states)
                failed |= (
                    any(f.safety and not f.holds for f in res.findings.values()) or res.outcome.neither > 0
                )
                runs.append(_run_json(res, ladders, pcap) if as_json else None)
                text += [] if as_json else [*_run_text(res, ladders, pcap), ""]
            if compare:
                comparisons.append(_compare(bounds, POLICIES[p], max_states, cap, as_json, text, pcap))
    if as_json:
        click.echo(json.dumps({"runs": runs, "comparisons": comparisons}))
    else:
        click.echo("\n".join(text).rstrip())
    if failed:
        sys.exit(1)


def _compare(
    bounds: Bounds,
    policy: Policy,
    max_states: int,
    cap: int,
    as_json: bool,
    text: list[str],
    pcap: Path | None,
) -> dict[str, Any]:
    from hasim.explore.compare import sa_lost_only_under
    from hasim.explore.ladder import records

    res, div = sa_lost_only_under(bounds, policy, max_states=cap)
    _check_finished(res.complete, max_states)
    head = f"compare strict vs sync_only policy={policy.name} window={bounds.window}: "
    if div is None:
        text += [head + f"no terminal SA loss under strict that sync_only avoids ({res.states} states)", ""]
        return {"policy": policy.name, "window": bounds.window, "found": False, "states": res.states}
    for path, reading in ((div.lossy_path, div.lossy), (div.other_path, div.other)):
        _write_pcap(pcap, f"compare-{policy.name}-w{bounds.window}-{reading}", path)
    text += [
        head + f"strict loses the SA in {len(div.lossy_path)} steps; sync_only, taking the first "
        f"{div.followed} of them, ends synchronized",
        "",
        "strict:",
        _ladder(div.lossy_path, bounds, div.lossy, policy),
        "",
        "sync_only, the same steps:",
        _ladder(div.other_path, bounds, div.other, policy),
        "",
    ]
    return {
        "policy": policy.name,
        "window": bounds.window,
        "found": True,
        "states": res.states,
        "strict_steps": len(div.lossy_path),
        "followed": div.followed,
        "strict_ladder": records(div.lossy_path, bounds, div.lossy, policy) if as_json else None,
        "sync_only_ladder": records(div.other_path, bounds, div.other, policy) if as_json else None,
    }
