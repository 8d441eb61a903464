"""``hasim plot`` and ``hasim report`` work on every committed results folder, and each report carries
its figures: the sweep's own and the images of the experiment's README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hasim.cli import main
from hasim.experiments.report_figures import figure_specs, load_results
from hasim.experiments.report_html import find_notes

REPO = Path(__file__).resolve().parents[2]
RESULTS = sorted(p for p in (REPO / "results").iterdir() if p.is_dir())


# Experiments committed before their results, each with why; its README must say that it has none.
NOT_YET_RUN: dict[str, str] = {}


def test_every_experiment_has_results() -> None:
    experiments = {p.parent.name for p in (REPO / "experiments").glob("*/sweep.toml")}
    assert {p.name for p in RESULTS} == experiments - set(NOT_YET_RUN)
    for name in NOT_YET_RUN:
        assert name in experiments, f"{name} is no experiment: take it off NOT_YET_RUN"
        readme = (REPO / "experiments" / name / "README.md").read_text()
        assert "No results are committed for this experiment" in readme, name


@pytest.mark.parametrize("results", RESULTS, ids=[p.name for p in RESULTS])
def test_plot_and_report_of_committed_results(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the manifests name their sweep files relative to the repository
    main(["plot", str(results), "--out", str(tmp_path / "figures"), "--json"])
    written = [Path(p) for p in json.loads(capsys.readouterr().out)["figures"]]
    specs = figure_specs(load_results(results))
    assert specs, "every experiment gets at least one figure"
    assert sorted(p.suffix for p in written) == sorted([".png", ".svg"] * len(specs))
    assert all(p.stat().st_size > 1000 for p in written)

    main(["report", str(results), "--out", str(tmp_path), "--json"])
    page = Path(json.loads(capsys.readouterr().out)["report"]).read_text()
    assert "could not be drawn" not in page and "image not found" not in page
    figures = re.findall(r"<figure><img [^>]*src='data:image/png;base64,", page)
    assert len(figures) == len(specs)
    notes = find_notes(load_results(results))
    assert notes is not None
    readme_images = len(re.findall(r"!\[[^\]]*\]\(", notes.read_text()))
    embedded = re.findall(r'<img src="data:image/(?:png|svg\+xml);base64,', page)
    assert len(embedded) == readme_images
