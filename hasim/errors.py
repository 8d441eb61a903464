"""The three error kinds every floor raises, and reading a user's file (text, TOML) into them; kept here
so that no floor imports a higher one."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any


class DecodeError(ValueError):
    """Bytes that are not a valid message: names the byte offset and what is wrong."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"at byte offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


class IntegrityError(DecodeError):
    """An SK payload or ESP packet whose integrity check value does not verify (RFC 7296 3.14)."""


class UnsupportedCriticalPayload(DecodeError):
    """A payload of a type the recipient does not understand with its critical bit set: the whole
    message is rejected (RFC 7296 3.2), and a responder answers UNSUPPORTED_CRITICAL_PAYLOAD (3.10.1)
    carrying ``payload_type`` as its one-octet data."""

    def __init__(self, offset: int, reason: str, payload_type: int = 0) -> None:
        super().__init__(offset, reason)
        self.payload_type = payload_type


class ProtocolError(RuntimeError):
    """A state machine used wrongly by its caller (not a misbehaving remote party)."""


class ConfigError(ValueError):
    """A bad scenario or sweep: names the key, the value given and what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: an error message stays one readable line whatever
    was given (a long string, a huge integer, whose repr Python may even refuse)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits()
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


TEXT_LIMIT = 64 << 20
"""The largest text file read (scenarios, sweeps, claims, notes are a few KB): a bound, so that a
device or endless stream given as one (``--notes /dev/zero``) is refused instead of read until memory
runs out."""


def read_capped(path: str | Path, limit: int) -> bytes | None:
    """The octets of the file at ``path`` if it holds at most ``limit`` of them, else None: at most
    ``limit + 1`` are read, so that a device or an endless stream given as a file costs nothing."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return None if len(data) > limit else data


def read_utf8(path: Path, what: str) -> str:
    """The text of a user's file; unreadable or not UTF-8 is a ConfigError naming the file and ``what``
    it should be (every floor reads files the user wrote: scenarios, sweeps, READMEs, claims)."""
    try:
        data = read_capped(path, TEXT_LIMIT)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read {what}: {exc.strerror or exc}") from None
    if data is None:
        raise ConfigError(str(path), f"larger than {TEXT_LIMIT >> 20} MiB; expected {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text (byte offset {exc.start}); expected {what}") from None


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """The tables of a user's TOML text (``where`` names the file or key in the error).

    Besides a syntax error, tomllib lets two inputs escape as other exceptions: arrays or inline tables
    nested beyond the interpreter's recursion limit (RecursionError) and an integer literal longer than
    ``sys.get_int_max_str_digits()`` (ValueError); both become a ConfigError here.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(where, "not valid TOML: arrays or inline tables nested too deeply") from None
    except ValueError:
        raise ConfigError(where, f"not valid TOML: {_long_integer(text)}") from None


def toml_literal(key: str, text: str) -> Any:
    """A ``--set key=text`` value: a TOML literal (``0.5``, ``true``, ``[1, 2]``), else the bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ConfigError(key, "arrays or inline tables nested too deeply") from None
    except ValueError:
        raise ConfigError(key, f"{_long_integer(text, line_and_column=False)}") from None


def _long_integer(text: str, line_and_column: bool = True) -> str:
    """Where tomllib's ValueError comes from: the first integer literal too long for ``int()``."""
    limit = sys.get_int_max_str_digits()
    for match in re.finditer(r"[0-9][0-9_]*", text):
        digits = len(match.group().replace("_", ""))
        if limit and digits > limit:
            start = match.start()
            line = text.count("\n", 0, start) + 1
            column = start - (text.rfind("\n", 0, start) + 1) + 1
            where = f" (at line {line}, column {column})" if line_and_column else ""
            return f"an integer of {digits} digits, more than {limit}{where}"
    return "a value Python cannot read"


def check_writable(*paths: Path) -> None:
    """ConfigError naming the first of ``paths`` that cannot be written (a folder that does not exist,
    a directory, no permission): checked before a long job, whose results would otherwise be lost when
    it ends and writes them. A missing file is created empty; an existing one is left as it is."""
    for path in paths:
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise ConfigError(str(path), f"cannot write: {exc.strerror or exc}") from None
