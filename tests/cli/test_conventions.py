"""One convention for every command: -h, --json where results are printed, --out a folder, sweep --set,
a failed run makes a sweep exit 1 with a summary line."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hasim.cli import cli, main

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / "tests" / "experiments"
if str(TOY) not in sys.path:  # the toy model must be importable by worker processes too
    sys.path.insert(0, str(TOY))

from toy_model import BASE_TOML  # noqa: E402

SWEEP = """\
[sweep]
name = "toy"
base = "base.toml"
replications = 3
root_seed = 42

[[axes]]
kind = "grid"
key = "model.a"
values = [1.0, 2.0, 3.0]
"""


def _commands(group: click.Group, ctx: click.Context, prefix: list[str]) -> list[list[str]]:
    out = [prefix]
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        assert sub is not None
        if isinstance(sub, click.Group):
            out += _commands(sub, ctx, [*prefix, name])
        else:
            out.append([*prefix, name])
    return out


ALL = _commands(cli, click.Context(cli), [])


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) or "hasim" for p in ALL])
def test_every_command_accepts_dash_h(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "-h"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ") and "-h, --help" in result.output


PRINTING = ["run", "sweep", "plot", "report", "advise", "decode", "examples", "explore", "interop strongswan"]


@pytest.mark.parametrize("name", PRINTING)
def test_every_command_that_prints_results_has_json(name: str) -> None:
    command: click.Command | None = cli
    for word in name.split():
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), word)
    assert command is not None
    assert "--json" in {opt for p in command.params for opt in getattr(p, "opts", [])}


@pytest.mark.parametrize("name", ["sweep", "plot", "report", "examples"])
def test_out_is_a_folder_everywhere(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    (out,) = [p for p in command.params if "--out" in getattr(p, "opts", [])]
    assert isinstance(out.type, click.Path) and out.type.file_okay is False
    assert "Folder to write into" in (getattr(out, "help", "") or "")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    (tmp_path / "base.toml").write_text(BASE_TOML)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    return tmp_path


def test_dry_run_json_and_set(toy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", str(toy / "sweep.toml"), "--model", "toy_model:TOY", "--dry-run", "--json"]
    main(args)
    listing = json.loads(capsys.readouterr().out)
    assert listing["runs"] == 3 * 3 and listing["points"] == 3 and len(listing["run_list"]) == 9
    assert [r["model.a"] for r in listing["run_list"][::3]] == [1.0, 2.0, 3.0]
    main([*args, "--set", "sweep.replications=1", "--set", "model.b=5"])
    listing = json.loads(capsys.readouterr().out)
    assert listing["runs"] == 3 and listing["replications"] == 1


def test_sweep_json_and_set_reach_the_runs(toy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = toy / "r"
    main(
        [
            "sweep",
            str(toy / "sweep.toml"),
            "--model",
            "toy_model:TOY",
            "--out",
            str(out),
            "--no-progress",
            "--json",
            "--set",
            "model.noise=0",
            "--set",
            "model.b=5",
        ]
    )
    outcome = json.loads(capsys.readouterr().out)
    assert outcome == {**outcome, "sweep": "toy", "total": 9, "ran": 9, "failed": 0, "already_done": 0}
    import pandas as pd

    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(set(runs["y"])) == [5.0, 10.0, 15.0]  # y = a * b with no noise


def test_a_sweep_with_a_failed_run_exits_1_with_a_summary_line(
    toy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "sweep",
                str(toy / "sweep.toml"),
                "--model",
                "toy_model:TOY",
                "--out",
                str(toy / "r"),
                "--no-progress",
                "--set",
                "model.fail_when_a=2.0",
            ]
        )
    assert exc.value.code == 1
    captured = capsys.readouterr()
    assert "9 runs executed (3 failed)" in captured.out
    assert captured.err.strip().splitlines()[-1].startswith("hasim: 3 of 9 runs failed")


def test_examples_list_and_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["examples", "--json"])
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["site_to_site"]["kind"] == "scenario" and listed["sync_vs_skip"]["kind"] == "sweep"
    main(["examples", "sync_vs_skip", "site_to_site", "--out", str(tmp_path)])
    copied = capsys.readouterr().out.split()
    assert str(tmp_path / "scenarios" / "site_to_site.toml") in copied
    assert (tmp_path / "sync_vs_skip" / "sweep.toml").read_text() == (
        REPO / "experiments" / "sync_vs_skip" / "sweep.toml"
    ).read_text()


def test_run_takes_an_example_name(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "site_to_site", "--json", "--set", "scenario.duration_s=25"])
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["scenario"] == "site_to_site" and metrics["failovers"] == 1


def _complete(words: str) -> list[str]:
    import os
    import subprocess

    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    env["_HASIM_COMPLETE"] = "bash_complete"
    hasim = Path(sys.executable).parent / "hasim"
    done = subprocess.run([str(hasim)], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def test_shell_completion_of_commands_options_and_example_names() -> None:
    assert "plain,sweep" in _complete("hasim sw")
    assert {"plain,--dry-run", "plain,--dask"} <= set(_complete("hasim sweep --d"))
    assert _complete("hasim run site") == ["plain,site_to_site", "file,site"]
    assert "plain,sync_vs_skip" in _complete("hasim sweep sync")


def test_one_spelling_per_value_the_scenario_files_words() -> None:
    """Every option with a fixed set of values takes them as the scenario files write them:
    lower case with underscores (``sync_only``, ``first_send``), never a dashed variant."""
    choices: dict[str, list[str]] = {}
    for path in ALL:
        command: click.Command | None = cli
        for word in path:
            assert isinstance(command, click.Group)
            command = command.get_command(click.Context(command), word)
        assert command is not None
        for param in command.params:
            values = getattr(param.type, "choices", None)
            if values:
                choices[f"{' '.join(path)} {param.name}"] = [str(v) for v in values]
    assert choices, "some options take a fixed set of values"
    bad = {k: v for k, v in choices.items() if any(re.fullmatch(r"[a-z0-9_.]+", x) is None for x in v)}
    assert bad == {}
