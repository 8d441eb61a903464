"""docs/wire.md stays true: its Python runs and its ``hasim decode`` outputs are real."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from hasim.cli import main

from .pages import blocks, section

PAGE = "docs/wire.md"


def test_python_blocks_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = "\n".join(blocks(section(PAGE, "## In Python"), "python"))
    assert code
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, PAGE, "exec"), {})
    finally:
        os.chdir(cwd)
    assert "MessageIdSync(nonce=7, expected_send=10, expected_recv=3)" in capsys.readouterr().out
    assert (tmp_path / "sync.pcap").stat().st_size > 0 and (tmp_path / "ikev2_decryption_table").exists()


def test_decode_outputs_are_real(capsys: pytest.CaptureFixture[str]) -> None:
    console = blocks(section(PAGE, "## hasim decode"), "console")[0]
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
