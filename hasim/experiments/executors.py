"""Where runs execute: in-process, a local process pool, or a Dask cluster, all as an ``Executor``.

The runner only speaks ``concurrent.futures``: ``submit`` and futures. One worker runs inline
(no pickling, easy to debug); several use ``ProcessPoolExecutor``; ``--dask ADDRESS`` connects a
distributed ``Client`` and uses ``client.get_executor(pure=False)`` (runs are not pure: each has its
own seed but we never want Dask to deduplicate them), and ``--dask local`` starts a ``LocalCluster``
of ``workers`` single-threaded processes first. Same code path for a laptop and a cluster.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from hasim.errors import ConfigError

P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each task at ``submit`` time in the calling process (the one-worker executor)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


@dataclass(frozen=True)
class ExecutorInfo:
    """What the manifest records about the executor."""

    kind: str
    workers: int
    address: str | None = None
    memory_per_run: float | None = None
    """Bytes one run may use on the tightest worker (its memory limit over its threads, each thread
    running one run at a time); None where no worker states a limit (a local pool, an unlimited worker)."""
    tightest_worker: str | None = None
    """The worker that has ``memory_per_run`` (its address)."""


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int, pdeathsig: bool = True) -> None:
    """Pool worker initializer: end this worker when the sweep's main process ends, however it ends.

    Without it a SIGKILLed or SIGTERMed sweep leaves its workers running their runs for minutes,
    holding memory and the terminal's stdout (``hasim sweep ... | tee log`` would never end). On
    Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``; only when
    the pool was started from the main thread, since the signal follows the starting thread); a
    watchdog thread that notices the worker being re-parented covers the rest.
    """
    if pdeathsig and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="hasim-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def default_workers() -> int:
    """Workers when none are asked for: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


WORKERS_PER_CPU = 8
"""The most local worker processes per CPU: a run keeps one CPU busy, so more only add memory, and a
mistyped ``-j 100000000`` would fork until the machine runs out of memory or process slots (a
process pool forks all its workers at its first run)."""


def check_workers(workers: int) -> None:
    """ConfigError for a number of local worker processes below 1 or beyond WORKERS_PER_CPU a CPU."""
    limit = WORKERS_PER_CPU * default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= limit:
        raise ConfigError(
            "--workers",
            f"got {workers}; expected 1..{limit} on this machine ({WORKERS_PER_CPU} per CPU available: "
            "each worker is a process)",
        )


@contextlib.contextmanager
def open_executor(workers: int, dask: str | None = None) -> Iterator[tuple[Executor, ExecutorInfo]]:
    """Yield an executor and its description; shut everything down on exit (cluster included)."""
    if dask in (None, "local"):
        check_workers(workers)
    if dask is None:
        if workers == 1:
            yield InlineExecutor(), ExecutorInfo("inline", 1)
            return
        main = threading.current_thread() is threading.main_thread()
        pool = ProcessPoolExecutor(
            max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(), main)
        )
        try:
            yield pool, ExecutorInfo("process-pool", workers)
        finally:  # on Ctrl-C or an error, drop the queued runs instead of running them first
            pool.shutdown(wait=True, cancel_futures=True)
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if dask == "local":
            cluster: Any = stack.enter_context(
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
            info = ExecutorInfo("dask-local", workers, str(cluster.scheduler_address))
        else:
            client = stack.enter_context(_connect(Client, dask))
            found = client.scheduler_info().get("workers", {})
            per_run, tightest = memory_per_run(found)
            info = ExecutorInfo("dask", len(found) or workers, dask, per_run, tightest)
        executor = client.get_executor(pure=False)
        yield executor, info


def _connect(client: Callable[[str], Any], address: str) -> Any:
    """A Client of the scheduler at ``address``. The address is the user's: malformed, unknown scheme,
    nothing listening or something else answering (distributed then raises ValueError, OSError or even
    MemoryError reading a length it took from foreign bytes); every way it fails is one line naming it."""
    try:
        return client(address)
    except Exception as exc:  # whatever connecting to the address raised
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError("--dask", f"cannot connect to a Dask scheduler at {address!r}: {detail}") from None


def memory_per_run(workers: dict[str, dict[str, Any]]) -> tuple[float | None, str | None]:
    """From a Dask scheduler's worker table: the least memory a run gets on any worker (its
    ``memory_limit`` over its ``nthreads``: a worker runs one task per thread in one process) and that
    worker's address; (None, None) when no worker has a limit (``memory_limit`` 0 or missing)."""
    best: tuple[float | None, str | None] = (None, None)
    for address, w in sorted(workers.items()):
        limit = w.get("memory_limit") or 0
        if limit <= 0:
            continue
        share = float(limit) / max(1, int(w.get("nthreads") or 1))
        if best[0] is None or share < best[0]:
            best = (share, address)
    return best
