"""``hasim decode``: hand-made 16422 message in, the named fields out; garbage in, one line and exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hasim.cli import main
from hasim.wire import Message, MessageIdSync, ReplayCounterSync, SkKeys, SkSuite, encode
from hasim.wire.keysfile import write_keys_file
from hasim.wire.pcap import PcapWriter

# INFORMATIONAL request, Message ID 0, I flag; 16422 (nonce 0x0badcafe, send 9, recv 4) then 16423
# (ESN: 8-octet delta 2**33 = 0x2_0000_0000). Length 28 + 20 + 16 = 64 = 0x40.
SYNC_HEX = (
    "0102030405060708 1112131415161718 29 20 25 08 00000000 00000040"
    " 29 00 0014 00 00 4026 0badcafe 00000009 00000004"
    " 00 00 0010 00 00 4027 00000002 00000000"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.rfc("R6-4", "R6-5")
def test_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "decode", "--json", SYNC_HEX)
    assert code == 0, err
    [line] = out.splitlines()
    obj = json.loads(line)
    assert {
        k: obj[k] for k in ("spi_i", "spi_r", "exchange", "initiator", "response", "message_id", "length")
    } == {
        "spi_i": "0102030405060708",
        "spi_r": "1112131415161718",
        "exchange": "INFORMATIONAL",
        "initiator": True,
        "response": False,
        "message_id": 0,
        "length": 64,
    }
    n1, n2 = obj["payloads"]
    assert (
        n1["type"] == "NOTIFY" and n1["notify_type"] == 16422 and n1["notify_name"] == "IKEV2_MESSAGE_ID_SYNC"
    )
    assert n1["protocol_id"] == 0 and n1["spi_size"] == 0
    assert n1["data"] == {
        "nonce": 0x0BADCAFE,
        "expected_send_req_message_id": 9,
        "expected_recv_req_message_id": 4,
    }
    assert n2["notify_type"] == 16423 and n2["notify_name"] == "IPSEC_REPLAY_COUNTER_SYNC"
    assert n2["data"] == {"delta": 2**33, "esn": True}


def test_text_output_and_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(SYNC_HEX.replace(" ", "") + "\n\n" + SYNC_HEX + "\n"))
    code, out, _ = run(capsys, "decode")
    assert code == 0
    assert out.count("IKEv2 INFORMATIONAL request, Message ID 0, 64 octets") == 2
    assert "EXPECTED_SEND_REQ_MESSAGE_ID: 9" in out and "Incoming IPsec SA delta: 8589934592" in out


@pytest.mark.parametrize(
    "arg",
    ["zz", "0102", "", SYNC_HEX.replace("4026 0badcafe", "4026 0bad"), "ff" * 200, SYNC_HEX[:-2]],
)
def test_garbage_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], arg: str) -> None:
    code, out, err = run(capsys, "decode", "--json", arg)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("hasim: error: at byte offset ")


def test_missing_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "decode", "--pcap", str(tmp_path / "nope.pcap"))
    assert code == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.rfc("R6-7", "R9-1")
def test_pcap_with_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keys = SkKeys(SkSuite.AES_GCM_16_128, bytes(20), bytes([9]) * 20)
    msg = Message(
        5,
        6,
        37,
        False,
        True,
        0,
        (MessageIdSync(1, 2, 3).to_notify(), ReplayCounterSync(7, False).to_notify()),
        protected=True,
    )
    wire = encode(msg, keys, bytes(8))
    pcap, table = tmp_path / "x.pcap", tmp_path / "ikev2_decryption_table"
    with pcap.open("wb") as f:
        PcapWriter(f).write_ike(0.5, wire, "10.1.1.1", "10.1.1.2", nat_t=True)
    write_keys_file(table, {(5, 6): keys})
    code, out, err = run(capsys, "decode", "--json", "--pcap", str(pcap), "--keys", str(table))
    assert code == 0, err
    obj = json.loads(out)
    assert obj["protected"] is True and obj["frame"] == 1 and obj["dport"] == 4500
    assert obj["payloads"][1]["data"] == {"delta": 7, "esn": False}
    # Without keys the SK payload is listed, undecrypted.
    code, out, _ = run(capsys, "decode", "--json", "--pcap", str(pcap))
    assert code == 0 and json.loads(out)["payloads"] == [
        {
            "type": "SK",
            "critical": False,
            "encrypted": True,
            "first_inner": "NOTIFY",
            "length": len(wire) - 28,
        }
    ]
    # A tampered ICV: one line naming the frame, exit 2.
    with pcap.open("wb") as f:
        PcapWriter(f).write_ike(0.5, wire[:-1] + bytes([wire[-1] ^ 1]), "10.1.1.1", "10.1.1.2")
    code, out, err = run(capsys, "decode", "--pcap", str(pcap), "--keys", str(table))
    assert (
        code == 2 and "frame 1" in err and "ICV does not verify" in err and len(err.strip().splitlines()) == 1
    )
