"""The three error kinds every floor raises; kept here so that no floor imports a higher one."""

from __future__ import annotations

from pathlib import Path


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


def read_utf8(path: Path, what: str) -> str:
    """The text of a user's file; unreadable or not UTF-8 is a ConfigError naming the file and ``what``
    it should be (every floor reads files the user wrote: scenarios, sweeps, READMEs, claims)."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text (byte offset {exc.start}); expected {what}") from None
