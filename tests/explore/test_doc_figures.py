"""docs/explore.md is the generator's output: its AMB-1 section (figures, ladders, the follow-up of
the desynchronized terminal state) is what ``hasim.cli.explore_doc.amb1`` prints today, and the
doc's bound table is the ``Bounds`` defaults."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from hasim.cli.explore_doc import amb1
from hasim.explore.model import Bounds

DOC = Path(__file__).resolve().parents[2] / "docs" / "explore.md"


def test_the_amb1_section_is_the_generators_output() -> None:
    assert "\n".join(amb1()) in DOC.read_text()


def test_the_bound_table_gives_the_defaults() -> None:
    text = DOC.read_text()
    for f in fields(Bounds):
        assert f"| `{f.name}` | {f.default} |" in text, f.name
