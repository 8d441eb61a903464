"""The README's "Protocol API" section stays true: its example runs and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
TITLE = "## Protocol API"


@pytest.mark.rfc("R5.1-11")
def test_readme_failover_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = README.read_text()
    if TITLE not in text:
        pytest.skip("README has no protocol section")
    body = text.split(TITLE, 1)[1].split("\n## ", 1)[0]
    code = "\n".join(re.findall(r"```python\n(.*?)```", body, re.S))
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == ["['takeover', 'counters_skipped', 'sync_sent', 'sync_completed']", "True True"]
