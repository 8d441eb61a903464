"""An experiment's README (Markdown) as HTML for its report, through markdown-it-py (CommonMark + tables).

The notes are text someone wrote, so nothing in them may run in a reviewer's browser: raw HTML is
off (shown as text), a link or image may point only to http(s), a relative path or a ``#`` anchor
(``javascript:``, ``data:``, ``file:`` and scheme-relative ``//host`` links are rendered as plain
text), and markdown-it escapes every text and attribute it writes. A relative image (the README's
own figures, under the README's folder or the working folder) is read from disk and embedded as a
data URI, so the report stays one file that opens offline; an http(s) image becomes a link; an
image that cannot be found becomes a visible note, never a broken link.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

_SCHEMES = ("http", "https")
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_MAX_IMAGE = 8 * 1024 * 1024


def safe_link(url: str) -> bool:
    """True for http(s) URLs, relative references and ``#`` anchors; False for every other scheme.

    As RFC 3986 4.2 has it, a relative reference has no colon before its first ``/``, ``?`` or
    ``#``; anything else must be http or https (control characters and blanks, which browsers skip
    inside a scheme, are removed before looking).
    """
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url)
    if cleaned.startswith(("//", "\\", "/\\")):
        return False
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    if ":" not in head:
        return True
    return urlsplit(cleaned).scheme.lower() in _SCHEMES and head.lower() in ("http:", "https:")


def _embed(src: str, base: Path | None) -> str | None:
    """A data URI of the relative image ``src`` under ``base``, or None if it is not a readable image."""
    if base is None or urlsplit(src).scheme:
        return None
    path = (base / unquote(urlsplit(src).path)).resolve()
    kind = _IMAGE_TYPES.get(path.suffix.lower())
    inside = any(path.is_relative_to(root.resolve()) for root in (base, Path.cwd()))
    try:
        if kind is None or not inside or not path.is_file() or path.stat().st_size > _MAX_IMAGE:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = str(token.attrGet("src") or "")
    uri = _embed(src, env.get("base"))
    if uri is None:
        if urlsplit(src).scheme in _SCHEMES:  # the report loads nothing from outside: a link instead
            return f'<a href="{html.escape(src)}">{html.escape(alt or src)}</a>'
        return f'<span class="missing">[image not found: {html.escape(src)}]</span>'
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image)
    return md


_MD = _renderer()


def markdown_to_html(text: str, heading_offset: int = 1, base: Path | None = None) -> str:
    """Render Markdown safely; headings shift down by ``heading_offset`` levels (at most h6) and
    relative images are looked up under ``base`` (the folder of the Markdown file)."""
    env: dict[str, Any] = {"base": base}
    tokens = _MD.parse(text, env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + heading_offset)
            token.tag = f"h{level}"
    return str(_MD.renderer.render(tokens, _MD.options, env))
