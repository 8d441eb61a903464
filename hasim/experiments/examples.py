"""The example scenarios and experiment sweeps that ship inside the package (``hasim/examples``).

In a source checkout ``hasim/examples`` is a link to the repository's ``experiments/`` folder; an
installed wheel holds a copy. Examples are named by what a user types: a scenario by its file stem
(``site_to_site``), an experiment by its folder (``sync_vs_skip``, whose ``sweep.toml`` is run).
"""

from __future__ import annotations

import difflib
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hasim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1] / "examples"
SCENARIOS = "scenarios"


@dataclass(frozen=True)
class Example:
    """One packaged example: ``kind`` is ``"scenario"`` or ``"sweep"``; ``path`` the TOML file."""

    name: str
    kind: str
    path: Path
    description: str


def _first_sentence(text: str) -> str:
    words = " ".join(text.split())
    match = re.match(r"(.+?\.)(\s|$)", words)
    sentence = match.group(1) if match else words
    return sentence if len(sentence) <= 120 else sentence[:117].rsplit(" ", 1)[0] + " ..."


def _scenario_description(path: Path) -> str:
    comments = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        comments.append(line.lstrip("#").strip())
    return _first_sentence(" ".join(comments))


def _sweep_description(path: Path) -> str:
    doc = tomllib.loads(path.read_text())
    return str(doc.get("sweep", {}).get("description", ""))


def list_examples(root: Path = ROOT) -> list[Example]:
    """Every packaged example, scenarios first, each kind sorted by name."""
    scenarios = [
        Example(p.stem, "scenario", p, _scenario_description(p))
        for p in sorted((root / SCENARIOS).glob("*.toml"))
    ]
    sweeps = [
        Example(p.parent.name, "sweep", p, _sweep_description(p)) for p in sorted(root.glob("*/sweep.toml"))
    ]
    return scenarios + sweeps


def find_example(name: str, kind: str | None = None, root: Path = ROOT) -> Example:
    """The example called ``name`` (of ``kind`` if given); ConfigError naming the choices if none is."""
    found = [e for e in list_examples(root) if kind in (None, e.kind)]
    for example in found:
        if example.name == name:
            return example
    names = [e.name for e in found]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    what = f"{kind} example" if kind else "example"
    raise ConfigError(name, f"no such file and no {what} of that name{hint}; examples: {', '.join(names)}")


def _base_folder(sweep: Path) -> Path | None:
    """The folder of a sweep's base scenario when it lies outside the sweep's own folder."""
    base = tomllib.loads(sweep.read_text()).get("sweep", {}).get("base")
    if not isinstance(base, str):
        return None
    folder = (sweep.parent / base).resolve().parent
    return None if folder == sweep.parent.resolve() else folder


def copy_examples(names: list[str], dest: Path, root: Path = ROOT) -> list[Path]:
    """Copy the named examples (all if none) into ``dest``, keeping the layout that their relative
    base paths need; returns the TOML files copied. Existing files are never overwritten."""
    chosen = [find_example(n, root=root) for n in names] if names else list_examples(root)
    folders: dict[Path, None] = {}
    files: list[Path] = []
    for example in chosen:
        if example.kind == "scenario":
            files.append(example.path.resolve())
            continue
        folders[example.path.parent.resolve()] = None
        base = _base_folder(example.path)
        if base is not None:
            folders[base] = None
    top = root.resolve()
    targets = [*((p, p.relative_to(top)) for p in files), *((f, f.relative_to(top)) for f in folders)]
    for src, rel in targets:
        if (dest / rel).exists() and (src.is_file() or any((dest / rel).iterdir())):
            raise ConfigError(str(dest / rel), "already exists; copy into an empty folder")
    copied = []
    for src, rel in targets:
        target = dest / rel
        if src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            copied.append(target)
        else:
            shutil.copytree(src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            copied.extend(sorted(target.glob("*.toml")))
    return copied
