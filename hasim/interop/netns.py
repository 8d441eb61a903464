"""A throw-away Linux network namespace with only loopback up, for talking to a real IKE daemon.

``ip netns add`` makes it; the daemon is started with ``ip netns exec``; hasim's own UDP socket is
created inside it by switching this thread into the namespace with setns(2) for the moment of the
``socket()``/``bind()`` calls (a socket stays in the namespace it was created in). Needs root
(CAP_SYS_ADMIN); ``unavailable_reason`` says why not when it cannot work.

On a busy machine ``ip netns del`` can take well over ten seconds (the kernel tears the namespace
down asynchronously and the unmount waits), so a name is never reused: ``unique_name`` adds a random
part to the pid, removal waits up to ``REMOVE_TIMEOUT_S`` and checks that the name is gone, and
``remove_leftovers`` deletes namespaces of this prefix left by processes that have ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
REMOVE_TIMEOUT_S = 60.0
_NETNS_DIR = Path("/run/netns")


def _ip(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout, check=False)


def unique_name(prefix: str) -> str:
    """``<prefix>-<pid>-<random>``: unique even when a namespace of an earlier run is still going away."""
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(prefix: str) -> list[str]:
    """Delete namespaces named ``<prefix>-<pid>-...`` whose process has ended; returns their names."""
    removed = []
    for path in sorted(_NETNS_DIR.glob(f"{prefix}-*")) if _NETNS_DIR.is_dir() else []:
        pid = path.name.removeprefix(f"{prefix}-").split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            ns = NetNamespace(path.name)
            ns.created = True
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                ns.remove()
                removed.append(path.name)
    return removed


class NetNamespace:
    """A named network namespace: ``create()``, ``udp_socket(host, port)``, ``remove()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.created = False

    def create(self) -> None:
        """``ip netns add NAME`` and bring ``lo`` up."""
        done = _ip("netns", "add", self.name)
        if done.returncode != 0:
            raise OSError(f"ip netns add {self.name}: {done.stderr.strip()}")
        self.created = True
        up = _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        if up.returncode != 0:
            raise OSError(f"bringing lo up in {self.name}: {up.stderr.strip()}")

    def exec_prefix(self) -> list[str]:
        """The argv prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def udp_socket(self, host: str, port: int) -> socket.socket:
        """A UDP socket bound to ``host:port`` inside the namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.name}")
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind((host, port))
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the original namespace")
        finally:
            os.close(own)
            os.close(target)
        return sock

    def remove(self) -> None:
        """``ip netns del NAME`` and wait until the name is gone (idempotent); OSError if it stays."""
        if not self.created:
            return
        deadline = time.monotonic() + REMOVE_TIMEOUT_S
        while (_NETNS_DIR / self.name).exists():
            left = deadline - time.monotonic()
            if left <= 0:
                raise OSError(f"ip netns del {self.name}: still there after {REMOVE_TIMEOUT_S:.0f} s")
            with contextlib.suppress(subprocess.TimeoutExpired):
                _ip("netns", "del", self.name, timeout=left)
            if (_NETNS_DIR / self.name).exists():
                time.sleep(0.2)
        self.created = False


def unavailable_reason() -> str | None:
    """Why a namespace cannot be made here (not root, no ``ip``, no netns support), or None."""
    if os.geteuid() != 0:
        return "needs root to create a network namespace (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    remove_leftovers("hasim-probe")
    probe = NetNamespace(unique_name("hasim-probe"))
    try:
        probe.create()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create a network namespace: {exc}"
    finally:
        probe.remove()
    return None
