"""Guessing a source's kind and id from what a user typed on the command line."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from bot.models import SourceKind

_NON_ID = re.compile(r"[^a-z0-9]+")


def kind_from_url(url: str) -> SourceKind:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("arxiv.org") and parts.path.startswith("/api/"):
        return "arxiv"
    if host == "hn.algolia.com":
        return "hackernews"
    if host == "github.com" and parts.path.endswith("/releases.atom"):
        return "github"
    if parts.path.endswith((".json", "/feed.json")):
        return "jsonfeed"
    return "feed"


def kind_from_document(data: bytes) -> SourceKind:
    head = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        try:
            parsed = json.loads(data)
        except ValueError:
            return "jsonfeed"  # the parser reports the JSON error
        return "hackernews" if isinstance(parsed, dict) and "hits" in parsed else "jsonfeed"
    if b"xmlns:arxiv" in head or b"arxiv.org/api" in head:
        return "arxiv"
    if b"tag:github.com,2008:" in head and b"/releases" in head:
        return "github"
    return "feed"


def source_id_for(text: str) -> str:
    """A valid source id derived from a URL or a file name."""
    parts = urlsplit(text)
    base = f"{parts.hostname or ''}{parts.path}" if parts.scheme in ("http", "https") else text
    slug = _NON_ID.sub("-", base.lower()).strip("-")
    return (slug[:64].rstrip("-") or "source")
