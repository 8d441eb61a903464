"""``hasim interop strongswan`` end to end: namespace, charon, the cases, clean-up, the table.

Order: check that the tools exist, create the network namespace, start charon in it, bind hasim's
UDP socket in it, run every case on its own IKE SA, then stop charon by its PID and remove the
namespace whatever happened. The result is a list of steps (case, hasim's prediction, charon's
behaviour, agree?) plus charon's log, for the table and for the test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hasim.interop import charon as charon_mod
from hasim.interop import netns as netns_mod
from hasim.interop.cases import CASES, FINDINGS, CaseSpec, run_case
from hasim.interop.charon import Charon, CharonSettings
from hasim.interop.session import CapturedDatagram, Step
from hasim.protocol.policy import SyncReading
from hasim.wire import SkKeys
from hasim.wire.keysfile import write_keys_file
from hasim.wire.pcap import PcapWriter


@dataclass
class InteropResult:
    """Steps of every case, charon's PID and exit status, and where its log was."""

    steps: list[Step] = field(default_factory=list)
    charon_pid: int | None = None
    charon_status: int | None = None
    netns: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Step]:
        """Disagreements that no documented finding explains."""
        return [s for s in self.steps if not s.agree and not s.finding]


def unavailable_reason() -> str | None:
    """Why the interop run cannot happen on this machine (for a clear skip), or None."""
    return charon_mod.unavailable_reason() or netns_mod.unavailable_reason()


def run_interop(
    cases: Sequence[CaseSpec] = CASES,
    *,
    workdir: Path | None = None,
    dpd_delay_s: int = 4,
    stale_requests: int = 2,
    pcap: Path | None = None,
    reading: SyncReading = SyncReading.STRICT,
) -> InteropResult:
    """Run ``cases`` against a fresh charon; always stops charon and removes the namespace.

    With ``pcap``, every datagram is written there and the SAs' keys beside it (``<pcap>.keys``,
    Wireshark's ikev2_decryption_table), so that Wireshark decrypts both sides' messages. ``reading``
    is the R5.1-5 reading of the model peer (AMB-1); the findings are written for STRICT."""
    reason = unavailable_reason()
    if reason is not None:
        raise OSError(reason)
    own_dir = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="hasim-interop-")) if workdir is None else workdir
    netns_mod.remove_leftovers("hasim-interop")
    ns = netns_mod.NetNamespace(netns_mod.unique_name("hasim-interop"))
    settings = CharonSettings(workdir=wd, dpd_delay_s=dpd_delay_s)
    charon = Charon(settings, ns)
    result = InteropResult(netns=ns.name)
    capture: list[CapturedDatagram] | None = [] if pcap is not None else None
    keys: dict[tuple[int, int], SkKeys] = {}
    sock = None
    try:
        ns.create()
        charon.start()
        result.charon_pid = charon.pid
        sock = ns.udp_socket(settings.address, settings.hasim_port)
        for spec in cases:
            result.steps.extend(
                run_case(
                    spec,
                    sock,
                    charon,
                    stale_requests=stale_requests,
                    capture=capture,
                    keys=keys,
                    reading=reading,
                )
            )
    finally:
        if sock is not None:
            sock.close()
        result.charon_status = charon.stop()
        result.log = charon.log_lines()
        ns.remove()
        if pcap is not None and capture is not None:
            write_capture(pcap, capture, keys, settings.address)
        if own_dir:
            for f in sorted(wd.iterdir()):
                f.unlink()
            wd.rmdir()
    return result


def write_capture(
    pcap: Path, capture: Sequence[CapturedDatagram], keys: dict[tuple[int, int], SkKeys], address: str
) -> Path:
    """Write the datagrams as a pcap (IKE on UDP 500) and the keys file beside it; returns the latter."""
    with pcap.open("wb") as f:
        w = PcapWriter(f)
        for d in capture:
            w.write_ike(d.time, d.data, address, address)
    keys_path = pcap.with_name(pcap.name + ".keys")
    write_keys_file(keys_path, keys)
    return keys_path


def step_records(steps: Sequence[Step]) -> list[dict[str, object]]:
    """The steps as JSON-able dicts (for a run in another process, e.g. under sudo)."""
    return [
        {
            "case": s.case,
            "what": s.what,
            "predicted": s.predicted,
            "observed": s.observed,
            "agree": s.agree,
            "finding": s.finding,
            "log": s.log,
        }
        for s in steps
    ]


def table_rows(steps: Sequence[Step]) -> list[tuple[str, str, str, str, str]]:
    """(case, step, hasim prediction, charon's behaviour, agree?) for each step."""
    rows = []
    for s in steps:
        agree = "yes" if s.agree else (f"no ({s.finding})" if s.finding else "NO")
        rows.append((s.case, s.what, s.predicted, s.observed, agree))
    return rows


def format_table(steps: Sequence[Step], markdown: bool = False) -> str:
    """The table as aligned text, or as a Markdown table for docs/interop.md."""
    head = ("case", "step", "hasim prediction", "charon's behaviour", "agree?")
    rows = table_rows(steps)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def findings_text(steps: Sequence[Step]) -> str:
    """The documented findings that some step showed, with the charon log lines of those steps."""
    out: list[str] = []
    for fid, text in FINDINGS.items():
        hit = [s for s in steps if s.finding == fid and not s.agree]
        if not hit:
            continue
        out.append(f"{fid}: {text}")
        for s in hit:
            out.append(f"  [{s.case}] {s.what}")
            out += [f"    charon: {ln}" for ln in s.log]
    odd = [s for s in steps if not s.agree and not s.finding]
    if odd:
        out.append("Disagreements without a documented finding:")
        for s in odd:
            out.append(f"  [{s.case}] {s.what}: predicted {s.predicted}, observed {s.observed}")
            out += [f"    charon: {ln}" for ln in s.log]
    return "\n".join(out)
