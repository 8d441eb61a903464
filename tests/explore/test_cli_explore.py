"""``hasim explore``: the report, its JSON, the ladder of a counterexample, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hasim.cli import cli, main

TINY = ["--window", "1", "--failovers", "1", "--sync-losses", "0", "--losses", "0", "--requests", "1"]
TINY += ["--esp", "0", "--duplicates", "0", "--early-timeouts", "0", "--syncs", "0"]


def test_text_report_names_every_property_and_the_terminal_outcome() -> None:
    res = CliRunner().invoke(cli, ["explore", *TINY])
    assert res.exit_code == 0, res.output
    head = res.output.splitlines()[0]
    assert head.startswith("explore reading=strict policy=proactive window=1: states=")
    for name in ("mid_reuse", "stale_sync_accepted", "nonce_echo", "esp_replay_accepted", "iv_reuse"):
        assert any(line.split()[1:3] == [name, "holds"] for line in res.output.splitlines()), name
    assert "outcome terminal=" in res.output


def test_json_agrees_with_itself_and_carries_the_ladder_of_what_happens() -> None:
    res = CliRunner().invoke(cli, ["explore", *TINY, "--json", "--ladders", "--reading", "sync_only"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    (run,) = obj["runs"]
    assert run["reading"] == "sync_only" and run["complete"] and run["states"] > 1
    out = run["outcome"]
    assert out["terminal"] == out["synchronized"] + out["deleted"] + out["waiting"] + out["neither"] > 0
    twice = run["properties"]["request_processed_twice"]
    assert not twice["safety"]
    if not twice["holds"]:  # its ladder replays to the step that broke the property
        marks = [r for r in twice["ladder"]["timeline"] if r["kind"] == "violated"]
        assert marks and marks[-1]["time"] == twice["shortest_steps"]


def test_the_ladder_is_the_run_trace_ladder_with_steps_for_time() -> None:
    res = CliRunner().invoke(cli, ["explore", *TINY, "--ladders"])
    lines = res.output.splitlines()
    head = next(line for line in lines if line.lstrip().startswith("step"))
    assert head.split()[:5] == ["step", "from", "->", "to", "sa"]
    assert any("== cluster1 takeover" in line for line in lines)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--policy", "nonesuch"], "--policy"),
        (["--failovers", "99"], "--failovers"),
        (["--window", "0"], "window"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["explore", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and named in err


def test_pcap_of_each_ladder_decrypts_in_tshark(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["explore", *TINY, "--ladders", "--json", "--pcap", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (run,) = json.loads(res.output)["runs"]
    twice = run["properties"]["request_processed_twice"]
    pcap = tmp_path / "strict-proactive-w1-request_processed_twice.pcap"
    keys = tmp_path / "strict-proactive-w1-request_processed_twice.pcap.keys"
    assert keys.read_text().count("\n") == 1
    tshark = shutil.which("tshark")
    assert tshark is not None, "tshark is installed by .ci/run"
    out = subprocess.run(
        [
            tshark,
            "-n",
            "-r",
            str(pcap),
            "-o",
            f"uat:ikev2_decryption_table:{keys.read_text().strip()}",
            "-T",
            "fields",
            "-e",
            "isakmp.messageid",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    # one packet per message row of the ladder, with the same Message IDs in the same order
    assert [int(m, 0) for m in out] == [r["message_id"] for r in twice["ladder"]["ike_messages"]]
