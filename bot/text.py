"""Plain-text helpers for untrusted feed text: HTML to text, whitespace folding, sentence splitting."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                         "table", "blockquote", "pre", "section", "article", "hr"})
_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head"})
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+(?=[\"“‘(\[A-Z0-9\u4e00-\u9fff])")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self._dropping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def fold_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def plain_text(markup: str | None, max_length: int | None = None) -> str:
    """Visible text of an HTML fragment: tags removed, script and style dropped, entities decoded."""
    if not markup:
        return ""
    if "<" in markup or "&" in markup:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        text = html.unescape("".join(parser.parts))
    else:
        text = markup
    text = fold_space(text)
    return shorten(text, max_length) if max_length else text


def shorten(text: str, max_length: int) -> str:
    """Cut at a word boundary with an ellipsis, if longer than max_length."""
    if len(text) <= max_length:
        return text
    cut = text[: max_length - 1]
    space = cut.rfind(" ")
    if space > max_length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def sentences(text: str) -> list[str]:
    """Split plain text into sentences (good enough for news summaries)."""
    return [s.strip() for s in _SENTENCE_END.split(fold_space(text)) if s.strip()]
