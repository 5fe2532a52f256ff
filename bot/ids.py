"""Deterministic ids and the canonical spelling of URLs. Plain functions, apart from the message models so that
a process which only needs ids (`ai-news classify`) does not build every pydantic model."""

from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track where a click came from; they never change what a URL points at.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src",
     "_hsenc", "_hsmi", "mkt_tok"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}

# Lower-case http(s), a lower-case host without port or user, a path, no fragment, and a query (if any) of
# key=value pairs in characters that parsing and re-encoding leave as they are: only trailing slashes and tracking
# parameters to remove (most feed links look like this, so they skip the full parse).
_QUERY_PAIR = r"[A-Za-z0-9_.~-]+=[A-Za-z0-9_.~-]*"
_SIMPLE_URL = re.compile(
    rf"(?P<base>https?://[a-z0-9.-]*[a-z0-9](?:/[^?#\s]*[^/?#\s])?)/*(?:\?(?P<query>{_QUERY_PAIR}(?:&{_QUERY_PAIR})*))?\Z"
)


@functools.lru_cache(maxsize=1 << 16)  # an item's id is asked for many times while a briefing is composed
def stable_id(*parts: str, length: int = 24) -> str:
    """A short, deterministic hex id of the given parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def canonical_url(url: str) -> str:
    """The one spelling of a URL that two copies of the same link share.

    Lower-case scheme and host, no default port, no fragment, no tracking parameters (utm_*, fbclid, gclid,
    ref, ...), no trailing slash. Path, remaining query parameters and their order are kept.
    """
    raw = url.strip()
    if not raw:
        raise ValueError("URL is empty")
    simple = _SIMPLE_URL.match(raw)
    if simple is not None:
        base, query = simple.group("base", "query")
        if query is None:
            return base
        kept = [pair for pair in query.split("&") if not _is_tracking(pair.partition("=")[0])]
        return f"{base}?{'&'.join(kept)}" if kept else base
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"URL has an invalid port: {url!r}") from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    query = urlencode(
        [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _is_tracking(key)
        ],
        doseq=True,
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, query, ""))


# Sites whose article URLs carry a stable id and then a slug that editors may reword: one article can reach a feed
# under two links ("/story/25/02/25/1351212/chegg-sues-google-..." and ".../1351212/chegg-to-initiate-business-
# review-..."). The id, with the site, names the article.
_ARTICLE_IDS = (
    ("slashdot", re.compile(r"^https?://(?:[a-z0-9-]+\.)*slashdot\.org/story/(\d{2}/\d{2}/\d{2}/\d+)(?:[/?#]|$)",
                            re.IGNORECASE)),
    ("reddit", re.compile(r"^https?://(?:[a-z0-9-]+\.)*reddit\.com/r/[^/]+/comments/([a-z0-9]+)(?:[/?#]|$)",
                          re.IGNORECASE)),
    ("stackexchange", re.compile(r"^https?://((?:[a-z0-9-]+\.)*(?:stackoverflow\.com|stackexchange\.com|"
                                 r"superuser\.com|serverfault\.com|askubuntu\.com))/questions/(\d+)(?:[/?#]|$)",
                                 re.IGNORECASE)),
)


def article_key(url: str) -> str | None:
    """The article a URL points at on a site whose links hold an id and a changeable slug (Slashdot, Reddit, Stack
    Exchange), as "site:id"; None for any other URL. Asked of every item a briefing composes: most links are none of
    these, and a substring test turns them away before any pattern runs."""
    lowered = url.lower()
    if "/story/" not in lowered and "/comments/" not in lowered and "/questions/" not in lowered:
        return None
    for site, pattern in _ARTICLE_IDS:
        match = pattern.match(url)
        if match is not None:
            return f"{site}:{':'.join(part.lower() for part in match.groups())}"
    return None
