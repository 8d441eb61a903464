"""``hasim sweep SWEEP.toml``: run a parameter sweep into ``results/<sweep>/``.

Runs execute on a local process pool (``--workers``), or on Dask (``--dask ADDRESS`` or
``--dask local``); ``--resume`` runs only the missing runs of an interrupted sweep; ``--dry-run``
lists the runs without executing them.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from hasim.errors import ConfigError
from hasim.experiments.model import Model, simulator_model


def load_model(spec: str | None) -> Model:
    """``MODULE:ATTR`` naming a Model (or a function returning one); None -> the simulator."""
    if spec is None:
        return simulator_model()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError("--model", f"expected MODULE:ATTR, got {spec!r}")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError("--model", f"cannot load {spec!r}: {exc}") from None
    model = obj() if callable(obj) and not isinstance(obj, Model) else obj
    if not isinstance(model, Model):
        raise ConfigError("--model", f"{spec!r} is not a hasim.experiments.model.Model")
    return model


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the CPUs available). With --dask local: cluster size.",
)
@click.option(
    "--dask",
    "dask",
    metavar="ADDRESS|local",
    default=None,
    help="Run on a Dask cluster at ADDRESS (e.g. tcp://host:8786) or on a new local one.",
)
@click.option("--resume", is_flag=True, help="Run only the runs missing from the results folder.")
@click.option("--dry-run", is_flag=True, help="List the runs (index, run id, seed, parameters) and stop.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--force",
    is_flag=True,
    help="Start over on existing results; with --resume, mix results of another version or sweep file.",
)
@click.option("--retry-failed", is_flag=True, help="With --resume, also rerun runs that failed.")
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<sweep name>).",
)
@click.option(
    "--model",
    "model_spec",
    metavar="MODULE:ATTR",
    default=None,
    help="The model to run (a hasim.experiments.model.Model); default: the hasim simulator.",
)
def sweep(
    sweep_file: Path,
    workers: int | None,
    dask: str | None,
    resume: bool,
    dry_run: bool,
    no_progress: bool,
    force: bool,
    retry_failed: bool,
    results_dir: Path | None,
    model_spec: str | None,
) -> None:
    """Run the sweep SWEEP_FILE: every parameter point x replication, one row each, with provenance."""
    from hasim.experiments.executors import default_workers
    from hasim.experiments.runner import run_sweep
    from hasim.experiments.sweep_spec import expand, load_sweep

    spec = load_sweep(sweep_file)
    model = load_model(model_spec)
    out = results_dir if results_dir is not None else Path("results") / spec.name
    if dry_run:
        runs = expand(spec, model)
        points = len({r.point for r in runs})
        click.echo(
            f"sweep {spec.name}: {len(runs)} runs ({points} points x {spec.replications} "
            f"replications), root seed {spec.root_seed} -> {out}"
        )
        cols = spec.param_columns
        click.echo("\t".join(["index", "run_id", "seed", *cols]))
        for r in runs:
            click.echo(
                "\t".join([str(r.index), r.run_id, str(r.seed), *(str(r.params.get(c)) for c in cols)])
            )
        return
    outcome = run_sweep(
        spec,
        out,
        model=model,
        workers=workers or default_workers(),
        dask=dask,
        resume=resume,
        force=force,
        retry_failed=retry_failed,
        progress=not no_progress,
    )
    click.echo(
        f"sweep {spec.name}: {outcome.ran} runs executed ({outcome.failed} failed), "
        f"{outcome.already_done} already done, {outcome.total} total, "
        f"{outcome.wall_s:.1f} s -> {outcome.results}"
    )
