"""Imports flow down only: wire and protocol must not pull in SimPy, NumPy or a higher floor, and
the explorer (above protocol and wire, beside the simulator) must not pull in the simulator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = {
    "hasim.wire": ["simpy", "numpy", "pandas", "hasim.protocol", "hasim.sim", "hasim.experiments"],
    "hasim.protocol": ["simpy", "numpy", "pandas", "hasim.sim", "hasim.experiments"],
    "hasim.sim": ["hasim.experiments", "hasim.cli"],
    "hasim.explore": ["simpy", "numpy", "pandas", "hasim.sim", "hasim.experiments", "hasim.cli"],
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


def _runtime_imports(path: Path, module: str) -> set[str]:
    """The hasim modules ``path`` imports when it runs (at the top or inside a function); imports
    under ``if TYPE_CHECKING:`` are annotations only and are left out."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If)
        and ast.unparse(branch.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for stmt in branch.body
        for node in ast.walk(stmt)
    }
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # ``from pkg import module``
    return {m for m in found if m.startswith("hasim")}


def _import_graph(root: Path) -> dict[str, set[str]]:
    modules = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    return {m: _runtime_imports(p, m) & modules.keys() - {m} for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "hasim"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from hasim import b\n")
    (pkg / "b.py").write_text("def f():\n    from hasim.a import x\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hasim import a\n"
    )
    (pkg / "d.py").write_text("from . import c\n")
    assert _cycles(_import_graph(pkg)) == [["hasim.a", "hasim.b"]]


def test_no_import_cycles() -> None:
    """No module of hasim imports itself through others at run time."""
    graph = _import_graph(Path(__file__).resolve().parents[1] / "hasim")
    assert "hasim.sim.scale.bank" in graph and "hasim.protocol.ike_sa" in graph  # the whole tree is read
    assert _cycles(graph) == []


SIM_PACKAGES = ["scenario", "dataplane", "model", "scale"]
"""hasim.sim's subpackages, each importing only those before it (and modules outside them)."""


def test_sim_subpackages_import_only_earlier_ones() -> None:
    graph = _import_graph(Path(__file__).resolve().parents[1] / "hasim")

    def package(module: str) -> int | None:
        parts = module.split(".")
        if len(parts) > 2 and parts[:2] == ["hasim", "sim"] and parts[2] in SIM_PACKAGES:
            return SIM_PACKAGES.index(parts[2])
        return None

    back = sorted(
        (m, w)
        for m, ws in graph.items()
        for w in ws
        if (a := package(m)) is not None and (b := package(w)) is not None and b > a
    )
    assert back == []
