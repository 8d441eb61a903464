"""docs/sweeps.md: the sweep file it shows is one ``hasim sweep`` accepts, with the points it says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hasim.cli import main

from .pages import ROOT, blocks, section


def test_example_sweep_file_expands_to_seven_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sweep.toml").write_text(blocks(section("docs/sweeps.md", "## The sweep file"), "toml")[0])
    shutil.copy(ROOT / "experiments" / "sync_vs_skip" / "scenario.toml", tmp_path / "scenario.toml")
    main(["sweep", str(tmp_path / "sweep.toml"), "--dry-run"])
    # 2 variants x 5 intervals = 10; skip_if drops legacy at 0.25 and 0.5 s, [[exclude]] legacy at 4 s
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith("sweep sync_vs_skip: 28 runs (7 points x 4 replications)")
    )
