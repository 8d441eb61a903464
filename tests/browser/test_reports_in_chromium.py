"""Every committed report opened in headless chromium (Debian's, driven by Playwright): every image
decodes to a non-zero size and is laid out, the console stays free of errors, and the page's text
holds the experiment's findings. A screenshot of each report is kept in build/test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from hasim.experiments.report_figures import figure_specs, load_results
from hasim.experiments.report_html import find_notes

REPO = Path(__file__).resolve().parents[2]
REPORTS = sorted((REPO / "results").glob("*/report.html"))
ARTIFACTS = Path(os.environ.get("HASIM_TEST_ARTIFACTS", REPO / "build" / "test-artifacts"))

DECODE_ALL = """() => Promise.all(Array.from(document.images).map(img =>
    img.decode().then(() => true, () => false).then(ok => {
        const box = img.getBoundingClientRect();
        return {ok, w: img.naturalWidth, h: img.naturalHeight, bw: box.width, bh: box.height};
    })))"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is needed for this test (.ci/run installs it: apt-get install chromium)"
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


def _plain(markdown: str) -> str:
    """Markdown source as the text a reader sees: no emphasis or code marks, links as their text."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)  # images are checked as images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*`]", "", text)
    return " ".join(text.split())


def _findings(readme: str) -> list[str]:
    """The paragraphs and bullets of the README's Finding section (tables left out)."""
    section = re.search(r"^## Finding[^\n]*\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
    assert section, "every experiment's README has a ## Finding section"
    body = re.sub(r"<!--.*?-->\n?", "", section.group(1), flags=re.S)  # markers are not shown
    items = re.split(r"\n\s*\n|\n(?=- )|\n(?=\d+\. )", body)
    out = [_plain(re.sub(r"^(- |\d+\. )", "", item.strip())) for item in items if item.strip()]
    # tables and the invisible claims markers ([//]: # (...), link reference definitions) left out
    return [i for i in out if i and not i.startswith("|") and not i.startswith("[//]: #")]


@pytest.mark.parametrize("report", REPORTS, ids=[p.parent.name for p in REPORTS])
def test_report_in_chromium(report: Path, browser: Browser) -> None:
    res = load_results(report.parent)
    notes = find_notes(res) or REPO / "experiments" / report.parent.name / "README.md"
    readme = notes.read_text()
    expected_images = len(figure_specs(res)) + len(re.findall(r"!\[[^\]]*\]\(", readme))

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:80]}"))
    page.goto(report.resolve().as_uri(), wait_until="load")
    images: list[dict[str, Any]] = page.evaluate(DECODE_ALL)
    text = " ".join(page.inner_text("body").split())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{report.parent.name}.png"), full_page=True)
    page.close()

    assert problems == []
    assert len(images) == expected_images
    assert all(i["ok"] and i["w"] > 0 and i["h"] > 0 and i["bw"] > 0 and i["bh"] > 0 for i in images), images
    findings = _findings(readme)
    assert findings
    missing = [f for f in findings if f not in text]
    assert missing == [], f"findings not on the page: {missing}"
