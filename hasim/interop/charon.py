"""strongSwan's charon as a child process: its own strongswan.conf, vici socket and log in a temp dir.

``charon-systemd`` runs in the foreground (it forks nothing and needs no systemd) inside the network
namespace, with a configuration that loads only the plugins an IKE-only SA needs, listens on
loopback, logs to a file, and talks vici on a socket in the work directory. ``swanctl`` loads the
connection (pre-shared key, one proposal, ``mobike = no``, ``childless = force``, a short DPD delay
so that charon also sends requests) and initiates or terminates the IKE SA. The process is stopped
by its PID, never by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hasim.interop.netns import NetNamespace

CONNECTION = "hasim"


@dataclass(frozen=True)
class CharonSettings:
    """What the driver and charon agree on: ports, identities, secret, DPD delay."""

    workdir: Path
    charon_port: int = 500
    hasim_port: int = 5500
    address: str = "127.0.0.1"
    charon_id: str = "charon.hasim.test"
    hasim_id: str = "member.hasim.test"
    psk: str = "hasim interop pre-shared key"
    dpd_delay_s: int = 4
    """charon's DPD after this much silence: one DPD in a case's normal phase usually (the tests
    count how many there were; fewer make shorter cases, more steps that are all predicted)."""
    log_level: int = 1

    @property
    def vici_uri(self) -> str:
        return f"unix://{self.workdir / 'charon.vici'}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "charon.log"


def strongswan_conf(s: CharonSettings) -> str:
    """charon's own strongswan.conf (read through the STRONGSWAN_CONF variable)."""
    return f"""charon-systemd {{
  load_modular = no
  load = random nonce openssl aes sha2 hmac kdf kernel-netlink socket-default vici
  port = {s.charon_port}
  port_nat_t = {s.charon_port + 4000}
  install_routes = no
  install_virtual_ip = no
  retransmit_timeout = 2
  retransmit_tries = 1
  plugins {{
    vici {{
      socket = {s.vici_uri}
    }}
  }}
  filelog {{
    hasim {{
      path = {s.log_path}
      default = {s.log_level}
      flush_line = yes
      time_format = %H:%M:%S
    }}
  }}
  journal {{
    default = -1
  }}
}}
swanctl {{
  load = random nonce openssl
}}
"""


def swanctl_conf(s: CharonSettings) -> str:
    """The one connection: charon initiates a childless IKE SA to hasim with a pre-shared key."""
    return f"""connections {{
  {CONNECTION} {{
    version = 2
    local_addrs = {s.address}
    remote_addrs = {s.address}
    local_port = {s.charon_port}
    remote_port = {s.hasim_port}
    proposals = aes128-sha256-x25519
    mobike = no
    fragmentation = no
    childless = force
    dpd_delay = {s.dpd_delay_s}s
    local {{
      auth = psk
      id = {s.charon_id}
    }}
    remote {{
      auth = psk
      id = {s.hasim_id}
    }}
  }}
}}
secrets {{
  ike-{CONNECTION} {{
    id-1 = {s.charon_id}
    id-2 = {s.hasim_id}
    secret = "{s.psk}"
  }}
}}
"""


def unavailable_reason() -> str | None:
    """Why charon cannot be run here (programs missing), or None."""
    for prog in ("charon-systemd", "swanctl"):
        if shutil.which(prog) is None:
            return f"{prog} is not installed (apt-get install charon-systemd strongswan-swanctl)"
    return None


class Charon:
    """One charon-systemd process in ``netns``; ``start()``, swanctl commands, ``stop()``."""

    def __init__(self, settings: CharonSettings, netns: NetNamespace) -> None:
        self.s = settings
        self.netns = netns
        self.proc: subprocess.Popen[bytes] | None = None
        self._env = dict(os.environ, STRONGSWAN_CONF=str(settings.workdir / "strongswan.conf"))

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, timeout: float = 10.0) -> None:
        """Write the configuration, start charon and load the connection over vici."""
        self.s.workdir.mkdir(parents=True, exist_ok=True)
        (self.s.workdir / "strongswan.conf").write_text(strongswan_conf(self.s))
        (self.s.workdir / "swanctl.conf").write_text(swanctl_conf(self.s))
        out = (self.s.workdir / "charon.stdout").open("wb")
        self.proc = subprocess.Popen(
            [*self.netns.exec_prefix(), "charon-systemd"], env=self._env, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        deadline = time.monotonic() + timeout
        vici = self.s.workdir / "charon.vici"
        while not vici.exists():
            if self.proc.poll() is not None:
                raise OSError(f"charon-systemd exited with {self.proc.returncode} (see {self.s.log_path})")
            if time.monotonic() > deadline:
                raise OSError(f"charon's vici socket {vici} did not appear within {timeout} s")
            time.sleep(0.05)
        done = self.swanctl("--load-all", "--file", str(self.s.workdir / "swanctl.conf"))
        if done.returncode != 0:
            raise OSError(f"swanctl --load-all failed: {done.stdout.strip()}")

    def swanctl(self, *args: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
        """Run swanctl against this charon's vici socket and wait for it."""
        return subprocess.run(
            ["swanctl", *args, "--uri", self.s.vici_uri],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def swanctl_background(self, *args: str) -> subprocess.Popen[str]:
        """Start swanctl (e.g. --initiate, which waits for the exchange hasim must answer first)."""
        return subprocess.Popen(
            ["swanctl", *args, "--uri", self.s.vici_uri],
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def log_lines(self) -> list[str]:
        """charon's log so far, one string per line."""
        try:
            return self.s.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM to charon's PID, SIGKILL after ``timeout``; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode
