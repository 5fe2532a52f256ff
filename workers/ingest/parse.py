"""Feed documents (RSS 0.9x/1.0/2.0, Atom) to normalized Items, with feedparser."""

from __future__ import annotations

import calendar
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from pydantic import ValidationError

from bot.models import Item, canonical_url
from bot.text import fold_space, plain_text

log = logging.getLogger(__name__)

MAX_TITLE = 300
MAX_SUMMARY = 2000


class FeedError(Exception):
    """The document is not a feed, or nothing in it could be read."""


@dataclass
class ParsedFeed:
    title: str
    items: list[Item]
    skipped: list[str] = field(default_factory=list)


def _time(entry: Any, now: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            return min(when, now)
    return now


def parse_feed(data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None) -> ParsedFeed:
    """Parse one feed document. Entries without a usable link or title are skipped and reported."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    doc = feedparser.parse(data)
    if not doc.entries and (doc.bozo or not doc.get("version")):
        reason = doc.get("bozo_exception") or "no entries and no feed markup"
        raise FeedError(f"{source_id}: not a readable feed: {reason}")
    feed_title = plain_text(doc.feed.get("title")) or source_name or source_id
    language = (doc.feed.get("language") or "").split("-")[0].lower() or None
    items: dict[str, Item] = {}
    skipped = []
    for index, entry in enumerate(doc.entries):
        link = entry.get("link") or entry.get("id") or ""
        title = plain_text(entry.get("title"), MAX_TITLE)
        try:
            url = canonical_url(link)
        except ValueError as exc:
            skipped.append(f"entry {index}: {exc}")
            continue
        if not title:
            skipped.append(f"entry {index}: no title")
            continue
        summary_html = entry.get("summary") or ""
        if not summary_html and entry.get("content"):
            summary_html = entry["content"][0].get("value", "")
        authors = tuple(
            dict.fromkeys(fold_space(a.get("name", "")) for a in entry.get("authors", []) if a.get("name"))
        )
        try:
            item = Item(
                url=url,
                title=title,
                source=source_id,
                source_name=source_name or feed_title,
                published=_time(entry, now),
                summary=plain_text(summary_html, MAX_SUMMARY),
                authors=authors,
                language=language,
                categories=tuple(dict.fromkeys(t.get("term") for t in entry.get("tags", []) if t.get("term"))),
            )
        except ValidationError as exc:
            skipped.append(f"entry {index}: {exc.errors()[0]['msg']}")
            continue
        items.setdefault(item.id, item)
    if skipped:
        log.info("%s: skipped %d entr%s: %s", source_id, len(skipped), "y" if len(skipped) == 1 else "ies",
                 "; ".join(skipped[:5]))
    log.debug("%s: parsed %d items in %.1f ms", source_id, len(items), (time.perf_counter() - started) * 1000)
    return ParsedFeed(title=feed_title, items=list(items.values()), skipped=skipped)
