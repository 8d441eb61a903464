"""The C heap kept by the process for the length of one run (glibc; elsewhere nothing changes).

A large run's passes over all flows (every sync interval) make and free NumPy arrays of megabytes: a
million copies in flight and more at 30,000 peers, each array 8 bytes a copy. glibc hands such
blocks back to the kernel as soon as they are freed (above its mmap threshold each is a mapping of
its own; free memory at the top of the heap beyond its trim threshold is given back), so the next
pass touches fresh pages again, and a page fault costs more than the arithmetic done on the page: the
kernel's time grew with the arrays, faster than the peers (docs/performance.md, "100,000 peers").
During a run blocks up to glibc's largest mmap threshold (32 MiB) come from the heap and the heap is
not trimmed, so a pass reuses the pages the last one freed; afterwards glibc's default thresholds
are set again and the free memory goes back to the kernel (``malloc_trim``). Results do not depend on
it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameters (malloc.h)."""

RUN_MMAP_THRESHOLD = 32 * 2**20
"""Blocks from this size on are mappings of their own while a run is on (glibc's upper bound)."""

RUN_TRIM_THRESHOLD = 2**31 - 1
"""Free memory at the top of the heap kept while a run is on (in effect all of it)."""

DEFAULT_THRESHOLD = 128 * 2**10
"""glibc's default for both thresholds, set again after a run."""


@lru_cache(maxsize=1)
def _glibc() -> ctypes.CDLL | None:
    """The C library the process runs on if it is glibc (``mallopt`` and ``malloc_trim`` with glibc's
    meaning), else None; looked up once, among the symbols already loaded."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
    except (OSError, AttributeError):
        return None
    return libc


@contextmanager
def heap_kept() -> Iterator[None]:
    """Keep freed memory in the heap for the duration of the block (see the module docstring)."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, RUN_MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, RUN_TRIM_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, DEFAULT_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_THRESHOLD)
        libc.malloc_trim(0)
