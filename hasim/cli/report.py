"""``hasim report RESULTS``: write the self-contained HTML design-review report of a sweep."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("report")
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into: the report is FOLDER/report.html (default: RESULTS).",
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
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report's path and the claims' verdicts as JSON."
)
def report(
    results: Path, out_dir: Path | None, notes: Path | None, update_readme: bool, as_json: bool
) -> None:
    """Write RESULTS/report.html: question, config, provenance, summary tables and figures in one file;
    print each claim of the experiment (claims.toml beside its sweep file) as holding or failing."""
    from hasim.experiments.report_claims import adaptive_line, evaluate_claims, verdict_lines
    from hasim.experiments.report_claims import update_readme as rewrite
    from hasim.experiments.report_figures import load_results
    from hasim.experiments.report_html import find_notes, write_report

    res = load_results(results)
    line = adaptive_line(res)
    claims = evaluate_claims(res)
    verdicts = verdict_lines(claims) if claims is not None else []
    rewritten: str | None = None
    if update_readme and claims is not None:  # first, so that the report shows the table it wrote
        readme = notes or find_notes(res)
        if readme is None:
            raise click.UsageError("no README.md found beside the sweep file (give --notes)")
        state = "rewritten" if rewrite(readme, claims) else "already current"
        rewritten = f"{readme}: findings table {state}"
    target = (out_dir or results) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    path = write_report(results, target, notes)
    if as_json:
        click.echo(
            json.dumps({"results": str(results), "report": str(path), "adaptive": line, "claims": verdicts})
        )
    else:
        click.echo(str(path))
        if line:
            click.echo(line)
        for text in verdicts:
            click.echo(text)
    if rewritten is not None:
        click.echo(rewritten, err=as_json)
