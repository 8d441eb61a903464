"""Run a sweep: execute the missing runs on an Executor, record each as it finishes, summarize.

Guarantees:

- Every run is a row, even a failed one (its ``error`` column holds the exception), as in desmod.
- Each finished run is written at once as an atomic fragment, so a sweep killed at any moment loses
  no finished run; ``resume=True`` runs only the runs that are missing.
- A resumed sweep refuses to mix results from another hasim version unless ``force=True``
  (OMNeT++/SEM practice: never mix two code versions silently). An edited sweep file or base
  scenario needs no force: runs are keyed by (point, replication) with a digest of their resolved
  config and seed (sweep_spec.point_runs), so only runs whose key is unchanged are reused; the
  manifest notes the edit.
- Seeds come from the run's key (sweep_spec.run_seed), so the metric values do not depend on the
  number of workers, the executor, the completion order or the other runs of the sweep.
- Adaptive replications (``replications = { min, max, metric, half_width }``): each point runs
  ``min`` replications, then rounds double the replications of every point whose interval of
  ``metric`` is still wider than asked, up to ``max``. A round's decisions depend only on the
  metrics of finished runs, which depend only on their seeds: same result for any worker count.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hasim.errors import ConfigError
from hasim.experiments.executors import ExecutorInfo, check_workers, open_executor
from hasim.experiments.intervals import metric_interval
from hasim.experiments.metric_kinds import kind_of
from hasim.experiments.model import Model, simulator_model
from hasim.experiments.provenance import RAN_COLUMNS, code_version, host_info, now_utc, revision_counts
from hasim.experiments.results_lock import ResultsLock
from hasim.experiments.results_store import ID_COLUMNS, ResultsDir, summarize, write_summary
from hasim.experiments.sweep_estimate import (
    DEFAULT_MAX_RUNS,
    check_columns,
    check_size,
    check_worker_memory,
    heaviest_memory,
    point_costs,
    runs_bound,
)
from hasim.experiments.sweep_spec import (
    PointSpec,
    RunSpec,
    SweepSpec,
    expand_points,
    number_runs,
    point_runs,
    select_run,
)


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep invocation did."""

    results: Path
    total: int
    already_done: int
    ran: int
    failed: int
    wall_s: float


def execute_run(model: Model, config: dict[str, Any], seed: int) -> dict[str, Any]:
    """Run one configuration in a worker; never raises: a failure becomes ``{"error": ...}``. The result
    names the code that ran it (``RAN_COLUMNS``), read here, in the worker."""
    ran = code_version().columns()
    start = time.perf_counter()
    try:
        metrics = model.run(config, seed)
        out: dict[str, Any] = {k: (v.item() if hasattr(v, "item") else v) for k, v in metrics.items()}
        out["error"] = None
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
        out = {"error": f"{type(exc).__name__}: {exc}{where}"}
    out["run_wall_s"] = time.perf_counter() - start
    return out | ran


def _row(run: RunSpec, result: dict[str, Any]) -> dict[str, Any]:
    ran = {k: result.get(k, "unknown") for k in RAN_COLUMNS}  # unknown: the worker's result was lost
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "index": run.index,
        "point": run.point,
        "replication": run.replication,
        "seed": run.seed,
    }
    row.update(run.params)
    for key, value in result.items():
        if key in ran:
            continue
        if key in run.params:
            raise ConfigError(
                f"axes: column {key!r}", "is also a metric of the model; rename the axis label column"
            )
        if key not in row:
            row[key] = value
    row["config"] = json.dumps(run.config, sort_keys=True, default=str)
    row.update(ran)
    return row


def _check_resumable(old: dict[str, Any], spec: SweepSpec, force: bool) -> tuple[list[str], list[str]]:
    """(mismatches that needed --force, edits of the sweep or base file that did not)."""
    cv = code_version()
    mismatches = []
    if old.get("hasim_version") != cv.hasim_version:
        mismatches.append(f"hasim_version was {old.get('hasim_version')!r}, now {cv.hasim_version!r}")
    if mismatches and not force:
        raise ConfigError(
            "resume", "refusing to mix results: " + "; ".join(mismatches) + " (use --force to mix anyway)"
        )
    edits = [
        f"{field} was {old.get(field)!r}, now {now!r}"
        for field, now in (("sweep_hash", spec.sweep_hash), ("base_hash", spec.base_hash))
        if old.get(field) != now
    ]
    return mismatches, edits


def _base_manifest(spec: SweepSpec, model: Model, runs: list[RunSpec]) -> dict[str, Any]:
    cv = code_version()
    try:
        sweep_file = os.path.relpath(spec.path)
        base_file = os.path.relpath(spec.base_path)
    except ValueError:  # pragma: no cover - other drive on Windows
        sweep_file, base_file = str(spec.path), str(spec.base_path)
    return {
        "sweep": spec.name,
        "status": "running",
        "hasim_version": cv.hasim_version,
        "git_revision": cv.git_revision,
        "git_dirty": cv.git_dirty,
        "model": model.name,
        "sweep_file": sweep_file,
        "sweep_hash": spec.sweep_hash,
        "base_scenario": base_file,
        "base_hash": spec.base_hash,
        "root_seed": spec.root_seed,
        "seeding": spec.seeding,
        "replications": spec.adaptive.as_dict() if spec.adaptive else spec.replications,
        "points": len({r.point for r in runs}),
        "metric_kinds": {k: v.name for k, v in sorted(model.kinds.items())} if model.kinds else None,
        "runs_total": len(runs),
        "param_columns": spec.param_columns,
        **host_info(),
        "sweep_toml": spec.text,
        "base_toml": spec.base_text,
    }


def _as_text(value: Any) -> str | None:
    if value is None or value != value:  # None or NaN
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _record_timelines(spec: SweepSpec, model: Model, runs: list[RunSpec], rd: ResultsDir) -> list[str]:
    """Rerun the runs named by ``[[timelines]]`` with records on and store their event rows."""
    if not spec.timelines or model.records is None:
        return []
    frames, problems = [], []
    for tl in spec.timelines:
        run = select_run(runs, tl.where)
        if run is None:
            problems.append(f"timeline {tl.name!r}: no run matches {tl.where}")
            continue
        try:
            records = model.records(run.config, run.seed)
        except Exception as exc:
            problems.append(f"timeline {tl.name!r}: {type(exc).__name__}: {exc}")
            continue
        for kind, rows in records.items():
            if rows:
                df = pd.DataFrame(rows)
                df.insert(0, "record", kind)
                df.insert(0, "run_id", run.run_id)
                df.insert(0, "timeline", tl.name)
                frames.append(df)
    if frames:
        df = pd.concat(frames, ignore_index=True)
        for col in df.columns:
            if df[col].dtype == object:  # mixed types (value: str or int) -> text, as parquet needs
                kinds = {type(v) for v in df[col] if v is not None and v == v}
                if len(kinds) > 1 or not kinds <= {str, int, float, bool}:
                    df[col] = df[col].map(_as_text)
        tmp = rd.timelines_path.with_suffix(".parquet.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, rd.timelines_path)
    return problems


def run_sweep(
    spec: SweepSpec,
    results_dir: str | Path | None = None,
    *,
    model: Model | None = None,
    workers: int = 1,
    dask: str | None = None,
    executor: Executor | None = None,
    executor_info: ExecutorInfo | None = None,
    resume: bool = False,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    max_runs: int = DEFAULT_MAX_RUNS,
    check_memory: bool = True,
) -> SweepOutcome:
    """Run ``spec`` into ``results_dir`` (default ``results/<name>``) and return what was done.

    ``executor`` overrides ``workers``/``dask`` (the caller owns it; ``executor_info`` describes it
    for the manifest and the memory check). Without ``resume``, existing
    results are an error unless ``force`` (which then starts over). With ``check_memory``, a Dask
    cluster whose workers give a run less memory than the heaviest run's estimate is refused before
    anything is written (sweep_estimate.check_worker_memory).
    """
    model = model or simulator_model()
    rd = ResultsDir(results_dir if results_dir is not None else Path("results") / spec.name)
    check_columns(spec, model)
    check_size(spec, max_runs)
    points = expand_points(spec, model)
    costs = point_costs(points, model)
    cpu = {point: cost.cpu_s for point, cost in costs.items()}
    opt = _Options(resume, force, retry_failed, progress, on_row, cpu)
    with contextlib.ExitStack() as stack:  # one executor for every round, shut down last
        if executor is not None:
            pool, info = executor, executor_info or ExecutorInfo(type(executor).__name__, workers)
        else:
            if dask in (None, "local"):
                check_workers(workers)
            # no more processes than runs: a pool forks all its workers at its first run
            pool, info = stack.enter_context(open_executor(min(workers, max(1, runs_bound(spec))), dask))
        if check_memory:
            check_worker_memory(info, heaviest_memory(points, costs))
        with ResultsLock(rd.path):
            try:
                return _run_locked(spec, rd, model, points, opt, _Pool(pool, info))
            except BaseException as exc:
                _mark_interrupted(rd, exc)
                raise


@dataclass(frozen=True)
class _Pool:
    """The executor the runs go to and what the manifest says of it."""

    executor: Executor
    info: ExecutorInfo


@dataclass(frozen=True)
class _Options:
    resume: bool
    force: bool
    retry_failed: bool
    progress: bool
    on_row: Callable[[dict[str, Any]], None] | None
    cpu_s: dict[int, float]
    """Each point's estimated CPU seconds a run: the heaviest runs go first (see _execute)."""


def _run_locked(
    spec: SweepSpec, rd: ResultsDir, model: Model, points: list[PointSpec], opt: _Options, pool: _Pool
) -> SweepOutcome:
    """run_sweep's work once the folder is ours: nothing else reads, clears or writes it meanwhile."""
    resume, force, retry_failed = opt.resume, opt.force, opt.retry_failed
    counts = {p.point: spec.replications for p in points}
    runs = _runs(spec, points, counts)
    started = time.perf_counter()
    if force and not resume:  # starting over: whatever is there, damaged or not, goes
        rd.clear()
    old = rd.read_manifest()
    if rd.has_results() and not resume:
        raise ConfigError(
            "results",
            f"{rd.path} already holds results; use --resume to continue or --force to start over",
        )
    manifest = _base_manifest(spec, model, runs)
    if resume and old is not None:
        mismatches, edits = _check_resumable(old, spec, force)
        if mismatches:
            manifest["mixed_results"] = [*old.get("mixed_results", []), *mismatches]
        if edits:
            manifest["edited_since_start"] = [*old.get("edited_since_start", []), *edits]
    manifest["start_time"] = old.get("start_time", now_utc()) if (resume and old) else now_utc()
    manifest["resumed_at"] = [*old.get("resumed_at", []), now_utc()] if (resume and old) else []
    manifest["end_time"] = None
    order = ID_COLUMNS + spec.param_columns
    ran = failed = 0
    # runs recorded beyond this round's replications (an adaptive sweep resumed) are kept for later rounds
    spare = _spare(spec, points, rd.load_runs()) if (resume and spec.adaptive) else set()
    retried: set[str] = set()
    while True:
        wanted = {r.run_id for r in runs}
        done = rd.consolidate(order, keep=wanted | spare, positions=_positions(runs))
        done = done[done["run_id"].isin(wanted)]
        finished = set(done["run_id"])
        if retry_failed and "error" in done.columns:
            finished -= set(done.loc[done["error"].notna(), "run_id"]) - retried
        todo = [r for r in runs if r.run_id not in finished]
        retried |= {r.run_id for r in todo}
        manifest.update({"runs_total": len(runs), "points": len(points)})
        rd.write_manifest(manifest)
        if todo:
            failed += _execute(todo, model, rd, pool, opt, spec.name, manifest)
            ran += len(todo)
        final = rd.consolidate(order, keep=wanted | spare, positions=_positions(runs))
        final = final[final["run_id"].isin(wanted)].reset_index(drop=True)
        grown = _grow(spec, model, final, counts)
        if grown == counts:
            break
        counts = grown
        runs = _runs(spec, points, counts)
    final = rd.consolidate(order, keep={r.run_id for r in runs}, positions=_positions(runs))
    summary = summarize(final, spec.param_columns, model.kinds)
    if spec.adaptive is not None:
        summary["precision_reached"] = [_reached(spec, model, final, int(p)) for p in summary["point"]]
    write_summary(rd, summary)
    problems = _record_timelines(spec, model, runs, rd)
    n_err = int(final["error"].notna().sum()) if "error" in final.columns else 0
    manifest.update(
        {
            "status": "complete" if len(final) == len(runs) else "incomplete",
            "runs_completed": len(final),
            "runs_failed": n_err,
            "run_revisions": revision_counts(final.get("git_revision", [])),
            "end_time": now_utc(),
        }
    )
    if spec.adaptive is not None:
        manifest["adaptive"] = {
            "points_reached": int(summary["precision_reached"].sum()),
            "points": len(summary),
            "runs_per_point": {str(k): v for k, v in sorted(counts.items())},
        }
    if problems:
        manifest["timeline_problems"] = problems
    rd.write_manifest(manifest)
    return SweepOutcome(rd.path, len(runs), len(runs) - ran, ran, failed, time.perf_counter() - started)


def _runs(spec: SweepSpec, points: list[PointSpec], counts: dict[int, int]) -> list[RunSpec]:
    return number_runs([r for p in points for r in point_runs(spec, p, range(counts[p.point]))])


def _spare(spec: SweepSpec, points: list[PointSpec], recorded: pd.DataFrame) -> set[str]:
    """Recorded runs that are replications (below max) of the current points with unchanged keys."""
    assert spec.adaptive is not None
    by_key = {p.key[:12]: p for p in points}
    spare = set()
    for run_id, rep in zip(recorded.get("run_id", []), recorded.get("replication", []), strict=True):
        point = by_key.get(str(run_id)[:12])
        if point is None or not 0 <= int(rep) < spec.adaptive.max:
            continue
        if point_runs(spec, point, range(int(rep), int(rep) + 1))[0].run_id == run_id:
            spare.add(str(run_id))
    return spare


def _positions(runs: list[RunSpec]) -> dict[str, tuple[int, int]]:
    """run id -> (index, point) in the current expansion (older rows may have been numbered otherwise)."""
    return {r.run_id: (r.index, r.point) for r in runs}


def _half_width(spec: SweepSpec, model: Model, runs: pd.DataFrame, point: int) -> float:
    assert spec.adaptive is not None
    metric = spec.adaptive.metric
    group = runs[runs["point"] == point]
    if metric not in group.columns:
        return math.inf
    ok = group[group["error"].isna()] if "error" in group.columns else group
    values = [math.nan if v is None else float(v) for v in ok[metric]]
    hw = metric_interval(values, kind_of(metric, model.kinds)).half_width
    return math.inf if math.isnan(hw) else hw


def _reached(spec: SweepSpec, model: Model, runs: pd.DataFrame, point: int) -> bool:
    assert spec.adaptive is not None
    return _half_width(spec, model, runs, point) <= spec.adaptive.half_width


def _grow(spec: SweepSpec, model: Model, runs: pd.DataFrame, counts: dict[int, int]) -> dict[int, int]:
    """The next round's replications per point: doubled (up to max) where the interval is too wide."""
    if spec.adaptive is None:
        return counts
    cap = spec.adaptive.max
    return {
        p: n if n >= cap or _reached(spec, model, runs, p) else min(2 * n, cap) for p, n in counts.items()
    }


def _mark_interrupted(rd: ResultsDir, exc: BaseException) -> None:
    """Best effort: a manifest left ``running`` says the sweep stopped and why (a full disk may refuse
    even this; readers then see ``running`` without a lock holder, which results_status reads as
    interrupted)."""
    try:
        manifest = rd.read_manifest()
    except ConfigError:
        return
    if manifest is None or manifest.get("status") != "running":
        return
    reason = (
        "interrupted by the user" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
    )
    manifest.update({"status": "interrupted", "interruption": reason[:300], "end_time": now_utc()})
    with contextlib.suppress(OSError):
        rd.write_manifest(manifest)


def _execute(
    todo: list[RunSpec],
    model: Model,
    rd: ResultsDir,
    pool: _Pool,
    opt: _Options,
    name: str,
    manifest: dict[str, Any],
) -> int:
    """Run ``todo`` on the pool, writing each result as it comes; the number that failed.

    The runs estimated longest are submitted first (ties in sweep order): a long run started last
    would keep one worker busy while the others stand idle. Which worker runs a run, and when, never
    changes its metrics (its seed comes from its key).
    """
    from tqdm.auto import tqdm

    failed = 0
    on_row = opt.on_row
    bar = tqdm(total=len(todo), desc=name, unit="run", disable=not opt.progress, dynamic_ncols=True)

    def drain(executor: Executor, window: int) -> None:
        nonlocal failed
        pending: dict[Future[dict[str, Any]], RunSpec] = {}
        queue = sorted(todo, key=lambda r: (opt.cpu_s.get(r.point, 0.0), -r.index))  # popped from the end
        while queue or pending:
            while queue and len(pending) < window:
                run = queue.pop()
                pending[executor.submit(execute_run, model, run.config, run.seed)] = run
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                run = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenExecutor:
                    raise
                except Exception as exc:  # e.g. the result could not be unpickled
                    result = {"error": f"{type(exc).__name__}: {exc}", "run_wall_s": float("nan")}
                row = _row(run, result)
                rd.write_part(row)
                if row["error"] is not None:
                    failed += 1
                if on_row is not None:
                    on_row(row)
                bar.update(1)

    try:
        manifest["executor"] = _info_dict(pool.info)
        rd.write_manifest(manifest)
        drain(pool.executor, max(4, 4 * pool.info.workers))
    except BrokenExecutor as exc:
        # A worker process died (killed, out of memory, crashed in C): that is no run's own result,
        # so nothing is recorded for the runs in flight and --resume runs them again.
        raise ChildProcessError(
            f"a worker process died ({type(exc).__name__}); finished runs are kept, "
            "run the sweep again with --resume"
        ) from exc
    finally:
        bar.close()
    return failed


def _info_dict(info: ExecutorInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": info.kind, "workers": info.workers, "address": info.address}
    if info.memory_per_run is not None:
        out["memory_per_run_bytes"] = info.memory_per_run
    return out
