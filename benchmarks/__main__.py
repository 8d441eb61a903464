"""Run every benchmark module and print one ``bench <name> key=value ...`` line per figure.

The first line names the machine and library versions so that figures can be compared across runs.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys

import numpy
import simpy


def main() -> None:
    """Print the machine line, then run each ``benchmarks/bench_*.py`` (optionally filtered by argv)."""
    wanted = set(sys.argv[1:])
    print(
        f"bench machine cpu={platform.machine()} python={platform.python_version()} "
        f"numpy={numpy.__version__} simpy={simpy.__version__}",
        flush=True,
    )
    import benchmarks

    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        if wanted and info.name.removeprefix("bench_") not in wanted:
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        module.main()


if __name__ == "__main__":
    main()
