"""A throw-away Linux network namespace with only loopback up, for talking to a real IKE daemon.

``ip netns add`` makes it; the daemon is started with ``ip netns exec``; hasim's own UDP socket is
created inside it by switching this thread into the namespace with setns(2) for the moment of the
``socket()``/``bind()`` calls (a socket stays in the namespace it was created in). Needs root
(CAP_SYS_ADMIN); ``unavailable_reason`` says why not when it cannot work.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess

CLONE_NEWNET = 0x40000000


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


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
        """``ip netns del NAME`` (idempotent)."""
        if self.created:
            _ip("netns", "del", self.name)
            self.created = False


def unavailable_reason() -> str | None:
    """Why a namespace cannot be made here (not root, no ``ip``, no netns support), or None."""
    if os.geteuid() != 0:
        return "needs root to create a network namespace (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = NetNamespace(f"hasim-probe-{os.getpid()}")
    try:
        probe.create()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot create a network namespace: {exc}"
    finally:
        probe.remove()
    return None
