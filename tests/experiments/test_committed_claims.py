"""The committed results as a reviewer checks them: every interval inside what its metric can be, every
cell with its run count, no SA whose fate stayed undecided, and every finding of every experiment
(its claims.toml) holding on its data, with the README's findings table generated from those claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from hasim.experiments.metric_kinds import KINDS
from hasim.experiments.report_claims import evaluate_claims, markdown_table, readme_block
from hasim.experiments.report_figures import load_results
from hasim.experiments.report_html import find_notes
from hasim.experiments.results_store import metric_columns

REPO = Path(__file__).resolve().parents[2]
RESULTS = sorted(p for p in (REPO / "results").iterdir() if (p / "manifest.json").exists())


@pytest.mark.parametrize("results", RESULTS, ids=[p.name for p in RESULTS])
def test_intervals_stay_in_range_and_every_cell_counts_its_runs(results: Path) -> None:
    res = load_results(results)
    kinds = res.manifest.get("metric_kinds")
    assert kinds, "the manifest declares each metric's kind"
    s = res.summary
    for m in metric_columns(res.runs, res.params):
        kind = KINDS[kinds[m]]
        assert (s[f"{m}_n"] + s[f"{m}_undefined"] + s["n_errors"] == s["n_runs"]).all(), m
        low, high = s[f"{m}_ci_low"].dropna(), s[f"{m}_ci_high"].dropna()
        assert (low >= kind.lo).all() and (high <= kind.hi).all(), f"{results.name}: {m} outside its range"
    assert int(res.runs["fate_undecided"].sum()) == 0, "a committed run left an SA undecided"
    assert res.runs["error"].isna().all()


@pytest.mark.parametrize("results", RESULTS, ids=[p.name for p in RESULTS])
def test_every_claim_holds_and_the_readme_table_is_generated(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # manifests name their sweep files relative to the repository
    res = load_results(results)
    report = evaluate_claims(res)
    assert report is not None, f"experiments/{results.name}/claims.toml states the findings"
    assert report.results, "at least one claim"
    failing = [r.claim.id for r in report.results if not r.holds]
    assert not failing, f"{results.name}: claims fail: {failing} (hasim report {results})"
    notes = find_notes(res)
    assert notes is not None
    assert readme_block(notes) == markdown_table(report), (
        f"{notes}: findings table out of date (hasim report {results} --update-readme)"
    )
