"""Interop with a decoder no one here wrote: tshark decrypts hasim's pcap with hasim's keys file.

hasim writes SK-protected RFC 6311 sync messages (both suites, both directions, with and without
ESN) plus tampered copies and ESP packets; tshark, given the ``ikev2_decryption_table`` lines hasim
wrote, must show the same 16422/16423 field values, call every good ICV correct and every tampered
one incorrect - exactly where hasim raises IntegrityError.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hasim.errors import IntegrityError
from hasim.wire import Message, MessageIdSync, ReplayCounterSync, SkKeys, SkSuite, decode, encode, iv_size
from hasim.wire.esp import EspHeader
from hasim.wire.keysfile import write_keys_file
from hasim.wire.pcap import PcapWriter

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs it via .ci/run)")

CBC = SkKeys(
    SkSuite.AES_CBC_128_HMAC_SHA2_256_128,
    bytes(range(16)),
    bytes(range(16, 32)),
    bytes(range(32, 64)),
    bytes(range(64, 96)),
)
GCM = SkKeys(SkSuite.AES_GCM_16_128, bytes(range(100, 120)), bytes(range(120, 140)))
FIELDS = [
    "frame.number",
    "isakmp.notify.data.ha.nonce_data",
    "isakmp.notify.data.ha.expected_send_req_message_id",
    "isakmp.notify.data.ha.expected_recv_req_message_id",
    "isakmp.notify.data.ha.incoming_ipsec_sa_delta_value",
    "_ws.expert.message",
    "esp.spi",
    "esp.sequence",
]


@dataclass(frozen=True)
class Sent:
    wire: bytes
    keys: SkKeys
    sync: MessageIdSync
    delta: ReplayCounterSync
    tampered: bool


def _messages() -> list[Sent]:
    out = []
    cases = [
        (
            0x1111111111111111,
            0x2222222222222222,
            CBC,
            True,
            MessageIdSync(0xDEADBEEF, 5, 7),
            ReplayCounterSync(100, False),
        ),
        (
            0x1111111111111111,
            0x2222222222222222,
            CBC,
            False,
            MessageIdSync(0x01020304, 8, 6),
            ReplayCounterSync(0, False),
        ),
        (
            0x3333333333333333,
            0x4444444444444444,
            GCM,
            True,
            MessageIdSync(0xFFFFFFFF, 2**32 - 1, 0),
            ReplayCounterSync(2**40 + 3, True),
        ),
        (
            0x3333333333333333,
            0x4444444444444444,
            GCM,
            False,
            MessageIdSync(1, 2, 3),
            ReplayCounterSync(2**32, True),
        ),
    ]
    for n, (spi_i, spi_r, keys, initiator, sync, delta) in enumerate(cases):
        msg = Message(
            spi_i, spi_r, 37, initiator, not initiator, 0, (sync.to_notify(), delta.to_notify()), True
        )
        wire = encode(msg, keys, bytes([n + 1]) * iv_size(keys.suite))
        out.append(Sent(wire, keys, sync, delta, False))
        bad = bytearray(wire)
        bad[-3] ^= 0x40  # inside the ICV
        out.append(Sent(bytes(bad), keys, sync, delta, True))
    return out


def _tshark(pcap: Path, keys_file: Path, *extra: str) -> str:
    assert TSHARK is not None
    opts = []
    for line in keys_file.read_text().splitlines():
        opts += ["-o", f"uat:ikev2_decryption_table:{line}"]
    result = subprocess.run(
        [TSHARK, "-n", "-r", str(pcap), *opts, *extra], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Sent], list[list[str]], str]:
    sent = _messages()
    d = tmp_path_factory.mktemp("tshark")
    pcap, keys_file = d / "sync.pcap", d / "ikev2_decryption_table"
    with pcap.open("wb") as f:
        w = PcapWriter(f)
        for i, s in enumerate(sent):
            w.write_ike(i * 0.1, s.wire, "10.0.0.1", "10.0.0.2", nat_t=i % 2 == 1)
        w.write_esp(1.0, EspHeader(0xC0FFEE01, 2**32 + 9), "10.0.0.1", "10.0.0.2")
        w.write_esp(1.1, EspHeader(0xC0FFEE01, 10), "10.0.0.1", "10.0.0.2", udp_encap=True)
    write_keys_file(
        keys_file,
        {(0x1111111111111111, 0x2222222222222222): CBC, (0x3333333333333333, 0x4444444444444444): GCM},
    )
    fields = _tshark(
        pcap, keys_file, "-T", "fields", "-E", "separator=|", *(a for f in FIELDS for a in ("-e", f))
    )
    rows = [line.split("|") for line in fields.splitlines()]
    verbose = _tshark(pcap, keys_file, "-V")
    return sent, rows, verbose


@pytest.mark.rfc("R6-4", "R6-5", "R6-7")
def test_tshark_reads_the_rfc6311_fields(capture: tuple[list[Sent], list[list[str]], str]) -> None:
    sent, rows, _ = capture
    for s, row in zip(sent, rows, strict=False):
        ours = decode(s.wire) if s.tampered else decode(s.wire, s.keys)
        assert ours.protected is not s.tampered
        _, nonce, send, recv, delta, _, _, _ = row
        assert int(nonce, 16) == s.sync.nonce
        assert int(send, 16) == s.sync.expected_send
        assert int(recv, 16) == s.sync.expected_recv
        size = 8 if s.delta.esn else 4
        assert delta == s.delta.delta.to_bytes(size, "big").hex()


@pytest.mark.rfc("R6-7", "R9-1")
def test_tshark_icv_verdicts_match_hasim(capture: tuple[list[Sent], list[list[str]], str]) -> None:
    sent, rows, verbose = capture
    verdicts = [line for line in verbose.splitlines() if "Integrity Checksum Data:" in line]
    assert len(verdicts) == len(sent)
    for s, row, verdict in zip(sent, rows, verdicts, strict=False):
        hasim_rejects = False
        try:
            decode(s.wire, s.keys)
        except IntegrityError:
            hasim_rejects = True
        assert hasim_rejects is s.tampered
        assert ("[incorrect" in verdict) is s.tampered
        assert ("[correct]" in verdict) is not s.tampered
        assert ("Integrity Checksum Data is incorrect" in row[5]) is s.tampered


def test_tshark_reads_the_esp_headers(capture: tuple[list[Sent], list[list[str]], str]) -> None:
    sent, rows, _ = capture
    esp_rows = rows[len(sent) :]
    assert [(int(r[6], 16), int(r[7])) for r in esp_rows] == [(0xC0FFEE01, 9), (0xC0FFEE01, 10)]
