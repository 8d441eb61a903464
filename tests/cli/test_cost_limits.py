"""``hasim run --dry-run`` and the cost limits of run and sweep: what is printed, refused and let through.

The scenario: 2 peers, 1 Child SA each, 100 + 100 packets/s, 10 s, no liveness checks or rekeys, one
cluster member (nothing to sync), advertisements every 1 s: 2 x 1 x 200 x 10 = 4,000 ESP packets,
0 IKE messages, 0 sync updates, 1 x 10 / 1 = 10 timer events: 4,010 events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hasim.cli import main

SCENARIO = """\
[scenario]
duration_s = 10.0
[cluster]
members = 1
advertisement_interval_s = 1.0
[traffic]
peers = 2
esp_out_pps = 100.0
esp_in_pps = 100.0
liveness_interval_s = 0.0
rekey_interval_s = 0.0
"""

SWEEP = """\
[sweep]
name = "small"
base = "s.toml"
replications = 3
root_seed = 1
[[axes]]
kind = "grid"
key = "traffic.peers"
values = [1, 2]
"""


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, list[str]]:
    code: object = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err.strip().splitlines()


def test_dry_run_prints_the_estimate_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(SCENARIO)
    code, out, err = _run(["run", str(tmp_path / "s.toml"), "--dry-run", "--json"], capsys)
    assert code == 0 and err == []
    est = json.loads(out)
    assert est["esp_packets"] == pytest.approx(4000)
    assert est["ike_messages"] == 0 and est["sync_updates"] == 0
    assert est["timer_events"] == pytest.approx(10)
    assert est["events"] == pytest.approx(4010)


def test_a_limit_refuses_in_one_line_and_force_runs_anyway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(SCENARIO)
    args = ["run", str(tmp_path / "s.toml"), "--max-events", "4000", "--json"]
    code, out, err = _run(args, capsys)
    assert code == 2 and out == ""
    # the ESP packets are most of the events; of their keys only traffic.peers is above its default (2 > 1)
    assert len(err) == 1 and "--max-events" in err[0] and err[0].startswith("hasim: error: traffic.peers: ")
    code, out, err = _run([*args, "--force"], capsys)
    assert code == 0
    assert json.loads(out)["esp_out_sent"] > 0


@pytest.mark.parametrize("value", ["lots", "-1", "0", "inf", "1e400G"])
def test_a_bad_limit_is_one_line(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.toml").write_text(SCENARIO)
    code, _, err = _run(["run", str(tmp_path / "s.toml"), "--max-memory", value], capsys)
    assert code == 2 and len(err) == 1 and "--max-memory" in err[0]


def test_sweep_dry_run_estimates_and_max_runs_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "w.toml").write_text(SWEEP)
    code, out, err = _run(["sweep", str(tmp_path / "w.toml"), "--dry-run"], capsys)
    assert code == 0 and err == []
    assert out.splitlines()[1].startswith("estimate: 6 runs, CPU time about ")
    code, out, err = _run(["sweep", str(tmp_path / "w.toml"), "--dry-run", "--max-runs", "5"], capsys)
    assert code == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("hasim: error: sweep.replications, axes[0]: up to 6 runs")
