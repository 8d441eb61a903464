"""``hasim run``: table, JSON, overrides, the RFC 6311 exchange in the trace, the pcap, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hasim.cli import cli, main

SCENARIOS = Path(__file__).resolve().parents[2] / "experiments" / "scenarios"
S2S = str(SCENARIOS / "site_to_site.toml")


def test_every_example_scenario_loads() -> None:
    from hasim.sim.scenario.config import load_scenario

    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert {"site_to_site", "remote_access", "legacy_peer"} <= set(names)
    for p in SCENARIOS.glob("*.toml"):
        assert load_scenario(p).scenario.name == p.stem


def test_json_with_overrides() -> None:
    res = CliRunner().invoke(cli, ["run", S2S, "--json", "--seed", "3", "--set", "scenario.duration_s=25"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output)
    assert row["scenario"] == "site_to_site" and row["seed"] == 3
    assert row["ike_sas_survived"] == 1 and row["failovers"] == 1


def test_table() -> None:
    res = CliRunner().invoke(cli, ["run", S2S, "--set", "scenario.duration_s=25"])
    assert res.exit_code == 0
    assert "sa_survival" in res.output and "detection_time_s" in res.output


@pytest.mark.rfc("R5-8", "R5.1-10")
def test_trace_shows_the_rfc6311_exchange_after_the_takeover() -> None:
    res = CliRunner().invoke(cli, ["run", S2S, "--trace", "--set", "scenario.duration_s=25"])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    takeover = next(i for i, line in enumerate(lines) if "takeover" in line)
    sync = [line for line in lines[takeover:] if "IKEV2_MESSAGE_ID_SYNC(" in line]
    assert len(sync) == 2  # the request (with the replay counter delta) and the response
    assert "mid=0" in sync[0] and "req" in sync[0] and "IPSEC_REPLAY_COUNTER_SYNC(delta=" in sync[0]
    assert "mid=0" in sync[1] and "resp" in sync[1]


def test_pcap_and_keys_decrypt_in_tshark(tmp_path: Path) -> None:
    pcap = tmp_path / "run.pcap"
    res = CliRunner().invoke(cli, ["run", S2S, "--pcap", str(pcap), "--set", "scenario.duration_s=25"])
    assert res.exit_code == 0
    keys = tmp_path / "run.pcap.keys"
    assert pcap.stat().st_size > 0 and keys.read_text().count("\n") == 1
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    line = keys.read_text().strip()
    out = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-o", f"uat:ikev2_decryption_table:{line}", "-V"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "IKEV2_MESSAGE_ID_SYNC (16422)" in out and "IPSEC_REPLAY_COUNTER_SYNC (16423)" in out


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["--set", "cluster.sync_intervl_s=1"], "cluster.sync_intervl_s"),
        (["--set", "policy.trigger=soon"], "policy.trigger"),
        (["--set", "cluster.sync_interval_s=fast"], "cluster.sync_interval_s"),
        (["--set", "nothing"], "nothing"),
    ],
)
def test_bad_override_is_one_line_naming_the_key(
    args: list[str], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", S2S, *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err
