"""Peak resident memory of this process since a given point (Linux: the VmHWM high-water mark).

``getrusage().ru_maxrss`` is the peak over the whole life of the process and survives fork and exec,
so a benchmark run after others (or in a child of a large process) would report their peak. VmHWM
belongs to the address space: fresh after exec, and reset by writing 5 to /proc/self/clear_refs.
"""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")


def reset_peak() -> None:
    """Start measuring the peak from the current resident size (no-op where Linux's file is absent)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    """Peak resident MiB since ``reset_peak`` (or exec); ``ru_maxrss`` where /proc is missing."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
