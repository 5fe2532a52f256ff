from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import canonical_url
from tests.conftest import FIXTURES
from workers.ingest.parse import FeedError, parse_feed

NOW = datetime(2026, 5, 1, tzinfo=UTC)
REAL = FIXTURES / "real-ai"
EDGE = FIXTURES / "parser-edge"


def _parse(path: str) -> list:  # type: ignore[type-arg]
    file = FIXTURES / path
    return parse_feed(file.read_bytes(), source_id=file.stem, now=NOW).items


@pytest.mark.parametrize(
    ("name", "count"),
    [("anthropic_news.xml", 13), ("hackernews_best_stories.xml", 50), ("huggingface_daily_papers.xml", 12),
     ("meta_ai_news.xml", 5), ("deepseek_news.xml", 14), ("aibase_daily.xml", 20)],
)
def test_real_feeds_yield_every_entry(name: str, count: int) -> None:
    items = _parse(f"real-ai/{name}")
    assert len(items) == count
    for item in items:
        assert item.url == canonical_url(item.url)
        assert item.title and "<" not in item.title
        assert "<" not in item.summary and "&amp;" not in item.summary
        assert item.published <= NOW


def test_html_summary_becomes_plain_text() -> None:
    items = _parse("real-ai/hackernews_best_stories.xml")
    first = items[0]
    assert first.title == "Ghostty is leaving GitHub"
    assert first.summary.startswith("Score: 3421 Comments: 1022")
    assert "<br" not in first.summary


def test_chinese_titles_survive() -> None:
    titles = [i.title for i in _parse("real-ai/deepseek_news.xml")]
    assert any("发布" in t for t in titles)


def test_earlier_snapshot_is_a_subset_by_id() -> None:
    earlier = {i.id for i in _parse("real-ai/anthropic_news.earlier.xml")}
    later = {i.id for i in _parse("real-ai/anthropic_news.xml")}
    assert later - earlier and earlier - later is not None
    assert len(later & earlier) >= 10


@pytest.mark.parametrize("name", ["guardian.rss", "heise.atom", "feedburner.atom", "reddit-atom.rss", "rss-1.rss",
                                  "content-encoded.rss", "encoding.rss"])
def test_parser_edge_feeds_parse(name: str) -> None:
    items = _parse(f"parser-edge/{name}")
    assert items, name
    assert all(i.title for i in items)


def test_not_a_feed_is_a_clear_error() -> None:
    with pytest.raises(FeedError, match="unrecognized: not a readable feed"):
        parse_feed((EDGE / "unrecognized.rss").read_bytes(), source_id="unrecognized", now=NOW)
    with pytest.raises(FeedError):
        parse_feed(b"<html><body><p>Hello</p></body></html>", source_id="page", now=NOW)


def test_incomplete_entries_are_skipped_and_reported() -> None:
    parsed = parse_feed((EDGE / "missing-fields.atom").read_bytes(), source_id="missing", now=NOW)
    assert all(i.title for i in parsed.items)
    parsed = parse_feed((EDGE / "incomplete-fields.atom").read_bytes(), source_id="incomplete", now=NOW)
    assert all(i.title for i in parsed.items)


def test_duplicates_inside_one_document_collapse() -> None:
    doc = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>One</title><link>https://example.com/a?utm_source=rss</link></item>
    <item><title>One again</title><link>https://example.com/a/</link></item>
    <item><title>Two</title><link>https://example.com/b</link><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
    </channel></rss>"""
    parsed = parse_feed(doc, source_id="dup", now=NOW)
    assert [i.title for i in parsed.items] == ["One", "Two"]
    assert parsed.items[1].published == NOW  # never in the future


def test_bidi_and_zero_width_characters_never_reach_titles_or_summaries() -> None:
    feed = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Lab\u200b blog</title>"
            "<item><title>Safe \u202eKCATTA model</title><link>https://example.com/a</link>"
            "<description>Hidden\u2066 text\u2069 and \u200bzero width</description>"
            "<author>a@example.com (Ada\u202e Lovelace)</author></item></channel></rss>").encode()
    parsed = parse_feed(feed, source_id="lab", now=NOW)
    item = parsed.items[0]
    assert parsed.title == "Lab blog"
    assert item.title == "Safe KCATTA model"
    assert item.summary == "Hidden text and zero width"
    for text in (item.title, item.summary, *item.authors):
        assert not any(ch in text for ch in "\u202e\u2066\u2069\u200b")


def test_entry_time_reads_valid_fields_and_carries_out_of_range_ones_over() -> None:
    import calendar
    import time

    from workers.ingest.parse import entry_time

    now = datetime(2030, 1, 1, tzinfo=UTC)
    cases = [(2026, 5, 1, 10, 30, 15), (2026, 2, 31, 0, 0, 0), (2026, 12, 31, 23, 59, 60), (1, 1, 1, 0, 0, 0),
             (2026, 5, 1, 24, 0, 0), (1969, 12, 31, 23, 59, 59)]
    for fields in cases:
        parsed = time.struct_time((*fields, 0, 1, 0))
        want = min(datetime.fromtimestamp(calendar.timegm(parsed), UTC), now)
        assert entry_time({"published_parsed": parsed}, now) == want, fields
    assert entry_time({"published_parsed": (2026, 2, 31, 0, 0, 0)}, now) == datetime(2026, 3, 3, tzinfo=UTC)
    assert entry_time({"published_parsed": (2031, 1, 1, 0, 0, 0)}, now) == now  # never after now
    assert entry_time({"published_parsed": (10000, 1, 1, 0, 0, 0), "updated_parsed": (2026, 1, 1, 0, 0, 0)},
                      now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert entry_time({"published_parsed": (2026, 1)}, now) == now


def test_entity_declarations_are_refused_in_any_case_and_encoding() -> None:
    import codecs

    from workers.ingest.parse import refuse_entity_declarations

    for declaration in ('<!ENTITY a "b">', '<!entity a "b">', '<!EnTiTy a "b">'):
        document = f'<?xml version="1.0"?><!DOCTYPE r [{declaration}]><rss/>'
        for data in (document.encode(), codecs.BOM_UTF16_LE + document.encode("utf-16-le"),
                     document.encode("latin-1").replace(b"r [", b"r\xe9 [")):
            with pytest.raises(FeedError, match="declares XML entities"):
                refuse_entity_declarations(data, "x")
    refuse_entity_declarations(b'<?xml version="1.0"?><rss><!-- ENTITY --></rss>', "x")
