"""More interop with tshark: both suites, both directions, nonzero SPIr, Delete payloads, a Notify
with an ESP SPI, maximum values, unknown and critical payloads, a critical SK payload, and the
IPv4/UDP framing. tshark decodes hasim's pcap with hasim's keys file; every field it reports is
compared with the values the test put into the messages (not with hasim's own decoding).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hasim.errors import IntegrityError
from hasim.wire import (
    Delete,
    EncryptedPayload,
    Message,
    MessageIdSync,
    MessageIdSyncSupported,
    Nonce,
    Notify,
    OpaquePayload,
    Payload,
    ReplayCounterSync,
    ReplayCounterSyncSupported,
    SkKeys,
    decode,
    encode,
)
from hasim.wire.keysfile import write_keys_file
from hasim.wire.payloads import payload_type
from hasim.wire.pcap import PcapWriter

from .vectors import CBC, CHAIN, GCM, MSG, PAYLOADS, SPI_I, SPI_R, cbc_wire

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs it via .ci/run)")

GCM_SPIS = (0xC000000000000000, 0x00000000000000FF)
FIELDS = [
    "isakmp.ispi",
    "isakmp.rspi",
    "isakmp.exchangetype",
    "isakmp.flag_i",
    "isakmp.flag_r",
    "isakmp.messageid",
    "isakmp.length",
    "isakmp.typepayload",
    "isakmp.criticalpayload",
    "isakmp.payloadlength",
    "isakmp.notify.msgtype",
    "isakmp.notify.protoid",
    "isakmp.spisize",
    "isakmp.spi",
    "isakmp.spinum",
    "isakmp.delete.spi",
    "isakmp.notify.data.ha.nonce_data",
    "isakmp.notify.data.ha.expected_send_req_message_id",
    "isakmp.notify.data.ha.expected_recv_req_message_id",
    "isakmp.notify.data.ha.incoming_ipsec_sa_delta_value",
    "ip.len",
    "ip.checksum.status",
    "udp.length",
    "udp.checksum.status",
]


@dataclass(frozen=True)
class Frame:
    msg: Message  # what the test built (protected: the inner payloads)
    wire: bytes
    keys: SkKeys | None
    nat_t: bool
    sk_critical: bool = False
    tampered: bool = False


def _frames() -> list[Frame]:
    req = Message(
        SPI_I,
        SPI_R,
        37,
        initiator=True,
        response=False,
        message_id=0xFFFFFFFF,
        payloads=(
            MessageIdSync(0xFFFFFFFF, 0x80000000, 1).to_notify(),
            ReplayCounterSync(2**64 - 1, esn=True).to_notify(),
            Delete(3, (bytes.fromhex("c0000001"), bytes.fromhex("0000ffff"))),
            Notify(16393, 3, bytes.fromhex("fedcba98")),
            Nonce(bytes(range(200, 232))),
        ),
        protected=True,
    )
    resp = Message(
        *GCM_SPIS,
        37,
        initiator=False,
        response=True,
        message_id=1,
        payloads=(
            Delete(3, (bytes.fromhex("00000101"), bytes.fromhex("ffffffff"), bytes.fromhex("12345678"))),
            ReplayCounterSync(0xFFFFFFFF, esn=False).to_notify(),
            MessageIdSyncSupported().to_notify(),
            ReplayCounterSyncSupported().to_notify(),
            Delete(1),
        ),
        protected=True,
    )
    gcm_wire = encode(resp, GCM, bytes.fromhex("0102030405060708"))
    tampered = bytearray(gcm_wire)
    tampered[45] ^= 0x80  # a ciphertext octet
    critical_sk = Message(SPI_I, SPI_R, 37, False, True, 0xFFFFFFFF, PAYLOADS, protected=True)
    return [
        Frame(req, encode(req, CBC, bytes(range(16))), CBC, nat_t=False),
        Frame(resp, gcm_wire, GCM, nat_t=True),
        Frame(MSG, encode(MSG), None, nat_t=False),
        # 112 inner octets + 15 padding + Pad Length = 128; SK 4 + 16 + 128 + 16 = 164; total 192.
        Frame(critical_sk, cbc_wire(CHAIN, bytes(15), 192, 164, sk_flags="80"), CBC, False, sk_critical=True),
        Frame(resp, bytes(tampered), GCM, nat_t=False, tampered=True),
    ]


def _tshark(pcap: Path, keys_file: Path, *extra: str) -> str:
    assert TSHARK is not None
    opts = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
    for line in keys_file.read_text().splitlines():
        opts += ["-o", f"uat:ikev2_decryption_table:{line}"]
    result = subprocess.run(
        [TSHARK, "-n", "-r", str(pcap), *opts, *extra], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


@pytest.fixture(scope="module")
def capture(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[Frame], list[dict[str, list[str]]], list[str]]:
    frames = _frames()
    d = tmp_path_factory.mktemp("tshark_review")
    pcap, keys_file = d / "review.pcap", d / "ikev2_decryption_table"
    with pcap.open("wb") as f:
        w = PcapWriter(f)
        for i, fr in enumerate(frames):
            w.write_ike(i * 0.25, fr.wire, "198.51.100.7", "203.0.113.9", nat_t=fr.nat_t)
    write_keys_file(keys_file, {(SPI_I, SPI_R): CBC, GCM_SPIS: GCM})
    out = _tshark(
        pcap, keys_file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;", "-E", "separator=|",
        *(a for f in FIELDS for a in ("-e", f)),
    )  # fmt: skip
    rows = [dict(zip(FIELDS, (c.split(";") if c else [] for c in line.split("|")), strict=True))
            for line in out.splitlines()]  # fmt: skip
    verbose = _tshark(pcap, keys_file, "-V")
    per_frame = re.split(r"^Frame \d+:", verbose, flags=re.M)[1:]
    return frames, rows, per_frame


def _expected(fr: Frame) -> dict[str, list[str]]:
    """The fields tshark should show, computed from the values the test put in."""
    m, ps = fr.msg, fr.msg.payloads
    types = [payload_type(p) for p in ps]
    crit = [int(p.critical) for p in ps]
    lengths = [4 + _body_len(p) for p in ps]
    if m.protected:
        inner = sum(lengths)
        sk_len = 4 + (16 + (inner // 16 + 1) * 16 + 16 if fr.keys is CBC else 8 + inner + 1 + 16)
        types, crit, lengths = [46, *types], [int(fr.sk_critical), *crit], [sk_len, *lengths]
    notifies = [p for p in ps if isinstance(p, Notify)]
    deletes = [p for p in ps if isinstance(p, Delete)]
    spi_sizes = [len(p.spi) if isinstance(p, Notify) else (0 if p.protocol_id == 1 else 4)
                 for p in ps if isinstance(p, Notify | Delete)]  # fmt: skip
    mid = [p for p in notifies if p.notify_type == 16422]
    rcs = [p for p in notifies if p.notify_type == 16423]
    udp_len = 8 + (4 if fr.nat_t else 0) + len(fr.wire)
    return {
        "isakmp.ispi": [f"{m.spi_i:016x}"],
        "isakmp.rspi": [f"{m.spi_r:016x}"],
        "isakmp.exchangetype": [str(m.exchange)],
        "isakmp.flag_i": [str(int(m.initiator))],
        "isakmp.flag_r": [str(int(m.response))],
        "isakmp.messageid": [f"0x{m.message_id:08x}"],
        "isakmp.length": [str(len(fr.wire))],
        "isakmp.typepayload": [str(t) for t in types],
        "isakmp.criticalpayload": [str(c) for c in crit],
        "isakmp.payloadlength": [str(n) for n in lengths],
        "isakmp.notify.msgtype": [str(n.notify_type) for n in notifies],
        "isakmp.notify.protoid": [str(n.protocol_id) for n in notifies],
        "isakmp.spisize": [str(s) for s in spi_sizes],
        "isakmp.spi": [n.spi.hex() for n in notifies if n.spi],
        "isakmp.spinum": [str(len(d.spis)) for d in deletes],
        "isakmp.delete.spi": [s.hex() for d in deletes for s in d.spis],
        "isakmp.notify.data.ha.nonce_data": [f"0x{int.from_bytes(n.data[:4], 'big'):08x}" for n in mid],
        "isakmp.notify.data.ha.expected_send_req_message_id": [
            f"0x{int.from_bytes(n.data[4:8], 'big'):08x}" for n in mid
        ],
        "isakmp.notify.data.ha.expected_recv_req_message_id": [
            f"0x{int.from_bytes(n.data[8:], 'big'):08x}" for n in mid
        ],
        "isakmp.notify.data.ha.incoming_ipsec_sa_delta_value": [n.data.hex() for n in rcs],
        "ip.len": [str(20 + udp_len)],
        "ip.checksum.status": ["1"],  # Good
        "udp.length": [str(udp_len)],
        "udp.checksum.status": ["1"],
    }


def _body_len(p: Payload) -> int:
    if isinstance(p, Notify):
        return 4 + len(p.spi) + len(p.data)
    if isinstance(p, Delete):
        return 4 + 4 * len(p.spis)
    if isinstance(p, Nonce):
        return len(p.data)
    if isinstance(p, OpaquePayload | EncryptedPayload):
        return len(p.body)
    raise AssertionError(p)


@pytest.mark.rfc("R6-4", "R6-5", "R6-7")
def test_tshark_fields_agree(capture: tuple[list[Frame], list[dict[str, list[str]]], list[str]]) -> None:
    frames, rows, _ = capture
    assert len(rows) == len(frames)
    for n, (fr, row) in enumerate(zip(frames, rows, strict=True), start=1):
        if fr.tampered:
            continue  # tshark still decrypts a tampered GCM payload: compared in the verdict test
        want = _expected(fr)
        got = {k: row[k] for k in want}
        # tshark prints messageid / ha fields with 0x and lower case; normalize case only.
        assert {k: [v.lower() for v in vs] for k, vs in got.items()} == want, f"frame {n}"


@pytest.mark.rfc("R6-7", "R9-1")
def test_tshark_icv_verdicts(capture: tuple[list[Frame], list[dict[str, list[str]]], list[str]]) -> None:
    frames, _, per_frame = capture
    for fr, text in zip(frames, per_frame, strict=True):
        verdicts = [line for line in text.splitlines() if "Integrity Checksum Data:" in line]
        if fr.keys is None:
            assert verdicts == []
            assert decode(fr.wire) == fr.msg
            continue
        [verdict] = verdicts
        assert ("[correct]" in verdict) is not fr.tampered
        if fr.tampered:
            with pytest.raises(IntegrityError):
                decode(fr.wire, fr.keys)
        else:
            assert decode(fr.wire, fr.keys) == fr.msg


def test_tshark_names_no_malformed_packet(
    capture: tuple[list[Frame], list[dict[str, list[str]]], list[str]],
) -> None:
    # The tampered GCM frame is left out: tshark parses its (wrong) plaintext even so.
    frames, _, per_frame = capture
    for fr, text in zip(frames, per_frame, strict=True):
        if not fr.tampered:
            assert "Malformed" not in text and "Expert Info (Error" not in text


def test_keys_file_works_as_wireshark_profile_file(tmp_path: Path) -> None:
    # The file itself (not only the -o form) is a valid ikev2_decryption_table UAT: placed in the
    # personal configuration directory, tshark decrypts both suites with it.
    assert TSHARK is not None
    frames = [fr for fr in _frames() if fr.keys is not None and not fr.tampered]
    pcap = tmp_path / "p.pcap"
    with pcap.open("wb") as f:
        w = PcapWriter(f)
        for i, fr in enumerate(frames):
            w.write_ike(float(i), fr.wire, "192.0.2.1", "192.0.2.2", nat_t=fr.nat_t)
    conf = tmp_path / "config" / "wireshark"
    conf.mkdir(parents=True)
    write_keys_file(conf / "ikev2_decryption_table", {(SPI_I, SPI_R): CBC, GCM_SPIS: GCM})
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [TSHARK, "-n", "-r", str(pcap), "-V"], capture_output=True, text=True, timeout=60, check=True, env=env
    ).stdout
    verdicts = [line for line in out.splitlines() if "Integrity Checksum Data:" in line]
    assert len(verdicts) == len(frames) and all("[correct]" in v for v in verdicts)
    assert out.count("Decrypted Data") == len(frames)
