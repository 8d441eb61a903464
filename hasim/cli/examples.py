"""``hasim examples``: list the example scenarios and experiment sweeps shipped in the package, or copy them.

Any command that takes a scenario or sweep file also takes an example's name (``hasim run
site_to_site``, ``hasim sweep sync_vs_skip``); ``--out DIR`` copies the examples to edit them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from click.shell_completion import CompletionItem


@click.command("examples")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into: copy the named examples (all if none) there instead of listing them.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the examples (or the files copied) as JSON.")
def examples(names: tuple[str, ...], out_dir: Path | None, as_json: bool) -> None:
    """List the packaged example scenarios and sweeps (NAME: only those), or copy them with --out."""
    from hasim.experiments.examples import copy_examples, find_example, list_examples

    if out_dir is not None:
        copied = copy_examples(list(names), out_dir)
        if as_json:
            click.echo(json.dumps({"copied": [str(p) for p in copied]}))
        else:
            for path in copied:
                click.echo(str(path))
        return
    chosen = [find_example(n) for n in names] if names else list_examples()
    if as_json:
        rows = [
            {"name": e.name, "kind": e.kind, "path": str(e.path), "description": e.description}
            for e in chosen
        ]
        click.echo(json.dumps(rows))
        return
    width = max(len(e.name) for e in chosen)
    for e in chosen:
        click.echo(f"{e.kind:<8}  {e.name:<{width}}  {e.description}")


def complete_example(kind: str) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """Shell completion for a SCENARIO or SWEEP argument: the packaged examples' names, then files."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        from hasim.experiments.examples import list_examples

        names = [e.name for e in list_examples() if e.kind == kind and e.name.startswith(incomplete)]
        return [CompletionItem(n) for n in names] + [CompletionItem(incomplete, type="file")]

    return complete
