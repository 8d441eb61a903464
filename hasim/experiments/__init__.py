"""Floor 4: scenarios and sweeps (TOML), runner, results with provenance, plots and reports.

- ``sweep_spec`` / ``sweep_axes`` / ``constraint_expr``: sweep files, their axes and skip rules, and
  their expansion into runs with seeds spawned from one root seed by run index.
- ``model``: what a sweep runs (default: ``hasim.sim``, imported lazily).
- ``runner`` / ``executors`` / ``results_store`` / ``provenance`` / ``stats``: executing the missing
  runs on an Executor (process pool or Dask), crash-safe results, manifest, t confidence intervals.
- ``plot_style`` / ``plots_sweep`` / ``plots_timeline``: pure DataFrame -> Figure functions.
- ``report_figures`` / ``report_html`` / ``report_markdown``: the self-contained HTML report.
"""
