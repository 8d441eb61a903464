"""A progress bar for one long run: simulated seconds against the scenario's duration.

The simulator runs in the calling thread; a daemon thread reads its clock (``hasim.sim.simulate``'s
``on_clock``) a few times a second and moves a tqdm bar, so the run's events and results are exactly
those of a run without the bar. tqdm's ``delay`` keeps the bar away from runs shorter than a few
seconds, it is shown only on a terminal, and past the duration it says that the run is deciding the
SAs' fates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any


class SimClockBar:
    """``with SimClockBar(duration_s, "site_to_site") as bar: simulate(..., on_clock=bar.attach)``."""

    def __init__(
        self,
        duration_s: float,
        desc: str,
        *,
        enabled: bool = True,
        delay_s: float = 2.0,
        file: IO[str] | None = None,
    ) -> None:
        self.file = file
        self.duration_s = duration_s
        self.desc = desc
        self.enabled = enabled
        self.delay_s = delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None

    def attach(self, clock: Callable[[], float]) -> None:
        """Start following ``clock`` (the simulated time, in seconds)."""
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=round(self.duration_s, 1),
            desc=self.desc,
            unit="sim s",
            delay=self.delay_s,
            file=self.file,
            disable=None if self.file is None else False,  # None: only on a terminal
            bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} simulated s [{elapsed}<{remaining}]{postfix}",
        )
        self._thread = threading.Thread(target=self._follow, args=(clock,), daemon=True)
        self._thread.start()

    def _follow(self, clock: Callable[[], float]) -> None:
        deciding = False
        while not self._stop.wait(0.25):
            now = clock()
            if now > self.duration_s and not deciding:
                deciding = True
                self._bar.set_postfix_str("deciding the SAs' fates", refresh=False)
            self._advance(now)

    def _advance(self, now: float) -> None:
        """Move the bar through ``update`` (which respects tqdm's delay), never past the total."""
        step = round(min(now, self.duration_s) - self._bar.n, 1)
        if step > 0:
            self._bar.update(step)

    def __enter__(self) -> SimClockBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            if kind is None:
                self._advance(self.duration_s)
            self._bar.close()
