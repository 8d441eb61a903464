"""The design-review report of a sweep: one self-contained HTML file a reviewer can open offline.

Sections: the author's notes (the experiment's README: question, setup, finding), provenance from
the manifest, the sweep file and base scenario, the summary table (mean and 95% CI per point), the
figures (embedded as base64 PNG: no external files, no scripts) and any failed runs.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from hasim.errors import read_utf8
from hasim.experiments.plot_style import figure_data_uri, format_value, label_for
from hasim.experiments.report_claims import claims_html
from hasim.experiments.report_figures import (
    LoadedResults,
    axis_columns,
    figure_caption,
    figure_key,
    figure_specs,
    load_results,
    make_figure,
)
from hasim.experiments.report_markdown import markdown_to_html

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #0072B2;padding-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .5em;
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em}code{background:#f6f8fa;padding:0 .2em}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}
.prov td{text-align:left}.err{color:#D55E00}details{margin:1em 0}
"""

_PROVENANCE = [
    ("sweep", "Sweep"),
    ("status", "Status"),
    ("model", "Model"),
    ("hasim_version", "hasim version"),
    ("git_revision", "Git revision"),
    ("git_dirty", "Tree had uncommitted edits"),
    ("run_revisions", "Runs per git revision (as the workers read it)"),
    ("sweep_file", "Sweep file"),
    ("sweep_hash", "Sweep file SHA-256"),
    ("base_scenario", "Base scenario"),
    ("base_hash", "Base scenario SHA-256"),
    ("root_seed", "Root seed"),
    ("seeding", "Seeding"),
    ("replications", "Replications"),
    ("points", "Points"),
    ("runs_total", "Runs"),
    ("runs_completed", "Runs completed"),
    ("runs_failed", "Runs failed"),
    ("start_time", "Started (UTC)"),
    ("end_time", "Finished (UTC)"),
    ("resumed_at", "Resumed at"),
    ("executor", "Executor"),
    ("host", "Host"),
    ("platform", "Platform"),
    ("python", "Python"),
    ("numpy", "NumPy"),
    ("mixed_results", "Mixed results (forced)"),
]


def _esc(value: Any) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return html.escape(str(value))


def _pre(text: str) -> str:
    return f"<pre><code>{html.escape(text, quote=False)}</code></pre>"


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        return f"{x:.4g}"
    return html.escape(format_value(x))


def _summary_table(res: LoadedResults, metrics: list[str]) -> str:
    s = res.summary
    params = axis_columns(res) or [p for p in res.params if p in s.columns]
    head = [*params, "runs", *(label_for(m) for m in metrics)]
    rows = [
        "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead><tbody>"
    ]
    for _, r in s.iterrows():
        cells = [_fmt(r[p]) for p in params]
        runs = f"{int(r['n_runs'])}" + (f" ({int(r['n_errors'])} failed)" if r.get("n_errors", 0) else "")
        cells.append(runs)
        for m in metrics:
            mean, lo, hi = r.get(f"{m}_mean"), r.get(f"{m}_ci_low"), r.get(f"{m}_ci_high")
            text = _fmt(mean)
            if isinstance(lo, float) and not math.isnan(lo):
                text += f" <small>[{_fmt(lo)}, {_fmt(hi)}]</small>"
            if f"{m}_n" in r:  # how many runs defined the cell, and how many finished without a value
                undefined = int(r.get(f"{m}_undefined", 0))
                extra = f", {undefined} undefined" if undefined else ""
                text += f" <small>n={int(r[f'{m}_n'])}{extra}</small>"
            cells.append(text)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _report_metrics(res: LoadedResults) -> list[str]:
    wanted = res.sweep_doc.get("report", {}).get("metrics")
    available = [c[: -len("_mean")] for c in res.summary.columns if c.endswith("_mean")]
    if wanted:
        return [m for m in wanted if m in available]
    preferred = [
        "sa_survival",
        "esp_out_replay_drops",
        "esp_in_replay_drops",
        "ike_retransmissions",
        "recovery_time_s",
        "replayed_packets_accepted",
    ]
    chosen = [m for m in preferred if m in available]
    return chosen or [m for m in available if m != "wall_time_s"][:6]


def find_notes(res: LoadedResults) -> Path | None:
    """The experiment's README.md beside its sweep file, if it can be found."""
    sweep_file = res.manifest.get("sweep_file")
    candidates = []
    if sweep_file:
        candidates.append(Path(sweep_file).parent / "README.md")
    candidates.append(Path("experiments") / str(res.manifest.get("sweep", "")) / "README.md")
    return next((p for p in candidates if p.is_file()), None)


def build_report(results: str | Path, notes: str | Path | None = None) -> str:
    """The HTML text of the report of the results folder ``results``."""
    res = load_results(results)
    m = res.manifest
    doc = res.sweep_doc
    title = doc.get("report", {}).get("title") or f"hasim sweep: {m.get('sweep')}"
    notes_path = Path(notes) if notes else find_notes(res)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_esc(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{_esc(title)}</h1>",
    ]
    if doc.get("sweep", {}).get("description"):
        parts.append(f"<p>{_esc(doc['sweep']['description'])}</p>")
    parts.append("<h2>Question, setup and finding</h2>")
    if notes_path is not None:
        text = read_utf8(notes_path, "notes (Markdown)")
        parts.append(markdown_to_html(text, heading_offset=2, base=notes_path.resolve().parent))
        parts.append(f"<p><small>Notes from <code>{_esc(notes_path)}</code>.</small></p>")
    else:
        parts.append("<p><em>No README.md found beside the sweep file.</em></p>")
    metrics = _report_metrics(res)
    parts.append(claims_html(res))
    parts.append("<h2>Figures</h2>")
    for i, spec in enumerate(figure_specs(res)):
        try:
            fig = make_figure(spec, res, figure_key(res, i))
            parts.append(
                f"<figure><img alt='{_esc(figure_caption(spec, res))}' src='{figure_data_uri(fig)}'>"
                f"<figcaption>{_esc(figure_caption(spec, res))}</figcaption></figure>"
            )
        except (ValueError, KeyError) as exc:
            parts.append(f"<p class='err'>Figure {_esc(spec)} could not be drawn: {_esc(exc)}</p>")
    parts.append("<h2>Summary (mean [95% CI] over replications)</h2>")
    parts.append(_summary_table(res, metrics))
    parts.append(
        "<p><small>Intervals by the metric's kind: Wilson score interval over runs for proportions, "
        "mean &plusmn; t<sub>0.975, n-1</sub> s/&radic;n clipped to the possible range for counts and "
        "times; n = runs that defined the value. Full per-run data: <code>runs.parquet</code>; all "
        "metrics: <code>summary.csv</code>.</small></p>"
    )
    parts.append(_failures(res.runs))
    parts.append("<h2>Provenance</h2><table class='prov'><tbody>")
    for key, label in _PROVENANCE:
        if key in m and m[key] not in (None, [], ""):
            parts.append(f"<tr><th>{_esc(label)}</th><td>{_esc(m[key])}</td></tr>")
    parts.append("</tbody></table>")
    parts.append("<h2>Sweep and scenario</h2><h3>Sweep file</h3>")
    parts.append(_pre(m.get("sweep_toml", "")))
    if m.get("base_toml"):
        parts.append(f"<h3>Base scenario ({_esc(m.get('base_scenario', ''))})</h3>")
        parts.append(_pre(m["base_toml"]))
    if res.first_config:
        first = json.dumps(res.first_config, indent=2)
        parts.append(
            "<details><summary>Full resolved config of run 0 (all defaults filled in)</summary>"
            f"{_pre(first)}</details>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _failures(runs: pd.DataFrame) -> str:
    if "error" not in runs.columns or not runs["error"].notna().any():
        return "<p>All runs completed without error.</p>"
    bad = runs[runs["error"].notna()]
    rows = "".join(
        f"<tr><td>{_esc(r['run_id'])}</td><td>{_esc(r['error'])}</td></tr>"
        for _, r in bad.head(50).iterrows()
    )
    return (
        f"<h2 class='err'>Failed runs ({len(bad)})</h2><table><thead><tr><th>run</th><th>error</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def write_report(results: str | Path, out: str | Path | None = None, notes: str | Path | None = None) -> Path:
    """Write the report (default ``<results>/report.html``) and return its path."""
    target = Path(out) if out else Path(results) / "report.html"
    from hasim.experiments.results_store import atomic_write_text

    atomic_write_text(target, build_report(results, notes))
    return target
