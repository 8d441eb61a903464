"""Where a result came from: hasim version, git revision (and whether the tree was dirty), host, time.

Every run row carries the version and revision, and ``manifest.json`` carries the full record, so a
reviewer can tell which code produced a figure (DESIGN.md: never mix results of two code versions).
"""

from __future__ import annotations

import datetime as dt
import platform
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import hasim


@dataclass(frozen=True)
class CodeVersion:
    """The code that produced a result: package version, git commit and whether the tree had edits."""

    hasim_version: str
    git_revision: str
    git_dirty: bool

    def columns(self) -> dict[str, str]:
        """The run row's columns naming this code (:data:`RAN_COLUMNS`); ``-dirty`` marks edits."""
        return {
            "hasim_version": self.hasim_version,
            "git_revision": self.git_revision + "-dirty" * self.git_dirty,
        }


RAN_COLUMNS = ("hasim_version", "git_revision")
"""The columns of a run row naming the code that ran it, as the process that ran it read them (a Dask
worker may import hasim from another checkout than the sweep's client)."""


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@lru_cache(maxsize=1)
def code_version() -> CodeVersion:
    """The running hasim's version and the git state of its source tree ("unknown" outside git), read
    once per process: a process runs the code it imported, whatever its checkout does later."""
    revision, dirty = tree_state(Path(hasim.__file__).resolve().parent.parent)
    return CodeVersion(hasim.__version__, revision, dirty)


def revision_counts(revisions: Iterable[str]) -> dict[str, int]:
    """How many runs each git revision ran, from their rows' ``git_revision`` (for the manifest)."""
    return dict(sorted(Counter(map(str, revisions)).items()))


def tree_state(root: Path) -> tuple[str, bool]:
    """The git revision at ``root`` ("unknown" outside git) and whether a tracked file outside
    ``results/`` has uncommitted edits (a sweep rewriting its own committed results edits no code)."""
    revision = _git(["rev-parse", "HEAD"], root)
    if revision is None:
        return "unknown", False
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"], root)
    return revision, bool(status)


def now_utc() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def host_info() -> dict[str, str]:
    """The machine and interpreter, for the manifest."""
    import numpy

    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "executable": sys.executable,
    }
