"""``hasim plot RESULTS``: draw a sweep's figures (from its ``[report]`` section) into ``RESULTS/figures``.

Each figure is written as PNG and as SVG beside it (``--format`` chooses), with the same file stem.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("plot")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into (default: RESULTS/figures).",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(["png", "svg", "pdf"]),
    multiple=True,
    default=("png", "svg"),
    show_default=True,
    help="File format (repeatable).",
)
@click.option(
    "--dpi",
    type=click.IntRange(min=30, max=1200),  # 1200 dpi: some 10,000 x 7,000 pixels a figure, 300 MB to draw
    default=130,
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def plot(results: Path, out_dir: Path | None, formats: tuple[str, ...], dpi: int, as_json: bool) -> None:
    """Draw the figures of the sweep results in RESULTS (heatmaps, curves with CI bands, timelines)."""
    from hasim.experiments.report_figures import (
        figure_filename,
        figure_key,
        figure_specs,
        load_results,
        make_figure,
    )

    res = load_results(results)
    target = out_dir or results / "figures"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for i, spec in enumerate(figure_specs(res)):
        fig = make_figure(spec, res, figure_key(res, i))
        for fmt in dict.fromkeys(formats):
            path = target / f"{figure_filename(i, spec)}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi)
            written.append(str(path))
    if as_json:
        click.echo(json.dumps({"results": str(results), "figures": written}))
    else:
        click.echo("\n".join(written))
