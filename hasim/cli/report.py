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
@click.option(
    "--update-readme",
    is_flag=True,
    help="Rewrite the findings table of the experiment's README from its claims.toml.",
)
def report(results: Path, out: Path | None, notes: Path | None, update_readme: bool) -> None:
    """Write RESULTS/report.html: question, config, provenance, summary tables and figures in one file;
    print each claim of the experiment (claims.toml beside its sweep file) as holding or failing."""
    from hasim.experiments.report_claims import adaptive_line, evaluate_claims, verdict_lines
    from hasim.experiments.report_claims import update_readme as rewrite
    from hasim.experiments.report_figures import load_results
    from hasim.experiments.report_html import find_notes, write_report

    click.echo(str(write_report(results, out, notes)))
    res = load_results(results)
    line = adaptive_line(res)
    if line:
        click.echo(line)
    claims = evaluate_claims(res)
    if claims is None:
        return
    for text in verdict_lines(claims):
        click.echo(text)
    if update_readme:
        readme = notes or find_notes(res)
        if readme is None:
            raise click.UsageError("no README.md found beside the sweep file (give --notes)")
        changed = rewrite(readme, claims)
        click.echo(f"{readme}: findings table {'rewritten' if changed else 'already current'}")
