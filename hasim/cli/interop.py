"""``hasim interop strongswan``: check hasim's RFC 6311 peer model against strongSwan's charon.

Needs root, iproute2 and the Debian packages charon-systemd and strongswan-swanctl. Prints one row
per step (case, step, hasim prediction, charon's behaviour, agree?) and the documented findings
with charon's log lines. Exit status 0 when every disagreement is a documented finding, 1 when
one is not, 2 when the run cannot happen here (the reason is printed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hasim.protocol.policy import SyncReading


@click.group("interop")
def interop() -> None:
    """Speak real IKEv2 to another implementation and compare it with hasim's model."""


@interop.command("strongswan")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for docs/interop.md).")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep charon's configuration and log here (default: a temporary directory, removed).",
)
@click.option(
    "--dpd-delay", type=click.IntRange(1, 30), default=2, show_default=True, help="charon's DPD delay, s."
)
@click.option(
    "--stale",
    type=click.IntRange(2, 50),
    default=2,
    show_default=True,
    help="Requests the failed member sent after the standby's last snapshot.",
)
@click.option(
    "--pcap",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every datagram here, and the SK keys to <pcap>.keys (Wireshark ikev2_decryption_table).",
)
@click.option(
    "--reading",
    type=click.Choice([r.value for r in SyncReading]),
    default="strict",
    show_default=True,
    help="The R5.1-5 reading of hasim's model peer (AMB-1); findings are documented for strict "
    "(strongswan: drop iff M1 < the next expected Message ID, as charon 5.9.8 does).",
)
@click.option("--case", "case_names", multiple=True, help="Run only these cases (by name; repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the steps and the verdict as one JSON object.")
def strongswan(
    markdown: bool,
    as_json: bool,
    workdir: Path | None,
    dpd_delay: int,
    stale: int,
    pcap: Path | None,
    reading: str,
    case_names: tuple[str, ...],
) -> None:
    """Run the RFC 6311 cases against charon in a network namespace and print the table."""
    from hasim.errors import ConfigError, check_writable
    from hasim.interop.cases import CASES
    from hasim.interop.driver import findings_text, format_table, run_interop, step_records

    cases = CASES
    if case_names:
        known = {c.name: c for c in CASES}
        unknown = [n for n in case_names if n not in known]
        if unknown:
            raise ConfigError("--case", f"unknown {unknown}; choose from {sorted(known)}")
        cases = tuple(known[n] for n in case_names)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    if pcap is not None:  # before charon runs: the capture is written when the cases are done
        check_writable(pcap, pcap.with_name(pcap.name + ".keys"))
    result = run_interop(
        cases,
        workdir=workdir,
        dpd_delay_s=dpd_delay,
        stale_requests=stale,
        pcap=pcap,
        reading=SyncReading(reading),
    )
    agree = sum(s.agree for s in result.steps)
    if as_json:
        steps = step_records(result.steps)
        summary = {"agree": agree, "steps_total": len(result.steps), "unexplained": len(result.unexplained)}
        click.echo(json.dumps({"steps": steps, **summary, "charon_status": result.charon_status}))
    else:
        click.echo(format_table(result.steps, markdown=markdown))
        found = findings_text(result.steps)
        if found:
            click.echo("")
            click.echo(found)
        click.echo("")
        click.echo(
            f"{agree}/{len(result.steps)} steps agree; charon pid {result.charon_pid} stopped "
            f"(exit status {result.charon_status}); namespace removed"
        )
    if pcap is not None:
        click.echo(f"capture: {pcap}, keys: {pcap}.keys", err=as_json)
    if result.unexplained:
        click.echo(
            f"{len(result.unexplained)} disagreement(s) not explained by a documented finding", err=True
        )
        sys.exit(1)
