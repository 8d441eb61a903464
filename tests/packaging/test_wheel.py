"""The built wheel in a fresh venv: it holds the examples and the licence, and the README's three-line
quickstart runs a packaged example sweep and prints its summary.

The wheel is built from a copy of the source (pip's isolated build), installed with ``--no-deps``
into a new venv; the dependencies it declares are lent by the test environment through a ``.pth``
line placed after the venv's own site-packages, so the test needs no downloads and ``import hasim``
can only find the installed wheel (the test environment's editable hasim is not on that path).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _quickstart() -> str:
    """The README's three lines of Python (the first python block that runs a sweep)."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    (code,) = [b for b in blocks if "hasim.sweep(" in b][:1]
    assert len(code.strip().splitlines()) == 3
    return code


def _run(args: list[str | Path], cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _source_copy(dest: Path) -> Path:
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "hasim", dest / "hasim", symlinks=True, ignore=ignore)
    shutil.copytree(REPO / "experiments", dest / "experiments", ignore=ignore)
    return dest


def test_wheel_in_a_fresh_venv_runs_the_quickstart(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    src = _source_copy(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src], tmp_path)
    (wheel,) = (tmp_path / "dist").glob("hasim-*.whl")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name.startswith(f"hasim-{version}-")
    names = zipfile.ZipFile(wheel).namelist()
    sweeps = {p.parent.name for p in (REPO / "experiments").glob("*/sweep.toml")}
    assert {n.split("/")[2] for n in names if re.match(r"hasim/examples/[^/]+/sweep\.toml$", n)} == sweeps
    scenarios = {p.name for p in (REPO / "experiments" / "scenarios").glob("*.toml")}
    assert {n.split("/")[-1] for n in names if n.startswith("hasim/examples/scenarios/")} == scenarios
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], tmp_path)
    own = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).strip()
    )
    (own / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "work"
    work.mkdir()
    where = _run([python, "-c", "import hasim; print(hasim.__file__)"], work).strip()
    assert Path(where).is_relative_to(venv), where
    requires = _run(
        [python, "-c", "import importlib.metadata as m; print('\\n'.join(m.requires('hasim')))"], work
    ).split("\n")
    for req in [r for r in requires if r and "extra ==" not in r]:
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        _run([python, "-c", f"import importlib.metadata as m; m.version({name!r})"], work)

    (work / "quickstart.py").write_text(_quickstart())
    out = _run([python, "quickstart.py"], work)
    # readings_r515: 2 readings x 2 M1 margins x 5 sync intervals, one replication each
    assert "[20 rows x" in out
    assert len(list((work / "results" / "readings").glob("runs.parquet"))) == 1
    listing = _run([venv / "bin" / "hasim", "examples"], work)
    assert "sync_vs_skip" in listing and "site_to_site" in listing
