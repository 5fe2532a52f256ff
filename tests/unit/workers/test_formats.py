from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ROOT
from workers.ingest.formats import (
    arxiv_abs_url,
    parse_arxiv,
    parse_document,
    parse_github_releases,
    parse_hackernews,
    parse_jsonfeed,
)
from workers.ingest.parse import FeedError, ParsedFeed, parse_feed

SOURCES = ROOT / "tests" / "fixtures" / "sources"
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _read(name: str) -> bytes:
    return (SOURCES / name).read_bytes()


def _json(doc: Any) -> bytes:
    return json.dumps(doc).encode("utf-8")


def _jsonfeed(*items: Any, version: str = "https://jsonfeed.org/version/1.1", **top: Any) -> bytes:
    return _json({"version": version, "title": "Example Blog", **top, "items": list(items)})


# --- arXiv ----------------------------------------------------------------------------------------------------


def test_arxiv_query_yields_every_paper_at_its_unversioned_abs_page() -> None:
    parsed = parse_arxiv(_read("arxiv_query.xml"), source_id="arxiv-cs-cl", now=NOW)
    assert parsed.skipped == []
    assert parsed.title == "arXiv"
    assert [i.url for i in parsed.items] == [
        "https://arxiv.org/abs/2604.01234",
        "https://arxiv.org/abs/2604.18807",
        "https://arxiv.org/abs/2604.20931",
    ]
    first, second, third = parsed.items
    assert first.title == (
        "Sparse Mixture-of-Experts Routing with Learned Token Budgets for Long-Context Language Models"
    )
    assert third.title == "Scaling Laws for Data Mixtures in Multilingual Pretraining"
    assert first.summary.startswith("Mixture-of-experts (MoE) language models route every token to a fixed number of")
    assert first.summary.endswith("We release code and checkpoints.")
    assert "\n" not in first.summary and "  " not in first.summary
    assert first.authors == ("Mei Lin", "Jonas Albrecht", "Priya Raman")
    assert third.authors == ("Ana Beatriz Costa", "Kenji Watanabe", "Daniel Fischer", "Leila Haddad")
    assert first.categories == ("cs.CL", "cs.AI")
    assert second.categories == ("cs.CL",)
    assert third.categories == ("cs.LG", "cs.CL", "stat.ML")  # cross-listed: primary first
    # The first version's date, not the revision's.
    assert first.published == datetime(2026, 4, 2, 13, 5, 51, tzinfo=UTC)
    assert third.published == datetime(2026, 4, 29, 16, 58, 2, tzinfo=UTC)
    assert all(i.published.tzinfo == UTC for i in parsed.items)
    assert all(i.source == "arxiv-cs-cl" and i.source_name == "arXiv" for i in parsed.items)
    assert all(i.points is None for i in parsed.items)


def test_arxiv_source_name_is_kept() -> None:
    parsed = parse_arxiv(_read("arxiv_query.xml"), source_id="arxiv-cs-cl", source_name="arXiv cs.CL", now=NOW)
    assert parsed.title == "arXiv cs.CL"
    assert {i.source_name for i in parsed.items} == {"arXiv cs.CL"}


def test_arxiv_times_are_never_in_the_future() -> None:
    now = datetime(2026, 4, 28, tzinfo=UTC)
    items = parse_arxiv(_read("arxiv_query.xml"), source_id="arxiv", now=now).items
    assert [i.published for i in items] == [datetime(2026, 4, 2, 13, 5, 51, tzinfo=UTC),
                                            datetime(2026, 4, 27, 9, 14, 33, tzinfo=UTC), now]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://arxiv.org/abs/2401.01234v2", "https://arxiv.org/abs/2401.01234"),
        ("https://arxiv.org/abs/2401.01234", "https://arxiv.org/abs/2401.01234"),
        ("http://export.arxiv.org/abs/2401.0123v11", "https://arxiv.org/abs/2401.0123"),
        ("http://arxiv.org/abs/hep-th/9901001v1", "https://arxiv.org/abs/hep-th/9901001"),
        ("http://arxiv.org/abs/math.AG/0601001v3", "https://arxiv.org/abs/math.AG/0601001"),
        ("http://arxiv.org/abs/cond-mat/0102536", "https://arxiv.org/abs/cond-mat/0102536"),
        ("http://arxiv.org/pdf/2401.01234v2", None),
        ("https://example.com/abs/2401.01234v2", None),
        ("http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345", None),
    ],
)
def test_arxiv_abs_url(url: str, expected: str | None) -> None:
    assert arxiv_abs_url(url) == expected


def _arxiv_doc(entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: search_query=cat:cs.AI</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>2026-04-30T00:00:00-04:00</updated>
  {entries}
</feed>""".encode()


def test_arxiv_primary_category_comes_first_even_when_listed_later() -> None:
    doc = _arxiv_doc("""<entry>
    <id>http://arxiv.org/abs/hep-th/9901001v1</id>
    <published>1999-01-01T12:00:00Z</published>
    <title>Old-style paper</title>
    <summary>Abstract.</summary>
    <author><name>A. Author</name></author>
    <author><name>A. Author</name></author>
    <arxiv:primary_category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <category term="gr-qc" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    </entry>""")
    (item,) = parse_arxiv(doc, source_id="arxiv", now=NOW).items
    assert item.url == "https://arxiv.org/abs/hep-th/9901001"
    assert item.categories == ("hep-th", "gr-qc")
    assert item.authors == ("A. Author",)
    assert item.published == datetime(1999, 1, 1, 12, tzinfo=UTC)


def test_arxiv_versions_of_one_paper_collapse_and_unreadable_entries_are_reported() -> None:
    doc = _arxiv_doc("""
    <entry><id>http://arxiv.org/abs/2604.00001v2</id><title>Second version</title><summary>b</summary></entry>
    <entry><id>http://arxiv.org/abs/2604.00001v1</id><title>First version</title><summary>a</summary></entry>
    <entry><id>http://arxiv.org/abs/2604.00002v1</id><title>  </title><summary>no title</summary></entry>
    <entry><id>urn:nothing</id><title>No link</title></entry>""")
    parsed = parse_arxiv(doc, source_id="arxiv", now=NOW)
    assert [(i.url, i.title) for i in parsed.items] == [("https://arxiv.org/abs/2604.00001", "Second version")]
    assert parsed.skipped == ["entry 2: no title", "entry 3: no arXiv id and no http(s) link"]
    assert parsed.items[0].published == NOW  # no date at all


def test_arxiv_empty_result_is_not_an_error() -> None:
    doc = _arxiv_doc("""<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0
    </opensearch:totalResults>""")
    parsed = parse_arxiv(doc, source_id="arxiv", now=NOW)
    assert parsed.items == [] and parsed.skipped == []


def test_arxiv_error_response_is_a_feed_error_with_its_message() -> None:
    with pytest.raises(FeedError, match=r"^arxiv-cs: arXiv API error: incorrect id format for 2604\.1234$"):
        parse_arxiv(_read("arxiv_error.xml"), source_id="arxiv-cs", now=NOW)


def test_arxiv_entity_declarations_are_refused() -> None:
    doc = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2604.00001v1</id>
<title>&b;</title></entry></feed>"""
    with pytest.raises(FeedError, match=r"^arxiv: refused: the document declares XML entities"):
        parse_arxiv(doc, source_id="arxiv", now=NOW)


def test_arxiv_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match=r"^arxiv: not a readable feed"):
        parse_arxiv(b"<html><body><h1>503 Service Unavailable</h1></body></html>", source_id="arxiv", now=NOW)


# --- Hacker News ----------------------------------------------------------------------------------------------

HN = "https://news.ycombinator.com/item?id="


def test_hackernews_search_with_a_points_threshold() -> None:
    parsed = parse_hackernews(_read("hn_algolia.json"), source_id="hn-ai", now=NOW, min_points=100)
    assert parsed.title == "Hacker News"
    assert [i.url for i in parsed.items] == [
        "https://www.theverge.com/ai-artificial-intelligence/open-weight-model-coding-benchmarks",
        f"{HN}47949876",
        "https://digital-strategy.ec.europa.eu/en/policies/guidelines-gpai-providers",
        "https://www.reuters.com/technology/chip-export-rules-ai-data-centers-2026-04-28",
    ]
    # The story without a title is reported; the one below the threshold is simply left out.
    assert parsed.skipped == ["hit 4: story 47939555 has no title"]
    link, ask, eu, chips = parsed.items
    assert link.title == "Open-weight AI model matches frontier labs on coding benchmarks"
    assert link.summary == f"312 points, 97 comments on Hacker News: {HN}47951234"
    assert link.points == 312
    assert link.authors == ("mfiguiere",)
    assert link.categories == ("hackernews",)
    assert link.published == datetime(2026, 4, 29, 10, 11, 12, tzinfo=UTC)
    assert ask.title == "Ask HN: How is your team handling AI-generated code review?"
    assert ask.summary.startswith("Our team of 40 engineers now routes most code review through AI assistants. Reviews")
    assert "missed & nobody" in ask.summary and "<p>" not in ask.summary
    assert ask.summary.endswith(f"tools? 187 points, 214 comments on Hacker News: {HN}47949876")
    assert ask.points == 187
    assert [i.points for i in parsed.items] == [312, 187, 256, 149]
    assert chips.published == datetime(2026, 4, 28, 11, 4, 27, tzinfo=UTC)
    assert eu.published.tzinfo == UTC
    assert all(i.source == "hn-ai" and i.source_name == "Hacker News" for i in parsed.items)


def test_hackernews_without_threshold_keeps_low_scoring_stories() -> None:
    parsed = parse_hackernews(_read("hn_algolia.json"), source_id="hn", source_name="HN: AI", now=NOW)
    assert len(parsed.items) == 5
    show = parsed.items[3]
    assert show.title == "Show HN: A local AI notebook that runs entirely in the browser"
    assert show.url == "https://github.com/kiyoshi-dev/browser-notebook"
    assert show.points == 38
    assert parsed.title == "HN: AI" and show.source_name == "HN: AI"
    assert parsed.skipped == ["hit 4: story 47939555 has no title"]


@pytest.mark.parametrize(("threshold", "count"), [(0, 5), (38, 5), (39, 4), (150, 3), (300, 1), (1000, 0)])
def test_hackernews_min_points(threshold: int, count: int) -> None:
    parsed = parse_hackernews(_read("hn_algolia.json"), source_id="hn", now=NOW, min_points=threshold)
    assert len(parsed.items) == count
    assert all((i.points or 0) >= threshold for i in parsed.items)


def _hit(**fields: Any) -> dict[str, Any]:
    hit: dict[str, Any] = {"objectID": "1001", "title": "A story", "url": "https://example.com/a", "points": 10,
                           "num_comments": 2, "author": "someone", "created_at_i": 1777457472}
    hit.update(fields)
    return hit


def test_hackernews_hit_details() -> None:
    hits = [
        _hit(objectID="1", points=1, num_comments=1, created_at_i=None, created_at="2026-04-20T08:00:00.000Z",
             url="https://example.com/one?utm_source=hn"),
        _hit(objectID="2", url="https://example.com/one"),  # same canonical URL: the first wins
        _hit(objectID="3", url="", points=None, num_comments=None, created_at_i=1900000000),  # in the future
        _hit(objectID="4", url=None, created_at_i=None, created_at=None, author=None),
        "not a hit",
        _hit(objectID="x", url=None),
    ]
    parsed = parse_hackernews(_json({"hits": hits, "nbHits": 6}), source_id="hn", now=NOW)
    one, three, four = parsed.items
    assert one.url == "https://example.com/one"
    assert one.summary == f"1 point, 1 comment on Hacker News: {HN}1"
    assert one.published == datetime(2026, 4, 20, 8, tzinfo=UTC)
    assert three.url == f"{HN}3"
    assert three.summary == f"Hacker News: {HN}3"
    assert three.points is None
    assert three.published == NOW
    assert four.published == NOW and four.authors == ()
    assert parsed.skipped == [
        "hit 4: not an object but a str",
        "hit 5: story x has neither a usable url nor an objectID",
    ]


def test_hackernews_long_story_text_keeps_the_discussion_link() -> None:
    hit = _hit(url=None, story_text="<p>" + "word " * 2000 + "</p>")
    (item,) = parse_hackernews(_json({"hits": [hit]}), source_id="hn", now=NOW).items
    assert len(item.summary) <= 2000
    assert item.summary.endswith(f"… 10 points, 2 comments on Hacker News: {HN}1001")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"nbHits": 0, "page": 0}', "^hn: not a Hacker News search response: no list of hits"),
        (b'{"hits": {"objectID": "1"}}', "^hn: not a Hacker News search response: no list of hits"),
        (b"<html>rate limited</html>", "^hn: not a Hacker News search response: invalid JSON"),
        (b"", "^hn: not a Hacker News search response: invalid JSON"),
        (b"[1, 2]", "^hn: not a Hacker News search response: the document is a JSON list"),
    ],
)
def test_hackernews_bad_documents(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_hackernews(data, source_id="hn", now=NOW)


# --- JSON Feed ------------------------------------------------------------------------------------------------


def test_jsonfeed_1_1() -> None:
    data = _jsonfeed(
        {
            "id": "https://example.org/2026/04/agents",
            "url": "https://example.org/2026/04/agents?utm_medium=feed",
            "title": "  Agents,\n in practice ",
            "summary": "What we learned shipping agents.",
            "content_html": "<p>Long <b>body</b></p>",
            "date_published": "2026-04-29T10:00:00+02:00",
            "date_modified": "2026-04-30T10:00:00Z",
            "authors": [{"name": "Ada Lovelace", "url": "https://example.org/ada"}, {"name": "Alan Turing"}],
            "tags": ["agents", "llm", "agents"],
        },
        {
            "id": "2",
            "url": "https://example.org/2026/04/no-summary",
            "title": "No summary",
            "content_text": "The text\n\nitself.",
            "date_published": "2026-04-28T09:30:00.123456Z",
            "language": "de-CH",
        },
        language="en-US",
        home_page_url="https://example.org/",
    )
    parsed = parse_jsonfeed(data, source_id="example", now=NOW)
    assert parsed.title == "Example Blog" and parsed.skipped == []
    first, second = parsed.items
    assert first.url == "https://example.org/2026/04/agents"
    assert first.title == "Agents, in practice"
    assert first.summary == "What we learned shipping agents."
    assert first.published == datetime(2026, 4, 29, 8, tzinfo=UTC)
    assert first.authors == ("Ada Lovelace", "Alan Turing")
    assert first.categories == ("agents", "llm")
    assert first.language == "en"
    assert first.source == "example" and first.source_name == "Example Blog"
    assert second.summary == "The text itself."
    assert second.published == datetime(2026, 4, 28, 9, 30, 0, 123456, tzinfo=UTC)
    assert second.language == "de"


def test_jsonfeed_1_0() -> None:
    data = _jsonfeed(
        {
            "id": "https://example.net/p/1",
            "url": "https://example.net/p/1",
            "title": "Version one",
            "content_html": "<p>Hello <i>world</i> &amp; friends.</p>",
            "date_published": "2026-04-27T12:00:00-05:00",
            "author": {"name": "Grace Hopper"},
            "tags": ["compilers"],
        },
        version="https://jsonfeed.org/version/1",
    )
    (item,) = parse_jsonfeed(data, source_id="v1", now=NOW).items
    assert item.summary == "Hello world & friends."
    assert item.authors == ("Grace Hopper",)
    assert item.categories == ("compilers",)
    assert item.published == datetime(2026, 4, 27, 17, tzinfo=UTC)
    assert item.language is None


def test_jsonfeed_fallbacks() -> None:
    data = _jsonfeed(
        {"id": "a", "external_url": "https://news.example.com/story", "title": "External only",
         "date_modified": "2026-04-20T00:00:00Z"},
        {"id": "https://example.org/by-id", "content_text": "Microblog post without a title. Second sentence."},
        {"id": "c", "url": "relative/post", "content_html": "<p>Relative <em>link</em>!</p> <p>More.</p>",
         "date_published": "not a date", "date_modified": "2026-04-21T00:00:00Z"},
        {"id": "d", "url": "https://example.org/future", "title": "From the future",
         "date_published": "2027-01-01T00:00:00Z"},
        {"id": "e", "url": "https://example.org/naive", "title": "Naive time", "date_published": "2026-04-22T06:00:00"},
        home_page_url="https://example.org/blog/",
    )
    parsed = parse_jsonfeed(data, source_id="fallbacks", now=NOW)
    assert parsed.skipped == []
    by_id, titleless, relative, future, naive = parsed.items
    assert by_id.url == "https://news.example.com/story"
    assert by_id.published == datetime(2026, 4, 20, tzinfo=UTC)
    assert titleless.url == "https://example.org/by-id"
    assert titleless.title == "Microblog post without a title."
    assert titleless.summary == "Microblog post without a title. Second sentence."
    assert titleless.published == NOW
    assert relative.url == "https://example.org/blog/relative/post"
    assert relative.title == "Relative link!"
    assert relative.published == datetime(2026, 4, 21, tzinfo=UTC)
    assert future.published == NOW
    assert naive.published == datetime(2026, 4, 22, 6, tzinfo=UTC)


def test_jsonfeed_long_fields_are_shortened() -> None:
    data = _jsonfeed({"url": "https://example.org/long", "content_text": "word " * 5000})
    (item,) = parse_jsonfeed(data, source_id="long", now=NOW).items
    assert len(item.title) <= 300 and item.title.endswith("…")
    assert len(item.summary) <= 2000 and item.summary.endswith("…")


def test_jsonfeed_unreadable_items_are_skipped_with_reasons() -> None:
    data = _jsonfeed(
        {"id": "1", "url": "https://example.org/ok", "title": "Fine"},
        "just a string",
        {"id": "not-a-url", "title": "No link at all"},
        {"id": "4", "url": "mailto:someone@example.org", "title": "Not http"},
        {"id": "5", "url": "https://example.org/untitled"},
        {"id": "6", "url": "https://example.org/ok#comments", "title": "Duplicate"},
        {"id": "7", "url": "https://example.org/odd", "title": "Odd fields", "tags": "ai", "authors": "me",
         "author": "me", "date_published": 1777457472, "summary": ["x"], "language": 5},
        {"id": "8", "url": "https://example.org/" + "x" * 10, "title": "T" * 5000},
    )
    parsed = parse_jsonfeed(data, source_id="odd", now=NOW)
    assert [i.url for i in parsed.items] == ["https://example.org/ok", "https://example.org/odd",
                                             "https://example.org/xxxxxxxxxx"]
    assert parsed.items[0].title == "Fine"
    odd = parsed.items[1]
    assert (odd.categories, odd.authors, odd.summary, odd.published) == ((), (), "", NOW)
    assert parsed.skipped == [
        "item 1: not an object but a str",
        "item 2: no http(s) URL in url, external_url or id",
        "item 3: no http(s) URL in url, external_url or id",
        "item 4: no title and no content to take one from",
    ]


def test_jsonfeed_without_items_or_title() -> None:
    parsed = parse_jsonfeed(_json({"version": "https://jsonfeed.org/version/1.1"}), source_id="empty",
                            source_name="Empty", now=NOW)
    assert parsed.title == "Empty" and parsed.items == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "^jf: not a JSON Feed: invalid JSON"),
        (b"\xff\xfe\x00garbage", "^jf: not a JSON Feed: invalid JSON"),
        (b"[" * 100_000, "^jf: not a JSON Feed: invalid JSON"),
        (b'"https://jsonfeed.org/version/1.1"', "^jf: not a JSON Feed: the document is a JSON str"),
        (b'{"title": "no version", "items": []}', "^jf: not a JSON Feed: version is None"),
        (b'{"version": "https://jsonfeed.org/version/2", "items": []}', "^jf: not a JSON Feed: version is"),
        (b'{"version": "1.1", "items": []}', "^jf: not a JSON Feed: version is '1.1'"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "^jf: not a JSON Feed: items is a dict"),
    ],
)
def test_jsonfeed_bad_documents(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_jsonfeed(data, source_id="jf", now=NOW)


def test_jsonfeed_with_utf8_bom() -> None:
    data = b"\xef\xbb\xbf" + _jsonfeed({"url": "https://example.org/bom", "title": "Gr\u00fc\u00dfe"})
    (item,) = parse_jsonfeed(data, source_id="bom", now=NOW).items
    assert item.title == "Grüße"


# --- GitHub releases ------------------------------------------------------------------------------------------


def test_github_releases() -> None:
    parsed = parse_github_releases(_read("github_releases.atom"), source_id="gh-vllm", now=NOW)
    assert parsed.title == "Release notes from vllm" and parsed.skipped == []
    assert [i.url for i in parsed.items] == [
        "https://github.com/vllm-project/vllm/releases/tag/v0.6.1.post1",
        "https://github.com/vllm-project/vllm/releases/tag/v0.6.1",
        "https://github.com/vllm-project/vllm/releases/tag/v0.6.0",
    ]
    assert [i.title for i in parsed.items] == [
        "vLLM v0.6.1.post1",  # already names the repository
        "vllm-project/vllm v0.6.1",
        "vllm-project/vllm v0.6.0",
    ]
    post, v061, v060 = parsed.items
    assert post.summary.startswith("Highlights This is a patch release that fixes a crash")
    assert post.summary.endswith("Full Changelog: v0.6.1...v0.6.1.post1")
    assert "Added support for Pixtral (mistralai/Pixtral-12B-2409)" in v061.summary
    assert all("<" not in i.summary and "&quot;" not in i.summary for i in parsed.items)
    assert all(i.categories == ("release",) for i in parsed.items)
    assert all(i.authors == ("simon-mo",) for i in parsed.items)
    assert all(i.language == "en" for i in parsed.items)
    assert v060.published == datetime(2024, 9, 4, 23, 36, 9, tzinfo=UTC)
    assert post.published == datetime(2024, 9, 13, 4, 18, 22, tzinfo=UTC)
    assert all(i.source_name == "Release notes from vllm" for i in parsed.items)


def test_github_release_edge_cases() -> None:
    doc = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:github.com,2008:https://github.com/huggingface/text-generation-inference/releases</id>
  <link type="text/html" rel="alternate" href="https://github.com/huggingface/text-generation-inference/releases"/>
  <title>Release notes from text-generation-inference</title>
  <updated>2030-01-01T00:00:00Z</updated>
  <entry>
    <id>tag:github.com,2008:Repository/1/v3.0.0</id>
    <updated>2030-01-01T00:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/huggingface/text-generation-inference/releases/tag/v3.0.0"/>
    <title></title>
    <content type="html">&lt;p&gt;No content.&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:github.com,2008:Repository/1/v2.4.0</id>
    <updated>2026-04-01T00:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/huggingface/text-generation-inference/releases/tag/v2.4.0"/>
    <title>Text Generation Inference 2.4.0</title>
    <content type="html">&lt;p&gt;Notes.&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:github.com,2008:Repository/1/mirror</id>
    <updated>2026-04-01T00:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://mirror.example.com/tgi/2.3.0"/>
    <title>2.3.0</title>
  </entry>
  <entry>
    <id>tag:github.com,2008:Repository/1/nolink</id>
    <title>No link</title>
  </entry>
</feed>"""
    parsed = parse_github_releases(doc, source_id="gh-tgi", source_name="TGI releases", now=NOW)
    untitled, named, mirrored = parsed.items
    assert untitled.title == "huggingface/text-generation-inference v3.0.0"  # the tag stands in for the title
    assert untitled.summary == ""
    assert untitled.published == NOW
    assert named.title == "Text Generation Inference 2.4.0"
    assert mirrored.title == "huggingface/text-generation-inference 2.3.0"  # the repository from the feed's link
    assert {i.source_name for i in parsed.items} == {"TGI releases"}
    assert parsed.skipped[0].startswith("entry 3: ")


def test_github_releases_refuse_entities_and_non_feeds() -> None:
    with pytest.raises(FeedError, match=r"^gh: refused"):
        parse_github_releases(b'<!DOCTYPE x [<!ENTITY e "e">]><feed/>', source_id="gh", now=NOW)
    with pytest.raises(FeedError, match=r"^gh: not a readable feed"):
        parse_github_releases(b"<html><body>Not Found</body></html>", source_id="gh", now=NOW)


# --- dispatcher -----------------------------------------------------------------------------------------------


def test_parse_document_dispatches_every_kind() -> None:
    feed = (FEEDS / "real-ai" / "anthropic_news.xml").read_bytes()
    assert parse_document("feed", feed, source_id="anthropic", now=NOW) == parse_feed(
        feed, source_id="anthropic", now=NOW
    )
    jsonfeed = _jsonfeed({"url": "https://example.org/a", "title": "A"})
    assert [i.title for i in parse_document("jsonfeed", jsonfeed, source_id="jf", now=NOW).items] == ["A"]
    arxiv = parse_document("arxiv", _read("arxiv_query.xml"), source_id="arxiv", source_name="arXiv AI", now=NOW)
    assert len(arxiv.items) == 3 and arxiv.title == "arXiv AI"
    hn = parse_document("hackernews", _read("hn_algolia.json"), source_id="hn", now=NOW, min_points=100)
    assert len(hn.items) == 4
    github = parse_document("github", _read("github_releases.atom"), source_id="gh", now=NOW)
    assert github.items[1].title == "vllm-project/vllm v0.6.1"


def test_parse_document_min_points_only_concerns_hackernews() -> None:
    github = parse_document("github", _read("github_releases.atom"), source_id="gh", now=NOW, min_points=1000)
    assert len(github.items) == 3
    assert parse_document("hackernews", _read("hn_algolia.json"), source_id="hn", now=NOW).items[3].points == 38


def test_parse_document_unknown_kind() -> None:
    with pytest.raises(FeedError, match=r"^src: unknown source kind 'mastodon'"):
        parse_document("mastodon", b"{}", source_id="src", now=NOW)  # type: ignore[arg-type]


GARBAGE = [
    b"",
    b"\x00\x01\x02",
    b"null",
    b"[]",
    b'{"hits": [null, 1, "x", [], {"objectID": {}}], "items": [null, 1, {"url": {}}],'
    b' "version": "https://jsonfeed.org/version/1.1", "title": 7, "language": [], "home_page_url": 3}',
    b'{"version": "https://jsonfeed.org/version/1", "items": [{"url": "https://e.org/a", "title": "t",'
    b' "date_published": "0001-01-01T00:00:00+14:00", "authors": [null, {"name": 5}], "content_html": 9}]}',
    b'{"hits": [{"objectID": "1", "title": "t", "created_at_i": 99999999999999999999, "points": -5}]}',
    b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x</title>'
    b'<published>9999-99-99</published></entry></feed>',
    b"<rss><channel><item><title>half",
    "\ufeff<feed>".encode("utf-16"),
]


@pytest.mark.parametrize("kind", ["feed", "jsonfeed", "arxiv", "hackernews", "github"])
@pytest.mark.parametrize("data", GARBAGE)
def test_bad_input_only_ever_raises_feed_error(kind: Any, data: bytes) -> None:
    try:
        parsed = parse_document(kind, data, source_id="src", now=NOW)
    except FeedError as exc:
        assert str(exc).startswith("src: ")
    else:
        assert isinstance(parsed, ParsedFeed)
        assert all(i.published <= NOW for i in parsed.items)


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    (item,) = parse_jsonfeed(_jsonfeed({"url": "https://example.org/a", "title": "A"}), source_id="jf").items
    assert before <= item.published <= datetime.now(UTC) + timedelta(seconds=1)


def test_invalid_field_values_are_skipped_with_the_field_named() -> None:
    hits = [_hit(objectID="1", points=-3), _hit(objectID="2", url="https://example.com/b")]
    parsed = parse_hackernews(_json({"hits": hits}), source_id="hn", now=NOW)
    assert [i.url for i in parsed.items] == ["https://example.com/b"]
    assert parsed.skipped == ["hit 0: points: Input should be greater than or equal to 0"]


def test_json_feed_titles_lose_bidi_and_zero_width_characters() -> None:
    doc = _jsonfeed({"id": "1", "url": "https://example.com/1", "title": "Model \u202ereleased\u200b today",
                     "content_text": "Plain\u2067 text\u2069 summary.", "authors": [{"name": "Ada\u200f"}]},
                    title="Example\u202e Blog")
    parsed = parse_jsonfeed(doc, source_id="example", now=NOW)
    item = parsed.items[0]
    assert (parsed.title, item.title, item.summary, item.authors) == (
        "Example Blog", "Model released today", "Plain text summary.", ("Ada",))
