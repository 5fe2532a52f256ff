"""Feed documents (RSS 0.9x/1.0/2.0, Atom) to normalized Items, with feedparser."""

from __future__ import annotations

import calendar
import codecs
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser
from pydantic import ValidationError

from bot.models import Item
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


_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
# The same search on the bytes: a document without a byte-order mark is searched as Latin-1 text, one character a
# byte, where only ASCII letters match these case-insensitively.
_ENTITY_DECL_BYTES = re.compile(rb"<!ENTITY", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def refuse_entity_declarations(data: bytes, source_id: str) -> None:
    """A feed never needs its own XML entities; a document that declares any could be an expansion bomb."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            head = data.decode(encoding, "replace").encode("utf-8", "replace")
            declares = _ENTITY_DECL.search(head.decode("utf-8", "replace")) is not None
            break
    else:
        declares = _ENTITY_DECL_BYTES.search(data) is not None
    if declares:
        raise FeedError(f"{source_id}: refused: the document declares XML entities (possible entity-expansion bomb)")


TIME_FIELDS = ("published_parsed", "updated_parsed", "created_parsed")


def entry_time(entry: Mapping[str, Any], now: datetime, keys: tuple[str, ...] = TIME_FIELDS) -> datetime:
    """The first of the given feedparser time fields that is set, never after now; now when none is."""
    # dict.get: FeedParserDict.get maps aliases first, which none of these keys needs.
    plain = isinstance(entry, dict)
    for key in keys:
        parsed = dict.get(entry, key) if plain else entry.get(key)  # type: ignore[call-overload]
        if parsed:
            try:
                # The fields of a valid time as they are; an out-of-range one (a leap second, a 31 February)
                # goes through timegm, which carries it over as before.
                year, month, day, hour, minute, second = parsed[:6]
                return min(datetime(year, month, day, hour, minute, second, tzinfo=UTC), now)
            except (ValueError, OverflowError, TypeError):
                pass
            try:
                return min(datetime.fromtimestamp(calendar.timegm(parsed), UTC), now)
            except (ValueError, OverflowError, OSError, TypeError):
                continue
    return now


def parse_feed(data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None) -> ParsedFeed:
    """Parse one feed document. Entries without a usable link or title are skipped and reported."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    refuse_entity_declarations(data, source_id)
    try:
        doc = feedparser.parse(data)
    except Exception as exc:  # feedparser is lenient, but nothing but FeedError may leave a parser
        raise FeedError(f"{source_id}: the document could not be parsed: {type(exc).__name__}: {exc}") from None
    if not doc.entries and (doc.bozo or not doc.get("version")):
        reason = doc.get("bozo_exception") or "no entries and no feed markup"
        raise FeedError(f"{source_id}: not a readable feed: {reason}")
    feed_title = plain_text(doc.feed.get("title")) or source_name or source_id
    language = (doc.feed.get("language") or "").split("-")[0].lower() or None
    items: dict[str, Item] = {}
    skipped = []
    # feedparser's entries are FeedParserDicts, whose get() maps aliases (none of these keys has one) through
    # several Python calls: dict.get reads the same values at a fraction of the cost.
    get = dict.get
    for index, entry in enumerate(doc.entries):
        link = get(entry, "link") or get(entry, "id") or ""
        title = plain_text(get(entry, "title"), MAX_TITLE)
        if not title:
            skipped.append(f"entry {index}: no title")
            continue
        summary_html = get(entry, "summary") or ""
        if not summary_html and get(entry, "content"):
            summary_html = get(entry["content"][0], "value", "")
        authors = tuple(
            dict.fromkeys(fold_space(get(a, "name", "")) for a in get(entry, "authors", []) if get(a, "name"))
        )
        try:
            item = Item(
                url=link,  # canonicalized (and checked) by the model
                title=title,
                source=source_id,
                source_name=source_name or feed_title,
                published=entry_time(entry, now),
                summary=plain_text(summary_html, MAX_SUMMARY),
                authors=authors,
                language=language,
                categories=tuple(dict.fromkeys(get(t, "term") for t in get(entry, "tags", []) if get(t, "term"))),
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            skipped.append(f"entry {index}: {'.'.join(map(str, error['loc']))}: {error['msg']}")
            continue
        items.setdefault(item.id, item)
    if skipped:
        log.info("%s: skipped %d entr%s: %s", source_id, len(skipped), "y" if len(skipped) == 1 else "ies",
                 "; ".join(skipped[:5]))
    log.debug("%s: parsed %d items in %.1f ms", source_id, len(items), (time.perf_counter() - started) * 1000)
    return ParsedFeed(title=feed_title, items=list(items.values()), skipped=skipped)
