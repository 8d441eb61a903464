"""Floor 4: scenarios and sweeps (TOML), runner, results with provenance, plots and reports."""
