"""docs/protocol.md's "Protocol API" section stays true: its example runs and prints what it says."""

from __future__ import annotations

import pytest

from .pages import blocks, section

PAGE = "docs/protocol.md"


@pytest.mark.rfc("R5.1-11")
def test_failover_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = "\n".join(blocks(section(PAGE, "## Protocol API"), "python"))
    exec(compile(code, PAGE, "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == ["['takeover', 'counters_skipped', 'sync_sent', 'sync_completed']", "True True"]
