"""The scenario reference as Markdown, generated from the documented fields (``docs/scenario.md``).

``python -m hasim.sim.scenario.reference_doc > docs/scenario.md`` regenerates it; a test checks it is
current, so the reference never drifts from the code that validates scenarios.
"""

from __future__ import annotations

from hasim.sim.scenario.config import describe_fields

INTRO = """# Scenario reference

A scenario is a TOML file with the sections below (all optional: a missing key takes its default).
`hasim run SCENARIO.toml --set key=value` overrides any key with the same validation; `links.<key>` sets
both directions, `links.cluster_to_peer.<key>` / `links.peer_to_cluster.<key>` one. `[[faults]]` is an
array of tables. A peer with `is_cluster = true` uses the `[cluster]` and `[membership]` settings for its
own members' heartbeats and sync. The cluster link between members carries the state sync and, by
default, the advertisements: latency `cluster.sync_latency_s`, loss `cluster.sync_loss` or the
Gilbert-Elliott chain of `[cluster_link]` (one per direction, stepped by both kinds of message in send
order), jitter, and the partitions of `sync_partition` faults. `[heartbeat_link]` (the keys of a link
direction) is the link the advertisements cross instead when `membership.link = "own"`. A wrong
key, type, unit or value is one error naming the dotted key, the value and what is allowed. Generated
by `python -m hasim.sim.scenario.reference_doc` from `hasim/sim/scenario/sections.py`.
"""


def _cell(v: object) -> str:
    return str(v).replace("|", "\\|")


def markdown() -> str:
    """The whole reference: one table per section, one row per key."""
    out = [INTRO]
    section = None
    for row in describe_fields():
        name = row["key"].split(".")[0]
        if name != section:
            section = name
            title = "[[faults]]" if name == "faults[]" else f"[{name}]"
            out.append(f"\n## {title}\n")
            out.append("| key | default | unit | meaning | allowed | default from |")
            out.append("|---|---|---|---|---|---|")
        default = row["default"]
        shown = (
            f'"{default}"'
            if isinstance(default, str)
            else str(default).lower()
            if isinstance(default, bool)
            else default
        )
        out.append(
            f"| `{row['key'].split('.', 1)[1]}` | {_cell(shown)} | {row['unit']} | {_cell(row['doc'])} | "
            f"{_cell(row['allowed'])} | {_cell(row['source'])} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
