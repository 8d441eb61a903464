"""``hasim interop strongswan`` argument handling (no charon needed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hasim.cli import cli, main
from hasim.interop.cases import CASES


def test_unknown_case_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["interop", "strongswan", "--case", "no such case"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--case" in err[0] and "fresh M1" in err[0]


def test_staleness_below_two_is_refused() -> None:
    result = CliRunner().invoke(cli, ["interop", "strongswan", "--stale", "1"])
    assert result.exit_code == 2 and "--stale" in result.output


def test_case_margins_keep_their_place_relative_to_charon() -> None:
    by_name = {c.name: c for c in CASES}
    for k in (2, 3, 7):
        # M1 = stale next ID + 1 + margin; charon expects stale next ID + k
        assert 1 + by_name["fresh M1"].margin(k) - k == 1
        assert 1 + by_name["M1 = next expected"].margin(k) - k == 0
        assert by_name["stale M1"].margin(k) == 0  # the policy's own M1: stale next ID + window


def test_reading_takes_the_scenario_words() -> None:
    # the scenario's policy.mid_reading words, no second spelling
    refused = CliRunner().invoke(cli, ["interop", "strongswan", "--reading", "sync-only"])
    assert refused.exit_code == 2 and "'strict', 'sync_only', 'strongswan'" in refused.output
    shown = CliRunner().invoke(cli, ["interop", "strongswan", "--help"])
    assert "[strict|sync_only|strongswan]" in shown.output
