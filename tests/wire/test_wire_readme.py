"""The README's wire section stays true: its Python runs and its ``hasim decode`` outputs are real."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from hasim.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
TITLE = "## Decoding messages and the wire API"


def section() -> str:
    text = README.read_text()
    if TITLE not in text:
        pytest.skip("README has no wire section")
    body = text.split(TITLE, 1)[1]
    return body.split("\n## ", 1)[0]


def test_python_blocks_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = "\n".join(re.findall(r"```python\n(.*?)```", section(), re.S))
    assert code
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert "MessageIdSync(nonce=7, expected_send=10, expected_recv=3)" in capsys.readouterr().out
    assert (tmp_path / "sync.pcap").stat().st_size > 0 and (tmp_path / "ikev2_decryption_table").exists()


def test_decode_outputs_are_real(capsys: pytest.CaptureFixture[str]) -> None:
    console = re.findall(r"```console\n(.*?)```", section(), re.S)[0]
    text_cmd = re.search(r"^\$ hasim decode ([0-9a-f]+)\n(.*?)(?=^\$ )", console, re.S | re.M)
    assert text_cmd is not None
    main(["decode", text_cmd.group(1)])
    assert capsys.readouterr().out == text_cmd.group(2)
    json_cmd = re.search(
        r"^\$ hasim decode --json ([0-9a-f]+) \| python3 -m json.tool\n(\{.*?^\})", console, re.S | re.M
    )
    assert json_cmd is not None
    main(["decode", "--json", json_cmd.group(1)])
    assert json.loads(capsys.readouterr().out) == json.loads(json_cmd.group(2))
