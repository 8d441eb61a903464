"""``hasim decode``: hand-made messages in, the named fields out (text, JSON, stdin, pcap with keys);
every bad input is one line on stderr, exit code 2, no traceback, and nothing on stdout when nothing
decoded; a critical SK payload is accepted.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wire.vectors import (
    CBC,
    CHAIN,
    GCM,
    P1,
    P2,
    P3_CRITICAL,
    P4,
    P5,
    P6,
    P7,
    P8,
    PLAIN,
    SPI_I,
    SPI_R,
    cbc_wire,
)

from hasim.cli import main
from hasim.wire import Message, MessageIdSync, ReplayCounterSync, SkKeys, SkSuite, encode
from hasim.wire.keysfile import keys_file_line, write_keys_file
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


def one_line_exit_2(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hasim: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("arg", "words"),
    [
        ("xyz", "not hexadecimal"),
        ("0x12g4", "not hexadecimal"),
        ("abc", "odd number of hex digits"),
        (PLAIN.hex()[:-1], "odd number of hex digits"),
        ("", "empty message"),
        ("0x", "empty message"),
        (" \t ", "empty message"),
        (PLAIN.hex()[:-2], "at byte offset 24"),  # one octet short: the Length field lies
        ("ff" * 27, "truncated IKE header"),
        ((PLAIN[:17] + b"\x10" + PLAIN[18:]).hex(), "at byte offset 17"),  # IKEv1 major version
    ],
)
def test_bad_hex(capsys: pytest.CaptureFixture[str], arg: str, words: str) -> None:
    assert words in one_line_exit_2(capsys, "decode", "--json", arg)


def test_unknown_critical_payload_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from wire.vectors import HEADER, h

    bad = HEADER + h(P1 + P2 + P3_CRITICAL + P4 + P5 + P6 + P7 + P8)
    line = one_line_exit_2(capsys, "decode", bad.hex())
    assert "at byte offset 60" in line and "payload type 200" in line


def test_empty_and_bad_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert "no message on standard input" in one_line_exit_2(capsys, "decode")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    assert "no message on standard input" in one_line_exit_2(capsys, "decode", "-")
    monkeypatch.setattr("sys.stdin", io.StringIO("zz\n"))
    assert "line 1" in one_line_exit_2(capsys, "decode")


def _pcap(tmp_path: Path, wire: bytes = PLAIN) -> Path:
    path = tmp_path / "x.pcap"
    with path.open("wb") as f:
        PcapWriter(f).write_ike(1.0, wire, "10.0.0.1", "10.0.0.2")
    return path


def test_pcap_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "No such file" in one_line_exit_2(capsys, "decode", "--pcap", str(tmp_path / "missing.pcap"))
    assert "Is a directory" in one_line_exit_2(capsys, "decode", "--pcap", str(tmp_path))
    assert "Is a directory" in one_line_exit_2(capsys, "decode", "--keys", str(tmp_path), PLAIN.hex())
    good = _pcap(tmp_path).read_bytes()
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    assert "truncated pcap global header" in one_line_exit_2(capsys, "decode", "--pcap", str(empty))
    short = tmp_path / "short.pcap"
    short.write_bytes(good[:-1])  # the only record's frame is one octet short
    assert "at byte offset 32" in one_line_exit_2(capsys, "decode", "--pcap", str(short))
    head_cut = tmp_path / "head.pcap"
    head_cut.write_bytes(good[:30])  # 6 of 16 record header octets
    assert "truncated pcap record header" in one_line_exit_2(capsys, "decode", "--pcap", str(head_cut))
    text = tmp_path / "notes.txt"
    text.write_text("this is not a capture file, just some text\n")
    assert "not a classic pcap" in one_line_exit_2(capsys, "decode", "--pcap", str(text))
    both = one_line_exit_2(capsys, "decode", "--pcap", str(_pcap(tmp_path)), PLAIN.hex())
    assert "not both" in both
    # A frame whose IKE message is malformed names the frame.
    assert "frame 1" in one_line_exit_2(capsys, "decode", "--pcap", str(_pcap(tmp_path, PLAIN[:-1])))


@pytest.mark.parametrize(
    "content",
    [
        "garbage\n",
        "\x00\xff\xfe binary\n",
        keys_file_line(SPI_I, SPI_R, CBC).replace("AES-CBC-128", "AES-CBC-256") + "\n",  # unsupported
        keys_file_line(SPI_I, SPI_R, CBC).replace("f0e1", "zz", 1) + "\n",  # SK_ei not hex
        keys_file_line(SPI_I, SPI_R, GCM)[:-1] + ",extra\n",  # 9 fields
        keys_file_line(SPI_I, SPI_R, CBC)[2:] + "\n",  # SPIi of 7 octets
    ],
)
def test_wrong_keys_file_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str) -> None:
    keys = tmp_path / "keys"
    keys.write_text(content, errors="surrogateescape")
    assert "keys file line 1" in one_line_exit_2(capsys, "decode", "--keys", str(keys), PLAIN.hex())


def test_wrong_or_missing_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wire = cbc_wire(CHAIN, bytes(15), 192, 164)
    assert "No such file" in one_line_exit_2(capsys, "decode", "--keys", str(tmp_path / "nope"), wire.hex())
    # A well-formed table giving these SPIs other keys (the two directions swapped).
    keys = tmp_path / "keys"
    write_keys_file(keys, {(SPI_I, SPI_R): type(CBC)(CBC.suite, CBC.sk_er, CBC.sk_ei, CBC.sk_ar, CBC.sk_ai)})
    line = one_line_exit_2(capsys, "decode", "--keys", str(keys), wire.hex())
    assert "ICV does not verify" in line and "at byte offset 176" in line  # 192 - 16
    line = one_line_exit_2(capsys, "decode", "--keys", str(keys), "--pcap", str(_pcap(tmp_path, wire)))
    assert "frame 1" in line and "ICV does not verify" in line


def test_critical_sk_payload_decodes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    write_keys_file(keys, {(SPI_I, SPI_R): CBC})
    code, out, err = run(
        capsys, "decode", "--json", "--keys", str(keys), cbc_wire(CHAIN, bytes(15), 192, 164, "80").hex()
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["protected"] is True and obj["message_id"] == 0xFFFFFFFF and len(obj["payloads"]) == 8
    assert obj["payloads"][5]["data"] == {"delta": 2**64 - 1, "esn": True}


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["decode", "zz"], b""),
        (["decode"], b"\xff\xfe\x00\x01\n"),  # not even text
        (["decode", "--pcap", "/nonexistent/x.pcap"], b""),
        (["decode", "--json"], b""),
    ],
)
def test_real_process_has_no_traceback(argv: list[str], stdin: bytes) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hasim.cli import main; sys.argv[0] = 'hasim'; main()",
            *argv,
        ],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == b""
    err = result.stderr.decode(errors="replace").strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hasim: error: ")
