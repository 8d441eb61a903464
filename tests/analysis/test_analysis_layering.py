"""The model stays pure: hasim.analysis imports NumPy at most, never SimPy or a simulator floor."""

from __future__ import annotations

import subprocess
import sys


def test_analysis_imports_no_simulator() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import hasim.analysis as pkg\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    bad = [
        m for m in loaded if m.split(".")[0] == "simpy" or m.startswith(("hasim.sim", "hasim.experiments"))
    ]
    assert not bad
