"""Model vs simulator for the model_validation sweep: comparison.csv, model_vs_sim.png, mid_vs_sim.png.

    hasim sweep experiments/model_validation/sweep.toml --workers 2
    python experiments/model_validation/compare.py [results/model_validation]

For every (case, sync interval, skip forward) point: the simulator's mean replay drops at the peer
with its 95% t interval (clipped at 0) beside the model's E[(N - s)^+], and the share of runs whose
sync request the peer dropped as stale (with its Wilson interval) beside the model's
1 - P(K <= window). The model's inputs are read from the scenario
(experiments/model_validation/scenario.toml) and the case's overrides.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hasim.analysis.failover_model import (
    FailoverParams,
    expected_replay_drops,
    strict_sync_survival,
)
from hasim.experiments.intervals import wilson
from hasim.experiments.results_store import ResultsDir
from hasim.experiments.stats import mean_ci

HERE = Path(__file__).resolve().parent
T_KEY, S_KEY = "cluster.sync_interval_s", "policy.skip_packets"
# Cases whose assumptions the model states (docs/model.md); the rest break one assumption each.
HOLDS = ("model", "poisson", "sync_loss", "sync_only", "lazy", "reorder")


def params_for(row: pd.Series, scenario: dict[str, Any]) -> FailoverParams:
    """The model's inputs for one sweep point: the base scenario plus the point's overrides."""
    cl, tr = scenario["cluster"], scenario["traffic"]
    detection = cl["master_down_multiplier"] * cl["advertisement_interval_s"]  # + skew: lag is 0 anyway
    loss = row.get("cluster.sync_loss")
    model = row.get("traffic.model")
    return FailoverParams(
        rate=float(tr["esp_out_pps"]),
        sync_interval=float(row[T_KEY]),
        detection=float(detection),
        latency=float(cl["sync_latency_s"]),
        sync_loss=float(loss) if pd.notna(loss) else 0.0,
        traffic="poisson" if model == "poisson" else "constant",
        ike_rate=1.0 / float(tr["liveness_interval_s"]),
        ike_process="constant",  # liveness checks are periodic with a random phase
        ike_window=int(scenario["peer"]["ike_window_size"]),
        replay_window=int(scenario["policy"]["replay_window"]),
    )


def compare(runs: pd.DataFrame, scenario: dict[str, Any]) -> pd.DataFrame:
    """One row per sweep point: simulated means with 95% intervals and the model's predictions."""
    runs = runs[runs["error"].isna()] if "error" in runs.columns else runs
    rows = []
    for key, g in runs.groupby(["case", T_KEY, S_KEY], sort=False):
        case, t, s = cast(tuple[Any, Any, Any], key)
        first = g.iloc[0]
        params = params_for(first, scenario)
        drops = [float(x) for x in g["esp_out_replay_drops"]]
        stale = [1.0 if x > 0 else 0.0 for x in g["sync_requests_dropped_stale"]]
        d_mean, d_lo, d_hi = mean_ci(drops)
        d_lo = max(d_lo, 0.0)  # a count: never below 0
        m_mean = sum(stale) / len(stale)  # a proportion of runs: Wilson interval, inside [0, 1]
        m_lo, m_hi = wilson(sum(stale), len(stale))
        predicted = expected_replay_drops(params, int(s))
        strict = first.get("policy.mid_reading") != "sync_only"
        p_drop_sync = 1.0 - strict_sync_survival(params) if strict else 0.0
        rows.append(
            {
                "case": case,
                "sync_interval_s": float(t),
                "skip": int(s),
                "runs": len(g),
                "failovers_mean": float(g["failovers"].mean()),
                "drops_mean": d_mean,
                "drops_ci_low": d_lo,
                "drops_ci_high": d_hi,
                "drops_model": predicted,
                "drops_model_in_ci": bool(d_lo <= predicted <= d_hi),
                "sync_dropped_mean": m_mean,
                "sync_dropped_ci_low": m_lo,
                "sync_dropped_ci_high": m_hi,
                "sync_dropped_model": p_drop_sync,
                "sync_dropped_model_in_ci": bool(m_lo - 1e-12 <= p_drop_sync <= m_hi + 1e-12),
                "assumptions_hold": case in HOLDS,
            }
        )
    return pd.DataFrame(rows)


def _model_curve(
    case_rows: pd.DataFrame, scenario: dict[str, Any], skip: int
) -> tuple[np.ndarray, np.ndarray]:
    first = case_rows.iloc[0].copy()
    ts = np.linspace(0.25, 2.25, 33)
    ys = []
    for t in ts:
        first[T_KEY] = t
        ys.append(expected_replay_drops(params_for(first, scenario), skip))
    return ts, np.array(ys)


def figure_drops(table: pd.DataFrame, runs: pd.DataFrame, scenario: dict[str, Any]) -> plt.Figure:
    """One panel per case: model E[(N - s)^+] (lines) and simulated mean with 95% CI (points)."""
    cases = list(dict.fromkeys(table["case"]))
    fig, axes = plt.subplots(2, (len(cases) + 1) // 2, figsize=(16, 7.5), sharex=True, sharey=True)
    for ax, case in zip(axes.flat, cases, strict=False):
        sub = table[table["case"] == case]
        case_runs = runs[runs["case"] == case]
        for skip, color in zip(sorted(sub["skip"].unique()), ("C0", "C1"), strict=False):
            ts, ys = _model_curve(case_runs, scenario, int(skip))
            ax.plot(ts, ys, color=color, lw=1.5, label=f"model, skip {skip}")
            if case == "multiple":
                ax.plot(ts, 2 * ys, color=color, lw=1, ls="--", label=f"2 x model, skip {skip}")
            pts = sub[sub["skip"] == skip]
            err = np.vstack(
                [pts["drops_mean"] - pts["drops_ci_low"], pts["drops_ci_high"] - pts["drops_mean"]]
            )
            ax.errorbar(
                pts["sync_interval_s"],
                pts["drops_mean"],
                yerr=err,
                fmt="o",
                color=color,
                capsize=3,
                label=f"sim mean, 95% CI, skip {skip}",
            )
        ax.set_title(f"{case}" + ("" if case in HOLDS else " (assumption broken)"))
        if case == "multiple":
            ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("sync interval T (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("replay drops at the peer per run")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Replay drops after failover: closed-form model E[(N - s)^+] vs simulator (1000 pps)")
    fig.tight_layout()
    return fig


def figure_mid(table: pd.DataFrame) -> plt.Figure:
    """Share of runs whose sync request the peer dropped as stale (strict R5.1-5) vs 1 - P(K <= 1)."""
    sub = table[table["skip"] == table["skip"].min()]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cases = list(dict.fromkeys(sub["case"]))
    width = 0.8 / len(cases)
    for k, case in enumerate(cases):
        pts = sub[sub["case"] == case].sort_values("sync_interval_s")
        x = np.arange(len(pts)) + (k - len(cases) / 2) * width
        err = np.vstack(
            [
                pts["sync_dropped_mean"] - pts["sync_dropped_ci_low"],
                pts["sync_dropped_ci_high"] - pts["sync_dropped_mean"],
            ]
        )
        ax.errorbar(x, pts["sync_dropped_mean"], yerr=err, fmt="o", ms=4, capsize=2, label=case)
        ax.scatter(x, pts["sync_dropped_model"], marker="_", s=200, color="black")
    ax.set_xticks(np.arange(3), [f"T = {t:g} s" for t in sorted(sub["sync_interval_s"].unique())])
    ax.set_ylabel("P(sync request dropped as stale)")
    ax.set_title(
        "Stale Message IDs, strict R5.1-5 (liveness every 0.5 s): sim (points, 95% CI) vs model (bars)"
    )
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def main(argv: list[str]) -> None:
    """Write comparison.csv and the two figures into the results folder."""
    results = Path(argv[1]) if len(argv) > 1 else Path("results/model_validation")
    scenario = tomllib.loads((HERE / "scenario.toml").read_text())
    runs = ResultsDir(results).load_runs()
    table = compare(runs, scenario)
    table.to_csv(results / "comparison.csv", index=False, float_format="%.6g")
    figure_drops(table, runs, scenario).savefig(results / "model_vs_sim.png", dpi=110)
    figure_mid(table).savefig(results / "mid_vs_sim.png", dpi=110)
    cols = [
        "case",
        "sync_interval_s",
        "skip",
        "drops_mean",
        "drops_ci_low",
        "drops_ci_high",
        "drops_model",
        "drops_model_in_ci",
        "sync_dropped_mean",
        "sync_dropped_model",
        "sync_dropped_model_in_ci",
    ]
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main(sys.argv)
