"""``hasim report RESULTS``: write the self-contained HTML design-review report of a sweep."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Report file (default: RESULTS/report.html).",
)
@click.option(
    "--notes",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The author's notes in Markdown (default: README.md beside the sweep file).",
)
def report(results: Path, out: Path | None, notes: Path | None) -> None:
    """Write RESULTS/report.html: question, config, provenance, summary tables and figures in one file."""
    from hasim.experiments.report_html import write_report

    click.echo(str(write_report(results, out, notes)))
