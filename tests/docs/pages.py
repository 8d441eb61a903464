"""Reading the README and docs/ pages for the tests that keep them true.

A page or a section that a test checks and that went missing fails the test (an AssertionError naming
the page and the heading), never skips it: the content moved, so the test must move with it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]


def read(page: str) -> str:
    """The text of ``page`` (a path relative to the repository root)."""
    path = ROOT / page
    assert path.is_file(), f"{page} is missing"
    return path.read_text()


def section(page: str, title: str) -> str:
    """The body of the section headed exactly ``title`` (for example ``## Protocol API``) in ``page``."""
    text = read(page)
    heading = re.search(rf"^{re.escape(title)}\n", text, re.M)
    assert heading is not None, f"{page} has no section {title!r}"
    level = len(title) - len(title.lstrip("#"))
    lines, fenced = [], False
    for line in text[heading.end() :].splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        lines.append(line)
    return "".join(lines)


def blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def hasim_commands(text: str) -> list[tuple[list[str], str]]:
    """Each ``$ hasim ...`` of the console blocks with the output shown after it, for the commands
    that run without a shell (no pipe, no ``;``, no redirection)."""
    found = []
    for block in blocks(text, "console"):
        for cmd, shown in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block, re.M):
            if cmd.startswith("hasim ") and not re.search(r"[|;&<>]|\$\(", cmd):
                found.append((shlex.split(cmd)[1:], shown))
    return found


def shown_matches(shown: str, real: str) -> bool:
    """Whether an output shown on a page is the real one: line for line, where a line ``...`` stands for
    any lines and a line ending in ``...`` for any line it begins; ``wall_time_s`` differs per run."""

    def keep(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("wall_time_s")]

    parts = []
    for line in keep(shown):
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        elif line.endswith("..."):
            parts.append(re.escape(line[:-3]) + r"[^\n]*\n")
        else:
            parts.append(re.escape(line) + r"\n")
    return re.fullmatch("".join(parts), "".join(f"{line}\n" for line in keep(real))) is not None
