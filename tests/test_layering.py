"""Imports flow down only: wire and protocol must not pull in SimPy, NumPy or a higher floor."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = {
    "hasim.wire": ["simpy", "numpy", "pandas", "hasim.protocol", "hasim.sim", "hasim.experiments"],
    "hasim.protocol": ["simpy", "numpy", "pandas", "hasim.sim", "hasim.experiments"],
    "hasim.sim": ["hasim.experiments", "hasim.cli"],
}


def _imported_after(module: str) -> set[str]:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({module!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize("floor", sorted(FORBIDDEN))
def test_floor_imports_only_lower_floors(floor: str) -> None:
    loaded = _imported_after(floor)
    bad = [f for f in FORBIDDEN[floor] if any(m == f or m.startswith(f + ".") for m in loaded)]
    assert not bad, f"{floor} (and its submodules) imported {bad}"
