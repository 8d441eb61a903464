"""Reports and the plot/report commands on the results of a toy sweep."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import pytest
from toy_model import TOY

from hasim.cli import main
from hasim.experiments.report_html import build_report
from hasim.experiments.report_markdown import markdown_to_html
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

REPORT = """
[[timelines]]
name = "high"
where = { variant = "high" }

[report]
title = "Toy study"
metrics = ["y", "count"]
[[report.figures]]
kind = "heatmap"
x = "model.a"
y = "model.b"
metric = "y"
[[report.figures]]
kind = "curves"
x = "model.a"
metric = "y"
group = "variant"
caption = "y grows with a."
[[report.figures]]
kind = "timeline"
timeline = "high"
"""


@pytest.fixture
def results(toy_dir: Path) -> Path:
    (toy_dir / "sweep.toml").write_text((toy_dir / "sweep.toml").read_text() + REPORT)
    (toy_dir / "README.md").write_text(
        "# Toy\n\n## Question\nDoes **y** grow with `a`?\n\n## Finding\nYes.\n"
    )
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    return toy_dir / "res"


def test_report_is_self_contained_and_complete(results: Path, toy_dir: Path) -> None:
    text = build_report(results, notes=toy_dir / "README.md")
    assert "<title>Toy study</title>" in text
    assert "<strong>y</strong>" in text and "<code>a</code>" in text  # the author's notes
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) == 3
    assert all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "y grows with a." in text
    assert "Root seed" in text and "Git revision" in text and "Sweep file SHA-256" in text
    ran = json.loads((results / "manifest.json").read_text())["run_revisions"]
    assert list(ran.values()) == [18]  # every run of the toy sweep, by the one checkout that ran them
    assert f"Runs per git revision (as the workers read it)</th><td>{html.escape(json.dumps(ran))}<" in text
    assert 'kind = "heatmap"' in text  # the sweep file
    assert "[scenario]" in text  # the base scenario
    assert re.search(r"src=['\"](?!data:)", text) is None  # nothing outside the file
    assert "<script" not in text


def test_plot_and_report_commands(results: Path, toy_dir: Path) -> None:
    main(["plot", str(results)])
    assert sorted(p.name for p in (results / "figures").iterdir()) == [
        f"{stem}.{ext}"
        for stem in ("00-heatmap-y", "01-curves-y", "02-timeline-high")
        for ext in ("png", "svg")
    ]
    main(["report", str(results), "--notes", str(toy_dir / "README.md")])
    assert (results / "report.html").stat().st_size > 10_000


def test_report_of_a_folder_without_results_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path)])
    assert exc.value.code == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_markdown_subset() -> None:
    html = markdown_to_html(
        "# T\n\ntext *em* and `a<b`\n\n1. one\n2. two\n\n| x | y |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h2>T</h2>" in html
    assert "<em>em</em>" in html and "<code>a&lt;b</code>" in html
    assert re.search(r"<ol>\s*<li>one</li>\s*<li>two</li>\s*</ol>", html)
    assert "<th>x</th>" in html and "<td>2</td>" in html


def test_figure_file_names_are_safe() -> None:
    from hasim.experiments.report_figures import figure_filename

    assert figure_filename(3, {"kind": "timeline", "timeline": "lenient, 1000 packets/s"}) == (
        "03-timeline-lenient_1000_packets_s"
    )
    assert figure_filename(0, {"kind": "curves", "metric": "sa_survival"}) == "00-curves-sa_survival"


def test_bad_figure_specs_name_the_key(results: Path, toy_dir: Path) -> None:
    from hasim.errors import ConfigError
    from hasim.experiments.report_figures import figure_specs, load_results

    res = load_results(results)
    manifest = dict(res.manifest)
    for bad, key in [
        ('kind = "pie"', "report.figures[0].kind"),
        ('kind = "heatmap"\nx = "model.a"', "report.figures[0].y"),
        ('kind = "curves"\nx = "model.a"\nmetric = "y"\ncolour = 1', "report.figures[0].colour"),
    ]:
        manifest["sweep_toml"] = f"[[report.figures]]\n{bad}\n"
        with pytest.raises(ConfigError) as err:
            figure_specs(type(res)(res.path, manifest, res.summary, res.runs, res.timelines))
        assert err.value.key == key


def test_captions_name_the_replications_and_the_interval_method(results: Path) -> None:
    from hasim.experiments.report_figures import figure_caption, figure_specs, load_results

    res = load_results(results)
    heat, line, timeline = figure_specs(res)
    assert figure_caption(line, res) == (
        "y grows with a. Means over 3 replications per point; bands: 95% Student t interval."
    )
    assert figure_caption(heat, res).endswith(
        "Means over 3 replications per point; the summary table's intervals: 95% Student t interval."
    )
    assert figure_caption(timeline, res).endswith("One run, not an average.")
    # by the metric's kind (recorded in the manifest): a proportion gets Wilson, a count clipped t
    hit = figure_caption({"kind": "curves", "x": "model.a", "metric": "hit"}, res)
    assert hit.endswith("bands: 95% Wilson score interval over runs.")
    count = figure_caption({"kind": "curves", "x": "model.a", "metric": "count"}, res)
    assert count.endswith("bands: 95% Student t interval clipped to the metric's range.")


def test_subtitle_is_the_sweeps_description_when_the_sweep_changes_the_faults() -> None:
    import json

    import pandas as pd

    from hasim.experiments.report_figures import LoadedResults

    runs = pd.DataFrame({"config": [json.dumps({"scenario": {"name": "site-to-site, one crash"}})]})
    doc = '[sweep]\ndescription = "Single and double failover."\n'
    schedules = (
        '[[axes]]\nkind = "list"\nname = "schedule"\npoints = [{ label = "x", set = { faults = [] } }]\n'
    )
    rates = '[[axes]]\nkind = "grid"\nkey = "traffic.esp_out_pps"\nvalues = [1, 2]\n'
    varied = LoadedResults(Path("."), {"sweep_toml": doc + schedules}, pd.DataFrame(), runs, None)
    assert varied.scenario == "Single and double failover"
    same = LoadedResults(Path("."), {"sweep_toml": doc + rates}, pd.DataFrame(), runs, None)
    assert same.scenario == "site-to-site, one crash"


def test_summary_table_shows_the_axes_not_the_keys_a_variant_sets(results: Path, toy_dir: Path) -> None:
    page = build_report(results, notes=toy_dir / "README.md")
    summary = page[page.index("<h2>Summary") :]
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", summary)
    assert head is not None
    cells = re.findall(r"<th>(.*?)</th>", head.group(1))
    # axes: model.a (grid) and variant (list, whose points set model.b)
    assert cells[:3] == ["model.a", "variant", "runs"] and "model.b" not in cells
