"""docs/api.md is run as a doctest in a fresh folder: its examples show what hasim really prints."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_api_page_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=flags, verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0
    assert (tmp_path / "drops.svg").stat().st_size > 0 and os.path.isdir(tmp_path / "results" / "readings")
