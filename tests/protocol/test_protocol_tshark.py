"""An independent reader of the protocol's bytes: tshark dissects a whole SA life written by hasim.

Handshake (IKE_SA_INIT, IKE_AUTH with the first Child SA and the RFC 6311 *_SUPPORTED notifies),
a CREATE_CHILD_SA rekey, the Delete of the old Child SA and a failover sync (case 3) go into one
pcap; tshark decrypts every SK payload with the keys file hasim writes and must agree on exchange
types, Message IDs, notify types, proposal SPIs and ICVs, and find nothing malformed.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from protocol_harness import KEYS, SPI_I, SPI_R, Link, rng_bytes

from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.wire.keysfile import write_keys_file
from hasim.wire.pcap import PcapWriter

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs it via .ci/run)")
FIELDS = [
    "isakmp.exchangetype",
    "isakmp.messageid",
    "isakmp.notify.msgtype",
    "isakmp.spi",
    "_ws.expert.message",
]


def _life() -> Link:
    common = {"spi_i": SPI_I, "spi_r": SPI_R, "keys": KEYS}
    i = IkeSa(IkeConfig(), original_initiator=True, random_bytes=rng_bytes(5), name="I", **common)  # type: ignore[arg-type]
    r = IkeSa(IkeConfig(), original_initiator=False, random_bytes=rng_bytes(6), name="R", **common)  # type: ignore[arg-type]
    link = Link(i, r)
    i.connect(0.0)
    link.flush()
    link.now = 1.0
    i.rekey_child(1.0)
    link.flush()
    link.now = 2.0
    r.failover_takeover(2.0)
    link.flush()
    return link


@pytest.fixture(scope="module")
def dissected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Link, list[list[str]], str]:
    link = _life()
    d = tmp_path_factory.mktemp("proto-tshark")
    pcap, keys_file = d / "life.pcap", d / "ikev2_decryption_table"
    with pcap.open("wb") as f:
        w = PcapWriter(f)
        for s in link.log:
            src, dst = ("10.0.0.1", "10.0.0.2") if s.src == "I" else ("10.0.0.2", "10.0.0.1")
            w.write_ike(s.time, s.data, src, dst)
    write_keys_file(keys_file, {(SPI_I, SPI_R): KEYS})
    assert TSHARK is not None
    uat = ["-o", f"uat:ikev2_decryption_table:{keys_file.read_text().strip()}"]
    fields = [a for f in FIELDS for a in ("-e", f)]
    run = [TSHARK, "-n", "-r", str(pcap), *uat]
    out = subprocess.run(
        [*run, "-T", "fields", "-E", "separator=|", "-E", "aggregator=,", *fields],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    verbose = subprocess.run([*run, "-V"], capture_output=True, text=True, timeout=60, check=True).stdout
    return link, [line.split("|") for line in out.splitlines()], verbose


@pytest.mark.rfc("R6-7", "R5-1")
def test_tshark_agrees_on_every_message(dissected: tuple[Link, list[list[str]], str]) -> None:
    link, rows, verbose = dissected
    assert len(rows) == len(link.log) == 10
    exchanges = [(int(r[0]), int(r[1], 16)) for r in rows]
    assert exchanges == [(s.msg.exchange, s.msg.message_id) for s in link.log]
    notifies = [r[2] for r in rows]
    assert notifies[2] == notifies[3] == "16385,16420,16421"  # SET_WINDOW_SIZE and both SUPPORTED
    assert notifies[4] == "16393"  # REKEY_SA
    assert notifies[8:] == ["16422,16423", "16422"]  # case 3 request, sync_only response
    # The proposal SPIs are the Child SAs' inbound SPIs.
    i, r = link.a, link.b
    assert {int(s, 16) for s in rows[5][3].split(",")} == {r.children[0].spi_in}
    assert i.children[0].spi_in in {int(s, 16) for s in rows[4][3].split(",")}
    assert all(not row[4] for row in rows)  # no expert info: nothing malformed
    assert "Malformed" not in verbose
    verdicts = [line for line in verbose.splitlines() if "Integrity Checksum Data:" in line]
    assert len(verdicts) == 8 and all("[correct]" in v for v in verdicts)
