"""The experiment notes in a report: Markdown through markdown-it-py, with nothing in them able to run.

Only http(s), relative and ``#`` links survive; raw HTML is text; every attribute is escaped; the
README's relative images are embedded; NUL characters do not crash the renderer.
"""

from __future__ import annotations

import base64
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tomli_w

from hasim.experiments.report_markdown import markdown_to_html, safe_link

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "a", "img", "em", "strong", "code", "pre", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "blockquote", "hr", "br", "span",
}  # fmt: skip


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


HOSTILE = [
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](java&#x09;script:alert(1))",
    "[a](<javascript:alert(1)>)",
    "[a](vbscript:msgbox(1))",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[a](file:///etc/passwd)",
    "[a](//evil.example/x)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    "[a]: javascript:alert(1)\n\n[b][a]",
    '[a](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    '![i](https://ok.example/i.png "x\\" onerror=\\"alert(1)")',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">a</a>',
    "<iframe src=https://evil.example></iframe>",
    "`<script>`",
    "```\n</code></pre><script>alert(1)</script>\n```",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_in_the_notes_can_run(text: str) -> None:
    html = markdown_to_html(text)
    for tag, attrs in tags_of(html):
        assert tag in ALLOWED_TAGS, html
        assert not any(name.startswith("on") for name in attrs), html
        for name in ("href", "src"):
            value = attrs.get(name)
            if value is not None and not value.startswith("data:image/"):
                assert value.startswith(("https://", "http://", "#")) or ":" not in value.split("/")[0], html
                assert not value.startswith("//"), html


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.rfc-editor.org/rfc/rfc6311", True),
        ("http://example.org", True),
        ("../sync_vs_skip/README.md", True),
        ("#finding", True),
        ("figure.png", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,x", False),
        ("mailto:a@b", False),
        ("//evil.example", False),
    ],
)
def test_link_rule(url: str, ok: bool) -> None:
    assert safe_link(url) is ok


def test_allowed_links_and_escaped_text() -> None:
    html = markdown_to_html(
        'See [RFC](https://www.rfc-editor.org/rfc/rfc6311), [up](../x.md), [here](#f). a < b & "c"'
    )
    assert '<a href="https://www.rfc-editor.org/rfc/rfc6311">RFC</a>' in html
    assert '<a href="../x.md">up</a>' in html and '<a href="#f">here</a>' in html
    assert "a &lt; b &amp; &quot;c&quot;" in html


def test_nul_characters_do_not_crash_and_become_replacement_characters() -> None:
    html = markdown_to_html("# ti\x00tle\n\nbody \x00 [l\x00](https://x.example/\x00)\n")
    assert "\x00" not in html and "\ufffd" in html
    assert "<h2>ti\ufffdtle</h2>" in html


def test_relative_images_are_embedded_and_missing_ones_named(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "a b.png").write_bytes(png)
    html = markdown_to_html("![model vs sim](figs/a%20b.png)\n\n![gone](figs/none.png)", base=tmp_path)
    (img, *_rest) = [attrs for tag, attrs in tags_of(html) if tag == "img"]
    assert img["src"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert img["alt"] == "model vs sim"
    assert "[image not found: figs/none.png]" in html


def test_headings_shift_down() -> None:
    html = markdown_to_html("# One\n\n##### Five\n\n###### Six", heading_offset=2)
    assert "<h3>One</h3>" in html and "<h6>Five</h6>" in html and "<h6>Six</h6>" in html


def test_images_outside_the_notes_and_working_folders_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret")
    (tmp_path / "notes").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    html = markdown_to_html("![s](../secret.png)", base=tmp_path / "notes")
    assert "base64" not in html and "[image not found: ../secret.png]" in html
    remote = markdown_to_html("![chart](https://example.org/c.png)")
    assert tags_of(remote) == [("p", {}), ("a", {"href": "https://example.org/c.png"})]


EVIL = "</title></style></pre><script>alert(1)</script><img src=x onerror=alert(1)>'\""


def test_a_whole_report_of_hostile_text_runs_nothing(toy_dir: Path) -> None:
    from toy_model import TOY

    from hasim.experiments.report_html import build_report
    from hasim.experiments.runner import run_sweep
    from hasim.experiments.sweep_spec import load_sweep

    doc = tomllib.loads((toy_dir / "sweep.toml").read_text())
    doc["sweep"]["description"] = EVIL
    doc["axes"][1]["points"][0]["label"] = EVIL  # a list-axis label reaches tables and legends
    doc["report"] = {
        "title": EVIL,
        "figures": [{"kind": "curves", "x": "model.a", "metric": "y", "group": "variant", "caption": EVIL}],
    }
    (toy_dir / "sweep.toml").write_text(tomli_w.dumps(doc))
    (toy_dir / "README.md").write_text(f"# {EVIL}\n\n{EVIL}\n\n[x](javascript:alert(1))\x00\n")
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    page = build_report(toy_dir / "res", notes=toy_dir / "README.md")
    tags = tags_of(page)
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert page.count("<title>") == 1 and page.count("<style>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
