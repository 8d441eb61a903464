"""``hasim sweep SWEEP``: run a parameter sweep (a file or a packaged experiment) into ``results/<sweep>/``.

Runs execute on a local process pool (``--workers``), or on Dask (``--dask ADDRESS`` or
``--dask local``); ``--resume`` runs only the missing runs of an interrupted sweep; ``--dry-run``
lists the runs without executing them; ``--set`` overrides ``sweep.<field>`` or a scenario key of
every run. A sweep with a failed run ends with a summary line and exit code 1.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import sys
from pathlib import Path

import click

from hasim.cli.examples import complete_example
from hasim.cli.limits import cost_options, limits_from
from hasim.errors import ConfigError
from hasim.experiments.model import Model, simulator_model
from hasim.experiments.sweep_estimate import DEFAULT_MAX_RUNS, SweepEstimate, estimate_sweep


def load_model(spec: str | None) -> Model:
    """``MODULE:ATTR`` naming a Model (or a function returning one); None -> the simulator."""
    if spec is None:
        return simulator_model()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError("--model", f"expected MODULE:ATTR, got {spec!r}")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # the module is the user's code: any error importing it is theirs
        raise ConfigError("--model", f"cannot load {spec!r}: {type(exc).__name__}: {exc}") from None
    try:
        model = obj() if callable(obj) and not isinstance(obj, Model) else obj
    except Exception as exc:
        raise ConfigError("--model", f"{spec!r} is not a Model and calling it failed: {exc}") from None
    if not isinstance(model, Model):
        raise ConfigError("--model", f"{spec!r} is not a hasim.experiments.model.Model")
    return model


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP", shell_complete=complete_example("sweep"))
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override sweep.<field> (sweep.replications=2) or a scenario key of every run (repeatable).",
)
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
@click.option(
    "--dry-run",
    is_flag=True,
    help="Estimate the sweep (runs, CPU time, disk), list its runs (index, run id, seed, parameters), stop.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the outcome (or with --dry-run the runs) as JSON."
)
@click.option(
    "--force",
    is_flag=True,
    help="Start over on existing results; with --resume, mix results of another version or sweep file; "
    "run beyond the cost limits and on Dask workers with less memory than a run's estimate.",
)
@click.option(
    "--max-runs",
    type=int,
    default=None,
    metavar="N",
    help=f"Refuse a sweep of more runs (default {DEFAULT_MAX_RUNS:,}); not lifted by --force.",
)
@cost_options
@click.option("--retry-failed", is_flag=True, help="With --resume, also rerun runs that failed.")
@click.option(
    "--out",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write into: the results folder (default: results/<sweep name>).",
)
@click.option(
    "--model",
    "model_spec",
    metavar="MODULE:ATTR",
    default=None,
    help="The model to run (a hasim.experiments.model.Model); default: the hasim simulator.",
)
def sweep(
    sweep_file: str,
    sets: tuple[str, ...],
    workers: int | None,
    dask: str | None,
    resume: bool,
    dry_run: bool,
    no_progress: bool,
    as_json: bool,
    force: bool,
    retry_failed: bool,
    results_dir: Path | None,
    model_spec: str | None,
    max_runs: int | None,
    max_events: str | None,
    max_cpu: str | None,
    max_memory: str | None,
) -> None:
    """Run SWEEP (a sweep file or a packaged experiment's name, see `hasim examples`): every
    parameter point x replication, one row each, with provenance."""
    from hasim.cli.run import parse_sets
    from hasim.experiments.executors import default_workers
    from hasim.experiments.runner import run_sweep
    from hasim.experiments.sweep_source import load_sweep_source, parse_value
    from hasim.experiments.sweep_spec import expand

    overrides = {k: parse_value(k, v) for k, v in parse_sets(sets).items()}
    spec = load_sweep_source(sweep_file, overrides)
    model = load_model(model_spec)
    out = results_dir if results_dir is not None else Path("results") / spec.name
    if max_runs is not None and max_runs < 1:
        raise ConfigError("--max-runs", f"expected a positive integer, got {max_runs}")
    limits = None if force else limits_from(max_events, max_cpu, max_memory)
    if limits is not None and max_memory is None and dask not in (None, "local"):
        # the runs use the cluster's memory, not this machine's: the workers' limits are checked instead
        limits = dataclasses.replace(limits, memory_bytes=math.inf)
    estimate = estimate_sweep(spec, model, max_runs or DEFAULT_MAX_RUNS, limits)
    if dry_run:
        runs = expand(spec, model)
        points = len({r.point for r in runs})
        if as_json:
            rows = [
                {
                    "index": r.index,
                    "run_id": r.run_id,
                    "seed": r.seed,
                    "replication": r.replication,
                    **r.params,
                }
                for r in runs
            ]
            head = {"sweep": spec.name, "runs": len(runs), "points": points, "results": str(out)}
            head.update({"cpu_s": estimate.cpu_s, "disk_bytes": estimate.disk_bytes})
            click.echo(
                json.dumps(
                    {**head, "replications": spec.replications, "root_seed": spec.root_seed, "run_list": rows}
                )
            )
            return
        click.echo(
            f"sweep {spec.name}: {len(runs)} runs ({points} points x {spec.replications} "
            f"replications), root seed {spec.root_seed} -> {out}"
        )
        click.echo(_estimate_line(estimate))
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
        max_runs=max_runs or DEFAULT_MAX_RUNS,
        check_memory=not force,
    )
    failed = _failed_runs(outcome.results)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sweep": spec.name,
                    "results": str(outcome.results),
                    "total": outcome.total,
                    "ran": outcome.ran,
                    "already_done": outcome.already_done,
                    "failed": failed,
                    "wall_s": round(outcome.wall_s, 3),
                }
            )
        )
    else:
        click.echo(
            f"sweep {spec.name}: {outcome.ran} runs executed ({outcome.failed} failed), "
            f"{outcome.already_done} already done, {outcome.total} total, "
            f"{outcome.wall_s:.1f} s -> {outcome.results}"
        )
    if failed:
        click.echo(
            f"hasim: {failed} of {outcome.total} runs failed; their errors are in the error column of "
            f"{outcome.results / 'runs.parquet'} and in the report",
            err=True,
        )
        sys.exit(1)


def _estimate_line(est: SweepEstimate) -> str:
    """``estimate: about ... CPU, ... disk; heaviest run ...``."""
    from hasim.sim.scenario.cost import describe, format_bytes, format_seconds

    cpu = f"about {format_seconds(est.cpu_s)}" if est.heaviest is not None else "unknown (the model gives no"
    cpu += " in all" if est.heaviest is not None else " estimate)"
    line = f"estimate: {est.runs} runs, CPU time {cpu}, {format_bytes(est.disk_bytes)} of disk at most"
    if est.heaviest is not None:
        line += f"; heaviest run: {describe(est.heaviest)}"
    return line


def _failed_runs(results: Path) -> int:
    """Runs of the whole results folder whose row holds an error (this invocation's and earlier)."""
    from hasim.experiments.results_store import ResultsDir

    runs = ResultsDir(results).load_runs()
    return int(runs["error"].notna().sum()) if "error" in runs.columns else 0
