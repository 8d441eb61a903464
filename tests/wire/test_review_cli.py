"""``hasim decode`` error paths: every bad input is one line on stderr, exit code 2, no traceback,
and nothing on stdout when nothing decoded; plus the new acceptances (critical SK payload)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hasim.cli import main
from hasim.wire.keysfile import keys_file_line, write_keys_file
from hasim.wire.pcap import PcapWriter

from .test_review_golden import (
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


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


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
    from .test_review_golden import HEADER, h

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
