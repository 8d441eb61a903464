"""One writer per results folder: ``<results>/.lock`` names the sweep that owns the folder.

Two sweeps writing one folder lose rows: the second one's ``--force`` deletes the first one's
fragments and the first one's final write then replaces runs.parquet without the second one's runs.
So a sweep takes the lock before it reads or clears anything and keeps it until its last write.

The lock is a POSIX record lock (``fcntl.lockf``) on the file, held by the sweep's main process:
the kernel releases it when that process ends, however it ends (SIGKILL included), so a lock file
left behind by a dead process is stale by construction and the next sweep takes it over. Record
locks are not inherited by forked pool workers, so orphaned workers cannot keep a folder locked.
The file's text (pid, host, start time) is only for the message naming the owner. Within one
process a set of held paths stands in for the kernel lock, which does not exclude its own holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from hasim.errors import ConfigError
from hasim.experiments.provenance import now_utc

LOCK_NAME = ".lock"
_HELD: set[str] = set()


def _owner_text(path: Path) -> str:
    """``pid N on HOST since TIME`` from a lock file, or a note that it is unreadable."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {int(owner['pid'])} on {owner['host']} since {owner['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (owner not recorded yet)"


def lock_holder(folder: Path) -> str | None:
    """Who holds the lock of ``folder`` right now (``pid N on HOST since T``), or None when no one does."""
    path = folder / LOCK_NAME
    if str(path.resolve()) in _HELD:
        return f"pid {os.getpid()} on {socket.gethostname()} (this process)"
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return _owner_text(path)
    finally:
        os.close(fd)  # closing any descriptor of the file drops this process's own test lock
    return None


class ResultsLock:
    """Exclusive ownership of a results folder for the duration of a ``with`` block.

    Entering raises ConfigError naming the owner (pid, host, start) when another sweep holds it.
    ``took_over`` tells whether a lock file of a dead process was found and replaced.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self.took_over = False
        self._fd: int | None = None
        self._key = ""

    def __enter__(self) -> ResultsLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = str(self.path.resolve())
        if self._key in _HELD:
            raise ConfigError("results", f"{self.path.parent} is locked by this process (a sweep is running)")
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise ConfigError(
                    "results",
                    f"{self.path.parent} is locked by a running sweep ({_owner_text(self.path)}); "
                    f"wait for it to finish or stop it",
                ) from None
            # The owner may have removed the file between our open and our lock: retry on the new one.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.took_over = os.fstat(fd).st_size > 0
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now_utc()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode() + b"\n", 0)
        self._fd = fd
        _HELD.add(self._key)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None
            _HELD.discard(self._key)


def results_status(folder: Path, manifest: dict[str, Any]) -> str:
    """The manifest's status, with ``running`` read as ``interrupted`` when no sweep holds the folder
    (a sweep killed, or one whose last manifest write failed on a full disk)."""
    status = str(manifest.get("status", "unknown"))
    if status == "running" and lock_holder(folder) is None:
        return "interrupted"
    return status
