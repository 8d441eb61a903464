"""Floor 1: bytes <-> frozen dataclasses (RFC 7296 section 3, RFC 6311 section 6, RFC 4303 header, pcap)."""
