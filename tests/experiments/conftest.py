"""Fixtures for the experiments floor: a toy base scenario and sweep files in a temporary folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # toy_model must be importable by worker processes too
    sys.path.insert(0, str(HERE))

from toy_model import BASE_TOML  # noqa: E402

SWEEP_TOML = """\
[sweep]
name = "toy"
base = "base.toml"
replications = 3
root_seed = 42

[fixed]
"model.noise" = 0.25

[[axes]]
kind = "grid"
key = "model.a"
values = [1.0, 2.0, 3.0]

[[axes]]
kind = "list"
name = "variant"
points = [{ label = "low", set = { "model.b" = 1.0 } }, { label = "high", set = { "model.b" = 10.0 } }]
"""


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A folder holding base.toml and sweep.toml of the toy model."""
    (tmp_path / "base.toml").write_text(BASE_TOML)
    (tmp_path / "sweep.toml").write_text(SWEEP_TOML)
    return tmp_path
