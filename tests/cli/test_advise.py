"""``hasim advise``: text output, the --json object, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from hasim.cli import main

ARGS = ["advise", "--rate", "1000", "--sync-interval", "1", "--detection", "3"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_names_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(ARGS, capsys)
    assert code == 0
    # Hand value (tests/analysis/test_failover_model.py): s* = 999 for 0.999 at r = 1000, T = 1.
    assert "minimal skip forward: 999" in out
    assert "maximal sync interval for skip 999: 1.0005 s" in out
    assert "RFC 6311 fallback 2**30: 3)" in out
    assert "formulas:" in out
    assert "s* = min{n : P(N <= n) >= target}" in out


def test_json_is_one_object_with_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*ARGS, "--json", "--skip", "2000", "--esn"], capsys)
    assert code == 0
    data = json.loads(out)
    for key in (
        "min_skip_forward",
        "max_sync_interval_s",
        "margin_packets",
        "margin_s",
        "counter_fraction",
        "failovers_until_rekey",
        "expected_drops",
        "mid_stale_probability",
        "strict_survival_at_window",
        "inbound_min_delta",
        "estimate_expected_skip",
        "estimate_p_drop",
        "formulas",
        "params",
    ):
        assert key in data
    assert data["min_skip_forward"] == 999
    assert data["skip_forward"] == 2000
    # margin = s* - E[N] = 999 - 500
    assert data["margin_packets"] == pytest.approx(499.0)
    # ESN: (2^64 - 1) // 2^30 = 2^34 - 1
    assert data["rfc_fallback_failovers"] == 2**34 - 1
    assert data["params"]["esn"] is True
    # skip 2000 >= every N at T = 1 s. For T > 2: P(N <= 2000) = (2001^2 - 2000^2)/(2000 T) = 4001/(2000 T)
    # >= 0.999  <=>  T <= 4001/1998 = 2.0025 s.
    assert data["expected_drops"] == 0.0
    assert data["max_sync_interval_s"] == pytest.approx(4001 / 1998, rel=1e-6)


def test_detection_from_vrrp_advertisement(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["advise", "--rate", "1000", "--sync-interval", "1", "--advertisement", "1", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    # 3 x 1 s + 156/256 s (RFC 5798 6.1, priority 100)
    assert json.loads(out)["params"]["detection"] == pytest.approx(3.609375)


@pytest.mark.parametrize(("interval", "master_down"), [("1", "3.609375"), ("0.1", "0.3609375")])
def test_detection_line_by_hand(interval: str, master_down: str, capsys: pytest.CaptureFixture[str]) -> None:
    # RFC 5798 6.1, priority 100: 3 x I + 156 I / 256 (1 s: 3.609375 s; 0.1 s: 0.3609375 s)
    argv = ["advise", "--rate", "1000", "--sync-interval", "1", "--advertisement", interval]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert f"a crash is detected at the last advertisement received + {master_down} s" in out


def test_false_failovers_from_heartbeat_loss(capsys: pytest.CaptureFixture[str]) -> None:
    # p = 0.1, n = 3: 3600 x 0.9 x 0.001 = 3.24 per hour; strongSwan n = 2: 32.4 per hour
    base = ["advise", "--rate", "1000", "--sync-interval", "1", "--advertisement", "1"]
    base += ["--heartbeat-loss", "0.1"]
    code, out, _ = run(base, capsys)
    assert code == 0
    assert "3 lost in a row make a false failover: 3.24 per hour" in out
    code, out, _ = run([*base, "--detection-style", "strongswan", "--json"], capsys)
    data = json.loads(out)["detection_model"]
    assert data["false_failovers_per_hour"] == pytest.approx(32.4)
    assert data["master_down_s"] == 2.1
    assert json.loads(out)["params"]["detection"] == 2.1


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["advise", "--rate", "fast", "--sync-interval", "1", "--detection", "3"], "rate"),
        (["advise", "--sync-interval", "1", "--detection", "3"], "rate"),
        ([*ARGS, "--traffic", "bursty"], "traffic"),
        ([*ARGS, "--target-survival", "1.0"], "target_survival"),
        ([*ARGS, "--sync-loss", "-0.1"], "sync_loss"),
        (["advise", "--rate", "1", "--sync-interval", "0", "--detection", "3"], "sync_interval"),
        ([*ARGS, "--skip", "-5"], "skip"),
        (["advise", "--rate", "1", "--sync-interval", "1"], "detection"),
        (["advise", "--rate", "1", "--sync-interval", "1", "--advertisement", "-1"], "advertisement"),
        ([*ARGS, "--advertisement", "1", "--heartbeat-loss", "2"], "loss"),
        ([*ARGS, "--detection-style", "keepalived"], "detection_style"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], key: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert key in err
