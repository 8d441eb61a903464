"""The README and docs/ pages stay true: their links lead somewhere, the hasim outputs they show are
what hasim prints, and the README's sweep is the committed one."""

from __future__ import annotations

import re
import tomllib

import pytest

from hasim.cli import main

from .pages import PAGES, ROOT, blocks, hasim_commands, read, section, shown_matches

# pages whose console blocks show hasim commands, and how many each shows at least
COMMANDS = {"README.md": 2, "docs/usage.md": 3, "docs/model.md": 3, "docs/explore.md": 1, "docs/sweeps.md": 1}


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_lead_to_files(page: str) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", read(page)):
        if "://" in target:
            continue
        assert (ROOT / page).parent.joinpath(target).exists(), f"{page} links to {target}, which is missing"


def test_shown_matches_reads_ellipses_as_gaps() -> None:
    real = "a\nb 1\nwall_time_s 0.5\nc\nd\n"
    assert shown_matches("a\n...\nd\n", real)
    assert shown_matches("a\nb ...\nc\nd\n", real)
    assert shown_matches("a\nb 1\nwall_time_s 9\nc\nd\n", real)
    assert not shown_matches("a\nc\nd\n", real)  # a line left out without "..."
    assert not shown_matches("a\n...\nb 2\n...\n", real)


@pytest.mark.parametrize("page", sorted(COMMANDS))
def test_shown_hasim_outputs_are_real(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    commands = hasim_commands(read(page))
    assert len(commands) >= COMMANDS[page], f"{page} shows {len(commands)} hasim commands"
    for argv, shown in commands:
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 2, f"hasim {' '.join(argv)} exited {exc.code}"
        out = capsys.readouterr()
        assert shown_matches(shown, out.out + out.err), f"{page}: hasim {' '.join(argv)} prints otherwise"


def test_readme_sweep_is_experiment_one() -> None:
    shown = tomllib.loads(blocks(section("README.md", "## One sweep and its report"), "toml")[0])
    real = tomllib.loads((ROOT / "experiments" / "sync_vs_skip" / "sweep.toml").read_text())
    assert shown["sweep"].items() <= real["sweep"].items()
    assert shown["axes"] == real["axes"]


def test_readme_figure_is_committed() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", read("README.md"))
    assert len(images) == 1
    assert (ROOT / images[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
