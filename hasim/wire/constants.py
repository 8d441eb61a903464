"""Wire constants of IKEv2 (RFC 7296 section 3, IANA "IKEv2 Parameters") and RFC 6311 section 7."""

from __future__ import annotations

from enum import IntEnum

IKE_HEADER_LEN = 28
"""Octets in the fixed IKE header (RFC 7296 3.1)."""

GENERIC_HEADER_LEN = 4
"""Octets in the generic payload header (RFC 7296 3.2)."""

IKE_VERSION = 0x20
"""Major version 2, minor version 0, as one octet (RFC 7296 3.1)."""

FLAGS_OFFSET = 19
"""Octet of the Flags field in the IKE header: after the two SPIs, Next Payload, Version and Exchange
Type (RFC 7296 3.1)."""

FLAG_INITIATOR = 0x08
"""I flag: set by the original initiator of the IKE SA (RFC 7296 3.1)."""

FLAG_VERSION = 0x10
"""V flag: the sender could speak a higher major version (RFC 7296 3.1); hasim never sets it."""

FLAG_RESPONSE = 0x20
"""R flag: the message is a response to a message with the same Message ID (RFC 7296 3.1)."""

CRITICAL_BIT = 0x80
"""Critical bit in the second octet of the generic payload header (RFC 7296 3.2)."""

RESERVED_BITS = 0x7F
"""The 7 RESERVED bits after the critical bit: sent as zero, ignored on receipt (RFC 7296 3.2)."""

OTHER_FLAGS = 0xFF & ~(FLAG_INITIATOR | FLAG_RESPONSE)
"""Flags bits other than I and R (the V flag and the X bits): a recipient MUST ignore them (RFC 7296 3.1)."""


class ExchangeType(IntEnum):
    """Exchange types (RFC 7296 3.1)."""

    IKE_SA_INIT = 34
    IKE_AUTH = 35
    CREATE_CHILD_SA = 36
    INFORMATIONAL = 37


class PayloadType(IntEnum):
    """Payload types carried in Next Payload fields (RFC 7296 3.2)."""

    NONE = 0
    SA = 33
    KE = 34
    IDI = 35
    IDR = 36
    CERT = 37
    CERTREQ = 38
    AUTH = 39
    NONCE = 40
    NOTIFY = 41
    DELETE = 42
    VENDOR_ID = 43
    TSI = 44
    TSR = 45
    SK = 46
    CP = 47
    EAP = 48


class NotifyType(IntEnum):
    """Notify message types: RFC 7296 3.10.1 error (< 16384) and status types, and RFC 6311 section 7."""

    UNSUPPORTED_CRITICAL_PAYLOAD = 1
    INVALID_IKE_SPI = 4
    INVALID_MAJOR_VERSION = 5
    INVALID_SYNTAX = 7
    INVALID_MESSAGE_ID = 9
    INVALID_SPI = 11
    NO_PROPOSAL_CHOSEN = 14
    INVALID_KE_PAYLOAD = 17
    AUTHENTICATION_FAILED = 24
    SINGLE_PAIR_REQUIRED = 34
    NO_ADDITIONAL_SAS = 35
    INTERNAL_ADDRESS_FAILURE = 36
    FAILED_CP_REQUIRED = 37
    TS_UNACCEPTABLE = 38
    INVALID_SELECTORS = 39
    TEMPORARY_FAILURE = 43
    CHILD_SA_NOT_FOUND = 44
    INITIAL_CONTACT = 16384
    SET_WINDOW_SIZE = 16385
    ADDITIONAL_TS_POSSIBLE = 16386
    IPCOMP_SUPPORTED = 16387
    NAT_DETECTION_SOURCE_IP = 16388
    NAT_DETECTION_DESTINATION_IP = 16389
    COOKIE = 16390
    USE_TRANSPORT_MODE = 16391
    HTTP_CERT_LOOKUP_SUPPORTED = 16392
    REKEY_SA = 16393
    ESP_TFC_PADDING_NOT_SUPPORTED = 16394
    NON_FIRST_FRAGMENTS_ALSO = 16395
    IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420
    IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED = 16421
    IKEV2_MESSAGE_ID_SYNC = 16422
    IPSEC_REPLAY_COUNTER_SYNC = 16423


class ProtocolId(IntEnum):
    """Protocol IDs of Notify and Delete payloads (RFC 7296 3.10, 3.11)."""

    NONE = 0
    IKE = 1
    AH = 2
    ESP = 3


def enum_name(enum: type[IntEnum], value: int) -> str:
    """The enum member's name for ``value``, or the number itself for values hasim does not name."""
    try:
        return enum(value).name
    except ValueError:
        return str(value)
