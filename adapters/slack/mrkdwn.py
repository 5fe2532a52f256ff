"""Slack's mrkdwn for untrusted text: escaping, links built by hand, and cutting text to Block Kit's limits.

Slack reads `<...>` as a link, a user or channel mention (`<@U123>`, `<#C123>`) or a special mention (`<!channel>`),
and `&` starts an entity. Every text that comes from a feed goes through `escape` (or `link`, which escapes its
label), so nothing in it can ping anybody or forge a link. Messages are posted without `link_names` or
`parse=full`, and mrkdwn objects are `verbatim`, so bare `@channel`, `#general` or URLs in feed text stay text.
"""

from __future__ import annotations

import re
from urllib.parse import quote

ELLIPSIS = "…"
# A link's URL longer than this is not linked (Slack truncates or refuses very long URLs in messages).
MAX_URL = 1500
MAX_LABEL = 300

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")
# Tokens for splitting mrkdwn without breaking a link or an entity: a whole <...>, a word, or white space.
_TOKEN = re.compile(r"<[^>]*>|[^\s<]+|\s+|<")
_URL_UNSAFE = re.compile(r"[\s<>|\"]")


def escape(text: str) -> str:
    """`&`, `<` and `>` as entities: what Slack asks of any text that must not become markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_url(url: str) -> str | None:
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or len(url) > MAX_URL:
        return None
    # Characters that would end the link or split it are percent-encoded; `&` becomes its entity.
    encoded = _URL_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), url)
    return encoded.replace("&", "&amp;")


def label(text: str, limit: int = MAX_LABEL) -> str:
    """Escaped link text: no `|` (which would split the link) and no `>` (which would end it)."""
    return truncate(escape(" ".join(text.split()).replace("|", "¦")), limit)


def link(url: str, text: str, limit: int = MAX_LABEL) -> str:
    """`<url|label>` for an http(s) URL; the escaped label alone for anything else."""
    safe = _safe_url(url)
    shown = label(text or url, limit)
    return f"<{safe}|{shown}>" if safe is not None else shown


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters of already-escaped mrkdwn, cut at a word, never inside an entity or a link."""
    if len(text) <= limit:
        return text
    pieces = split(text, limit - 1)
    head = pieces[0].rstrip() if pieces else ""
    return head + ELLIPSIS


def split(text: str, limit: int) -> list[str]:
    """Already-escaped mrkdwn in pieces of at most `limit` characters: at line ends where possible, then at
    spaces; a link or an entity is never cut (a link longer than the limit becomes its label)."""
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
            current = ""
        if len(line) <= limit:
            current = line
            continue
        for token in _tokens(line, limit):
            if len(current) + len(token) <= limit:
                current += token
                continue
            if current.strip():
                pieces.append(current.rstrip())
            current = "" if token.isspace() else token
    if current.strip():
        pieces.append(current)
    return pieces


def _tokens(line: str, limit: int) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(line):
        if len(token) <= limit:
            out.append(token)
        elif token.startswith("<") and "|" in token:
            out.extend(_tokens(token[token.index("|") + 1:-1], limit))
        else:
            # A single word longer than the limit: hard cuts, each clear of a trailing partial entity.
            while len(token) > limit:
                cut = token[:limit]
                tail = _ENTITY_TAIL.search(cut)
                if tail is not None and tail.start() > 0:
                    cut = cut[:tail.start()]
                out.append(cut)
                token = token[len(cut):]
            if token:
                out.append(token)
    return out
