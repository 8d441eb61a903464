"""Wireshark's ``ikev2_decryption_table`` (IKEv2 decryption UAT of packet-isakmp.c).

One line per IKE SA, as strongSwan's save-keys plugin writes it::

    SPIi,SPIr,SK_ei,SK_er,"<encryption algorithm>",SK_ai,SK_ar,"<integrity algorithm>"

SPIs and keys are plain hex; for AES-GCM SK_e* include the 4-octet salt, SK_a* are empty and the
integrity algorithm is "NONE [RFC4306]". The algorithm names are Wireshark's own strings. Put the
file in Wireshark's profile directory, or give a line to tshark with ``-o "uat:ikev2_decryption_table:..."``
(see :func:`tshark_uat_option`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from hasim.errors import DecodeError, read_capped
from hasim.wire.sk import SkKeys, SkSuite

WIRESHARK_NAMES: Mapping[SkSuite, tuple[str, str]] = {
    SkSuite.AES_CBC_128_HMAC_SHA2_256_128: ("AES-CBC-128 [RFC3602]", "HMAC_SHA2_256_128 [RFC4868]"),
    SkSuite.AES_GCM_16_128: ("AES-GCM-128 with 16 octet ICV [RFC5282]", "NONE [RFC4306]"),
}
"""Wireshark's encryption and integrity algorithm names for each suite."""

KeyTable = Mapping[tuple[int, int], SkKeys]
"""(SPIi, SPIr) -> the IKE SA's SK keys."""


def _fields(spi_i: int, spi_r: int, keys: SkKeys) -> list[str]:
    enc, integ = WIRESHARK_NAMES[keys.suite]
    return [
        f"{spi_i:016x}",
        f"{spi_r:016x}",
        keys.sk_ei.hex(),
        keys.sk_er.hex(),
        enc,
        keys.sk_ai.hex(),
        keys.sk_ar.hex(),
        integ,
    ]


def keys_file_line(spi_i: int, spi_r: int, keys: SkKeys) -> str:
    """One ``ikev2_decryption_table`` line (no newline), in strongSwan save-keys layout."""
    f = _fields(spi_i, spi_r, keys)
    return ",".join([*f[:4], f'"{f[4]}"', *f[5:7], f'"{f[7]}"'])


def tshark_uat_option(spi_i: int, spi_r: int, keys: SkKeys) -> str:
    """The value for ``tshark -o``: every field quoted, as UAT records are given on the command line."""
    return "uat:ikev2_decryption_table:" + ",".join(f'"{f}"' for f in _fields(spi_i, spi_r, keys))


def write_keys_file(path: str | Path, table: KeyTable) -> None:
    """Write one line per IKE SA of ``table``."""
    Path(path).write_text("".join(keys_file_line(si, sr, k) + "\n" for (si, sr), k in table.items()))


def _hex(field: str, at: int, line_no: int, what: str) -> bytes:
    try:
        return bytes.fromhex(field)
    except ValueError:
        raise DecodeError(at, f"keys file line {line_no}: {what} is not hex: {field!r}") from None


def parse_keys_file(lines: Iterable[str]) -> dict[tuple[int, int], SkKeys]:
    """Parse table lines (blank lines and ``#`` comments skipped).

    A DecodeError names the byte offset where the bad line starts and its line number.
    """
    by_name = {names: suite for suite, names in WIRESHARK_NAMES.items()}
    table: dict[tuple[int, int], SkKeys] = {}
    at = 0
    for line_no, raw in enumerate(lines, start=1):
        line_at, at = at, at + len(raw.encode())
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        f = [x.strip().strip('"') for x in line.split(",")]
        if len(f) != 8:
            raise DecodeError(line_at, f"keys file line {line_no}: {len(f)} fields (expected 8)")
        suite = by_name.get((f[4], f[7]))
        if suite is None:
            known = "; ".join(f"{e!r} with {i!r}" for e, i in WIRESHARK_NAMES.values())
            raise DecodeError(
                line_at,
                f"keys file line {line_no}: unsupported algorithms {f[4]!r} with {f[7]!r} "
                f"(supported: {known})",
            )
        spi_i, spi_r = _hex(f[0], line_at, line_no, "SPIi"), _hex(f[1], line_at, line_no, "SPIr")
        if len(spi_i) != 8 or len(spi_r) != 8:
            raise DecodeError(line_at, f"keys file line {line_no}: SPIs must be 8 octets")
        try:
            keys = SkKeys(
                suite,
                *(
                    _hex(f[i], line_at, line_no, n)
                    for i, n in ((2, "SK_ei"), (3, "SK_er"), (5, "SK_ai"), (6, "SK_ar"))
                ),
            )
        except ValueError as exc:
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError(line_at, f"keys file line {line_no}: {exc}") from None
        table[(int.from_bytes(spi_i, "big"), int.from_bytes(spi_r, "big"))] = keys
    return table


KEYS_FILE_LIMIT = 64 << 20
"""The largest keys file read: some 200,000 IKE SAs at about 300 octets a line; a bound so that a
device or a stream (``--keys /dev/zero``) is refused instead of read until memory runs out."""


def read_keys_file(path: str | Path) -> dict[tuple[int, int], SkKeys]:
    """Read an ``ikev2_decryption_table`` file (hasim's or strongSwan's save-keys output)."""
    data = read_capped(path, KEYS_FILE_LIMIT)
    if data is None:
        raise DecodeError(KEYS_FILE_LIMIT, f"keys file {path}: larger than {KEYS_FILE_LIMIT >> 20} MiB")
    # newline="": lines end at \n, \r\n or \r as when reading the file as text, and keep their ending
    # so that the byte offsets count it
    return parse_keys_file(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
