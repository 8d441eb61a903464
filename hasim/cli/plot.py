"""``hasim plot RESULTS``: draw a sweep's figures (from its ``[report]`` section) into ``RESULTS/figures``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("plot")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the figures (default: RESULTS/figures).",
)
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True)
@click.option("--dpi", type=click.IntRange(min=30), default=130, show_default=True)
def plot(results: Path, out_dir: Path | None, fmt: str, dpi: int) -> None:
    """Draw the figures of the sweep results in RESULTS (heatmaps, curves with CI bands, timelines)."""
    from hasim.experiments.report_figures import figure_filename, figure_specs, load_results, make_figure

    res = load_results(results)
    target = out_dir or results / "figures"
    target.mkdir(parents=True, exist_ok=True)
    for i, spec in enumerate(figure_specs(res)):
        fig = make_figure(spec, res)
        path = target / f"{figure_filename(i, spec)}.{fmt}"
        fig.savefig(path, format=fmt, dpi=dpi)
        click.echo(str(path))
