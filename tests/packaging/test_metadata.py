"""The licence, changelog and citation agree with pyproject.toml and the package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import hasim

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_licence_is_the_mit_text_pyproject_names() -> None:
    assert PROJECT["license"] == "MIT" and "LICENSE" in PROJECT["license-files"]
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text


def test_versions_agree() -> None:
    version = PROJECT["version"]
    assert hasim.__version__ == version
    cff = (REPO / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(version)}"$', cff, flags=re.M)
    assert re.search(r"^license: MIT$", cff, flags=re.M) and cff.startswith("cff-version: 1.2.0\n")
    assert f"## [{version}]" in (REPO / "CHANGELOG.md").read_text()
