"""Source documents other than plain feeds to normalized Items: JSON Feed, the arXiv API, Hacker News search
results (Algolia) and GitHub release feeds, with one dispatcher over every source kind.

Each parser is a pure function of the document bytes. A document that is not of the expected format raises
FeedError with a message that starts with the source id; an entry that cannot be read is skipped and its reason
reported in ParsedFeed.skipped, never aborting the others. Entries with the same canonical URL collapse into the
first one.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
from pydantic import ValidationError

from bot.models import Item, SourceKind, canonical_url
from bot.text import fold_space, plain_text, sentences, shorten
from workers.ingest.parse import (
    MAX_SUMMARY,
    MAX_TITLE,
    FeedError,
    ParsedFeed,
    entry_time,
    parse_feed,
    refuse_entity_declarations,
)

log = logging.getLogger(__name__)

JSONFEED_VERSION_PREFIX = "https://jsonfeed.org/version/1"
HN_ITEM_URL = "https://news.ycombinator.com/item?id={}"
ARXIV_ABS_URL = "https://arxiv.org/abs/{}"

# New-style (2401.01234, 0704.0001) and old-style (hep-th/9901001, math.AG/0601001) arXiv identifiers, with an
# optional version suffix that the abs page URL leaves out.
_ARXIV_ABS = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/abs/"
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?/?$",
    re.IGNORECASE,
)
_GITHUB_REPO = re.compile(r"^https?://(?:www\.)?github\.com/(?P<owner>[^/?#\s]+)/(?P<repo>[^/?#\s]+)", re.IGNORECASE)
_GITHUB_TAG = re.compile(r"/releases/tag/(?P<tag>[^?#]+)")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}$")
# What GitHub puts in the feed for a release published without notes.
_GITHUB_NO_NOTES = frozenset({"no content.", "no content"})

_T = TypeVar("_T")


class _Skip(Exception):
    """One entry cannot be read; the message is the reason reported in ParsedFeed.skipped."""


class _Parser(Protocol):
    def __call__(
        self, data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None
    ) -> ParsedFeed: ...


# --- shared helpers -------------------------------------------------------------------------------------------


def _collect(
    source_id: str, entries: Iterable[_T], build: Callable[[_T], Item | None], *, label: str = "entry"
) -> tuple[list[Item], list[str]]:
    """Build an Item from each entry, first of each canonical URL wins. `build` returns None to leave an entry
    out on purpose (not reported) and raises _Skip for one that cannot be read."""
    items: dict[str, Item] = {}
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        try:
            item = build(entry)
        except _Skip as exc:
            skipped.append(f"{label} {index}: {exc}")
            continue
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            skipped.append(f"{label} {index}: {where + ': ' if where else ''}{error['msg']}")
            continue
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            skipped.append(f"{label} {index}: unreadable: {exc}")
            continue
        if item is not None:
            items.setdefault(item.id, item)
    if skipped:
        log.info("%s: skipped %d entr%s: %s", source_id, len(skipped), "y" if len(skipped) == 1 else "ies",
                 "; ".join(skipped[:5]))
    return list(items.values()), skipped


def _not_after(when: datetime | None, now: datetime) -> datetime:
    """The entry's time, or now when it has none; never in the future."""
    return now if when is None else min(when, now)


def _rfc3339(value: Any) -> datetime | None:
    """An RFC 3339 timestamp in UTC, or None when absent or unreadable. A time without an offset is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) > 10:
        text = text[:10] + text[10:].upper()  # RFC 3339 allows a lower-case "t" and "z"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _detail_text(entry: Mapping[str, Any], key: str) -> str:
    """A feedparser text construct as folded plain text: HTML only when the document said it is HTML."""
    value = entry.get(key)
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{key}_detail") or {}
    if "html" in str(detail.get("type", "")):
        return plain_text(value)
    return fold_space(value)


def _language(value: Any) -> str | None:
    """The primary subtag of a language tag, lower-case ("en-US" -> "en")."""
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0]
    return primary.lower() if _LANGUAGE.match(primary) else None


def _names(values: Iterable[Any]) -> tuple[str, ...]:
    """Distinct non-empty names, folded, in order."""
    return tuple(dict.fromkeys(fold_space(v) for v in values if isinstance(v, str) and v.strip()))


def _xml_document(data: bytes, source_id: str) -> Any:
    refuse_entity_declarations(data, source_id)
    try:
        doc = feedparser.parse(data)
    except Exception as exc:  # feedparser's own parsers can fail on pathological input
        raise FeedError(f"{source_id}: not a readable feed: {exc}") from exc
    if not doc.entries and (doc.bozo or not doc.get("version")):
        reason = doc.get("bozo_exception") or "no entries and no feed markup"
        raise FeedError(f"{source_id}: not a readable feed: {reason}")
    return doc


def _json_document(data: bytes, source_id: str, what: str) -> dict[str, Any]:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FeedError(f"{source_id}: not a {what}: invalid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise FeedError(f"{source_id}: not a {what}: the document is a JSON {type(doc).__name__}, not an object")
    return doc


def _http_url(value: Any, base: str | None = None) -> str | None:
    """The canonical form of an http(s) URL (relative ones resolved against base), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    if base and not urlsplit(raw).scheme:
        raw = urljoin(base, raw)
    try:
        return canonical_url(raw)
    except ValueError:
        return None


# --- dispatcher -----------------------------------------------------------------------------------------------


def parse_document(
    kind: SourceKind,
    data: bytes,
    *,
    source_id: str,
    source_name: str = "",
    now: datetime | None = None,
    min_points: int = 0,
) -> ParsedFeed:
    """Parse one fetched document of the given source kind. `min_points` only applies to Hacker News."""
    if kind == "hackernews":
        return parse_hackernews(data, source_id=source_id, source_name=source_name, now=now, min_points=min_points)
    parser = _PARSERS.get(kind)
    if parser is None:
        raise FeedError(f"{source_id}: unknown source kind {kind!r}")
    return parser(data, source_id=source_id, source_name=source_name, now=now)


# --- JSON Feed ------------------------------------------------------------------------------------------------


def parse_jsonfeed(data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None) -> ParsedFeed:
    """Parse a JSON Feed 1.0 or 1.1 document (https://jsonfeed.org/version/1.1)."""
    now = now or datetime.now(UTC)
    doc = _json_document(data, source_id, "JSON Feed")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith(JSONFEED_VERSION_PREFIX):
        raise FeedError(f"{source_id}: not a JSON Feed: version is {version!r}, expected {JSONFEED_VERSION_PREFIX}.x")
    entries = doc.get("items", [])
    if not isinstance(entries, list):
        raise FeedError(f"{source_id}: not a JSON Feed: items is a {type(entries).__name__}, not a list")
    title = doc.get("title")
    feed_title = (fold_space(title) if isinstance(title, str) else "") or source_name or source_id
    language = _language(doc.get("language"))
    base = next((u for u in (doc.get("home_page_url"), doc.get("feed_url")) if _http_url(u)), None)

    def build(entry: Any) -> Item:
        if not isinstance(entry, dict):
            raise _Skip(f"not an object but a {type(entry).__name__}")
        url = _http_url(entry.get("url"), base) or _http_url(entry.get("external_url"), base)
        if url is None and isinstance(entry.get("id"), str) and urlsplit(entry["id"].strip()).scheme:
            url = _http_url(entry["id"])
        if url is None:
            raise _Skip("no http(s) URL in url, external_url or id")
        content_text = entry.get("content_text")
        content_text = fold_space(content_text) if isinstance(content_text, str) else ""
        content_html = entry.get("content_html")
        content_html = plain_text(content_html) if isinstance(content_html, str) else ""
        summary = entry.get("summary")
        summary = fold_space(summary) if isinstance(summary, str) else ""
        title = entry.get("title")
        title = fold_space(title) if isinstance(title, str) else ""
        if not title:
            body = content_text or content_html or summary
            title = next(iter(sentences(body)), "")
        if not title:
            raise _Skip("no title and no content to take one from")
        authors = entry.get("authors")
        author_list: list[Any] = authors if isinstance(authors, list) else []
        if isinstance(entry.get("author"), dict):
            author_list = [*author_list, entry["author"]]
        tags = entry.get("tags")
        published = _rfc3339(entry.get("date_published")) or _rfc3339(entry.get("date_modified"))
        return Item(
            url=url,
            title=shorten(title, MAX_TITLE),
            source=source_id,
            source_name=source_name or feed_title,
            published=_not_after(published, now),
            summary=shorten(summary or content_text or content_html, MAX_SUMMARY),
            authors=_names(a.get("name") for a in author_list if isinstance(a, dict)),
            language=_language(entry.get("language")) or language,
            categories=_names(tags if isinstance(tags, list) else ()),
        )

    items, skipped = _collect(source_id, entries, build, label="item")
    return ParsedFeed(title=feed_title, items=items, skipped=skipped)


# --- arXiv API ------------------------------------------------------------------------------------------------


def arxiv_abs_url(url: str) -> str | None:
    """The abs page of an arXiv paper without its version suffix, or None when url is not an arXiv abs URL.

    "http://arxiv.org/abs/2401.01234v2" -> "https://arxiv.org/abs/2401.01234",
    "http://arxiv.org/abs/hep-th/9901001v1" -> "https://arxiv.org/abs/hep-th/9901001".
    """
    match = _ARXIV_ABS.match(url.strip())
    return ARXIV_ABS_URL.format(match["id"]) if match else None


def _arxiv_error(doc: Any) -> str | None:
    """The message of an arXiv API error response: one entry titled "Error" whose id is under api/errors."""
    for entry in doc.entries:
        is_error = "arxiv.org/api/errors" in str(entry.get("id", "")) or (
            len(doc.entries) == 1 and fold_space(str(entry.get("title", ""))) == "Error"
        )
        if is_error:
            return _detail_text(entry, "summary") or fold_space(str(entry.get("id", ""))) or "unspecified error"
    return None


def parse_arxiv(data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None) -> ParsedFeed:
    """Parse an arXiv API (export.arxiv.org/api/query) response: one Item per paper, at its unversioned abs page."""
    now = now or datetime.now(UTC)
    doc = _xml_document(data, source_id)
    error = _arxiv_error(doc)
    if error is not None:
        raise FeedError(f"{source_id}: arXiv API error: {error}")
    feed_title = source_name or "arXiv"

    def build(entry: Any) -> Item:
        url = arxiv_abs_url(str(entry.get("id", ""))) or arxiv_abs_url(str(entry.get("link", "")))
        if url is None:
            url = _http_url(entry.get("link")) or _http_url(entry.get("id"))
        if url is None:
            raise _Skip("no arXiv id and no http(s) link")
        title = _detail_text(entry, "title")
        if not title:
            raise _Skip("no title")
        primary = (entry.get("arxiv_primary_category") or {}).get("term")
        return Item(
            url=url,
            title=shorten(title, MAX_TITLE),
            source=source_id,
            source_name=feed_title,
            published=entry_time(entry, now, ("published_parsed", "updated_parsed")),
            summary=shorten(_detail_text(entry, "summary"), MAX_SUMMARY),
            authors=_names(a.get("name") for a in entry.get("authors", [])),
            categories=_names([primary, *(t.get("term") for t in entry.get("tags", []))]),
        )

    items, skipped = _collect(source_id, doc.entries, build)
    return ParsedFeed(title=feed_title, items=items, skipped=skipped)


# --- Hacker News (Algolia search API) -------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_hackernews(
    data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None, min_points: int = 0
) -> ParsedFeed:
    """Parse a Hacker News search response (hn.algolia.com/api/v1/search and /search_by_date).

    Stories below `min_points` are left out (they are not errors and are not reported as skipped). Ask HN and
    Show HN posts without a link point at their discussion page; every summary ends with the points, the comment
    count and the discussion link.
    """
    now = now or datetime.now(UTC)
    doc = _json_document(data, source_id, "Hacker News search response")
    hits = doc.get("hits")
    if not isinstance(hits, list):
        raise FeedError(f"{source_id}: not a Hacker News search response: no list of hits")
    feed_title = source_name or "Hacker News"

    def build(hit: Any) -> Item | None:
        if not isinstance(hit, dict):
            raise _Skip(f"not an object but a {type(hit).__name__}")
        points = _count(hit.get("points"))
        if min_points > 0 and (points or 0) < min_points:
            return None
        object_id = str(hit.get("objectID") or hit.get("story_id") or "").strip()
        discussion = HN_ITEM_URL.format(object_id) if object_id.isdigit() else None
        title = hit.get("title")
        title = fold_space(title) if isinstance(title, str) else ""
        if not title:
            raise _Skip(f"story {object_id or '?'} has no title")
        url = _http_url(hit.get("url")) or discussion
        if url is None:
            raise _Skip(f"story {object_id or '?'} has neither a usable url nor an objectID")
        line = ""
        if discussion:
            counts = [_plural(n, noun) for n, noun in ((points, "point"), (_count(hit.get("num_comments")), "comment"))
                      if n is not None]
            line = f"{', '.join(counts)} on Hacker News: {discussion}" if counts else f"Hacker News: {discussion}"
        story = plain_text(hit.get("story_text")) if isinstance(hit.get("story_text"), str) else ""
        if story and line:
            story = shorten(story, MAX_SUMMARY - len(line) - 1)
        author = hit.get("author")
        return Item(
            url=url,
            title=shorten(title, MAX_TITLE),
            source=source_id,
            source_name=feed_title,
            published=_not_after(_epoch(hit.get("created_at_i")) or _rfc3339(hit.get("created_at")), now),
            summary=shorten(" ".join(part for part in (story, line) if part), MAX_SUMMARY),
            authors=_names([author]),
            categories=("hackernews",),
            points=points,
        )

    items, skipped = _collect(source_id, hits, build, label="hit")
    return ParsedFeed(title=feed_title, items=items, skipped=skipped)


# --- GitHub releases ------------------------------------------------------------------------------------------


def _github_repo(url: Any) -> tuple[str, str] | None:
    match = _GITHUB_REPO.match(url.strip()) if isinstance(url, str) else None
    return (match["owner"], match["repo"]) if match else None


def _names_repo(title: str, repo: str) -> bool:
    """Whether a release title already names the repository ("vLLM v0.6.1" names vllm-project/vllm)."""
    wanted = _NOT_ALNUM.sub("", repo.lower())
    return bool(wanted) and wanted in _NOT_ALNUM.sub("", title.lower())


def parse_github_releases(
    data: bytes, *, source_id: str, source_name: str = "", now: datetime | None = None
) -> ParsedFeed:
    """Parse a GitHub releases feed (github.com/OWNER/REPO/releases.atom). Titles read "OWNER/REPO RELEASE"
    unless the release title already names the repository."""
    now = now or datetime.now(UTC)
    doc = _xml_document(data, source_id)
    feed_title = plain_text(doc.feed.get("title")) or source_name or source_id
    feed_repo = _github_repo(doc.feed.get("link"))
    language = _language(doc.feed.get("language"))

    def build(entry: Any) -> Item:
        link = entry.get("link") or ""
        url = _http_url(link)
        if url is None:
            raise _Skip("no http(s) link")
        tag = _GITHUB_TAG.search(link)
        release = _detail_text(entry, "title") or (fold_space(unquote(tag["tag"])) if tag else "")
        if not release:
            raise _Skip("no title and no release tag")
        repo = _github_repo(link) or feed_repo
        title = release if repo is None or _names_repo(release, repo[1]) else f"{repo[0]}/{repo[1]} {release}"
        notes_html = entry["content"][0].get("value", "") if entry.get("content") else entry.get("summary", "")
        notes = plain_text(notes_html)
        if notes.lower() in _GITHUB_NO_NOTES:
            notes = ""
        return Item(
            url=url,
            title=shorten(title, MAX_TITLE),
            source=source_id,
            source_name=source_name or feed_title,
            published=entry_time(entry, now, ("published_parsed", "updated_parsed")),
            summary=shorten(notes, MAX_SUMMARY),
            authors=_names(a.get("name") for a in entry.get("authors", [])),
            language=language,
            categories=("release",),
        )

    items, skipped = _collect(source_id, doc.entries, build)
    return ParsedFeed(title=feed_title, items=items, skipped=skipped)


_PARSERS: dict[str, _Parser] = {
    "feed": parse_feed,
    "jsonfeed": parse_jsonfeed,
    "arxiv": parse_arxiv,
    "github": parse_github_releases,
}
