"""``hasim decode``: show IKEv2 messages (hex or a pcap file) like a protocol analyser, or as JSON.

Bad input (not hex, malformed message, wrong ICV, unreadable file) raises DecodeError or OSError,
which ``hasim.cli.main`` turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import click

from hasim.errors import DecodeError
from hasim.wire.describe import message_json, message_lines
from hasim.wire.esp import decode_esp_header
from hasim.wire.keysfile import read_keys_file
from hasim.wire.message import Message
from hasim.wire.message import decode as decode_message
from hasim.wire.pcap_read import CapturedPacket, read_pcap, read_pcap_file
from hasim.wire.sk import SkKeys

_HEX = frozenset(string.hexdigits)
_IGNORED = frozenset(" \t\r\n:")


def parse_hex(text: str) -> bytes:
    """Octets from hex text; whitespace and colons are ignored, a leading ``0x`` is allowed."""
    text = text.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    digits: list[str] = []
    for i, ch in enumerate(text):
        if ch in _IGNORED:
            continue
        if ch not in _HEX:
            raise DecodeError(len(digits) // 2, f"not hexadecimal: {ch!r} at character {i}")
        digits.append(ch)
    if len(digits) % 2:
        raise DecodeError(len(digits) // 2, "odd number of hex digits")
    if not digits:
        raise DecodeError(0, "empty message (give the message as hex)")
    return bytes.fromhex("".join(digits))


def _with_context(exc: DecodeError, context: str, shift: int = 0) -> DecodeError:
    """The same error (same class, IntegrityError stays one), shifted and prefixed with where it was."""
    return type(exc)(exc.offset + shift, f"{context}: {exc.reason}")


def _decode(data: bytes, table: Mapping[tuple[int, int], SkKeys]) -> Message:
    keys = None
    if len(data) >= 16:
        keys = table.get((int.from_bytes(data[:8], "big"), int.from_bytes(data[8:16], "big")))
    return decode_message(data, keys)


def _hex_messages(message: str | None) -> Iterator[tuple[str, bytes]]:
    if message is not None and message != "-":
        yield "", parse_hex(message)
        return
    empty = True
    for n, line in _stdin_lines():
        if not line.strip():
            continue
        empty = False
        try:
            yield f"line {n}", parse_hex(line)
        except DecodeError as exc:
            raise _with_context(exc, f"line {n}") from None
    if empty:
        raise DecodeError(0, "no message on standard input (one hex message per line)")


LINE_LIMIT = 1 << 20
"""The longest line read from standard input, in characters: an IKE message over UDP is under 65,536
octets, some 200,000 characters of hex with separators. Lines are read one at a time and at most this
long, so that endless input (``< /dev/zero``) is refused instead of read until memory runs out."""


def _stdin_lines() -> Iterator[tuple[int, str]]:
    n = 0
    while line := sys.stdin.readline(LINE_LIMIT + 1):
        n += 1
        if len(line.rstrip("\r\n")) > LINE_LIMIT:
            raise DecodeError(0, f"line {n}: longer than {LINE_LIMIT:,} characters (one hex message a line)")
        yield n, line


def _emit_message(data: bytes, msg: Message, as_json: bool, extra: dict[str, object], header: str) -> None:
    if as_json:
        click.echo(json.dumps({**extra, **message_json(msg, len(data))}))
    else:
        if header:
            click.echo(header)
        click.echo("\n".join(message_lines(msg, len(data))))


def _frame_header(p: CapturedPacket) -> str:
    if p.sport == p.dport == 0:  # ESP as IP protocol 50
        return f"Frame {p.frame} at {p.time_ns / 1e9:.6f} s: {p.src} -> {p.dst} (IP protocol 50)"
    return f"Frame {p.frame} at {p.time_ns / 1e9:.6f} s: {p.src}:{p.sport} -> {p.dst}:{p.dport}"


@click.command("decode")
@click.argument("message", required=False)
@click.option(
    "--pcap",
    "pcap_path",
    type=click.Path(path_type=Path),  # a directory fails on reading: one error line
    help="Decode every IKE message (and list ESP packets) of a classic pcap file.",
)
@click.option(
    "--keys",
    "keys_path",
    type=click.Path(path_type=Path),  # a directory fails on reading: one error line
    help="Wireshark ikev2_decryption_table file: verify and decrypt SK payloads of those IKE SAs.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message (JSON Lines).")
def decode(message: str | None, pcap_path: Path | None, keys_path: Path | None, as_json: bool) -> None:
    """Decode IKEv2 messages: MESSAGE as hex, '-' or nothing for hex on stdin (one message per
    line), or --pcap FILE. RFC 6311 notifies are shown field by field."""
    table = read_keys_file(keys_path) if keys_path is not None else {}
    if pcap_path is not None:
        if message is not None:
            raise DecodeError(0, "give either a hex MESSAGE or --pcap FILE, not both")
        first = True
        for p in read_pcap(read_pcap_file(pcap_path)):
            where = f"frame {p.frame}"
            if p.kind == "esp":
                try:
                    esp = decode_esp_header(p.payload)
                except DecodeError as exc:
                    raise _with_context(exc, where, p.file_offset) from None
                if not as_json:
                    click.echo(("" if first else "\n") + _frame_header(p))
                    click.echo(
                        f"  ESP SPI 0x{esp.spi:08x}, sequence number {esp.seq}, "
                        f"{len(p.payload) - 8} octets of payload"
                    )
                    first = False
                continue
            try:
                msg = _decode(p.payload, table)
            except DecodeError as exc:
                raise _with_context(exc, f"{where} (message at file offset {p.file_offset})") from None
            extra = {
                "frame": p.frame,
                "time": p.time_ns / 1e9,
                "src": p.src,
                "dst": p.dst,
                "sport": p.sport,
                "dport": p.dport,
            }
            _emit_message(p.payload, msg, as_json, extra, ("" if first else "\n") + _frame_header(p))
            first = False
        return
    first = True
    for where, data in _hex_messages(message):
        try:
            msg = _decode(data, table)
        except DecodeError as exc:
            raise (_with_context(exc, where) if where else exc) from None
        if not (as_json or first):
            click.echo("")
        _emit_message(data, msg, as_json, {}, "")
        first = False
