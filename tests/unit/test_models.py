from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bot.ids import article_key
from bot.models import (
    Alert,
    Briefing,
    ClassifiedItem,
    DeadLetter,
    FetchJob,
    Item,
    KeyDevelopment,
    Section,
    SourceLink,
    Story,
    Table,
    canonical_url,
    edition_id,
)

NOW = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM/Path/", "https://example.com/Path"),
        ("https://example.com/a?utm_source=x&utm_medium=y&id=3", "https://example.com/a?id=3"),
        ("https://example.com/a?fbclid=1&gclid=2&ref=hn&keep=1", "https://example.com/a?keep=1"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("http://example.com:8080/x/", "http://example.com:8080/x"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),
        ("https://example.com/a?q=hello%20world", "https://example.com/a?q=hello+world"),
        ("https://example.com/a?UTM_Campaign=z", "https://example.com/a"),
        ("https://arxiv.org/abs/2604.02176", "https://arxiv.org/abs/2604.02176"),
    ],
)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://Example.com/News/?utm_source=rss&id=7#top")
    assert canonical_url(once) == once


@pytest.mark.parametrize("bad", ["", "   ", "ftp://example.com/x", "javascript:alert(1)", "https:///nohost",
                                 "https://example.com:99999/"])
def test_canonical_url_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(bad)


def _item(url: str = "https://example.com/news/1", **extra: object) -> Item:
    data: dict[str, object] = {"url": url, "title": "A title", "source": "example", "published": NOW}
    data.update(extra)
    return Item.model_validate(data)


def test_item_id_is_hash_of_canonical_url() -> None:
    a = _item("https://Example.com/news/1/?utm_source=feed")
    b = _item("https://example.com/news/1#comments", title="Another title")
    assert a.url == "https://example.com/news/1"
    assert a.id == b.id
    assert a.id != _item("https://example.com/news/2").id


def test_item_rejects_naive_time_and_normalises_to_utc() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        _item(published=datetime(2026, 4, 30, 12, 0))
    shifted = _item(published=datetime(2026, 4, 30, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert shifted.published == NOW and shifted.published.tzinfo == UTC


def test_models_are_frozen() -> None:
    item = _item()
    with pytest.raises(ValidationError):
        item.title = "changed"  # type: ignore[misc]


def test_classified_item_round_trip_and_defaults() -> None:
    item = ClassifiedItem.from_item(_item(), topics=["models", "research"], importance=0.7)
    assert item.primary_topic == "models"
    assert item.story_id == item.id
    again = ClassifiedItem.model_validate_json(item.model_dump_json())
    assert again == item
    with pytest.raises(ValidationError):
        ClassifiedItem.from_item(_item(), topics=[])
    with pytest.raises(ValidationError):
        ClassifiedItem.from_item(_item(), topics=["models"], importance=1.5)


def test_unknown_newer_schema_version_is_rejected() -> None:
    data = _item().model_dump(mode="json")
    data["schema_version"] = 99
    with pytest.raises(ValidationError, match="upgrade ai-news"):
        Item.model_validate(data)


def test_computed_id_in_json_is_ignored_on_input() -> None:
    data = _item().model_dump(mode="json")
    data["id"] = "forged"
    assert Item.model_validate(data).id == _item().id


def test_fetch_job_id_is_deterministic() -> None:
    a = FetchJob(source_id="arxiv-cs-ai", url="https://export.arxiv.org/api/query", kind="arxiv", due_at=NOW)
    b = FetchJob.model_validate_json(a.model_dump_json())
    assert a.id == b.id
    assert a.id != FetchJob(source_id="arxiv-cs-ai", url=a.url, due_at=NOW + timedelta(minutes=15)).id
    with pytest.raises(ValidationError):
        FetchJob(source_id="x", url="https://x", kind="gopher", due_at=NOW)  # type: ignore[arg-type]


def test_briefing_edition_id_and_round_trip() -> None:
    story = Story(title="Story", summary="Text.", why_it_matters=("One.", "Two."),
                  sources=(SourceLink(title="Story", url="https://example.com/s", source="Example"),), importance=0.5)
    briefing = Briefing(
        channel="slack:C0123",
        date=date(2026, 4, 30),
        timezone="Europe/Berlin",
        title="Models and Robotics",
        executive_summary="Summary.",
        key_developments=(KeyDevelopment(title="Story", text="Text.", url="https://example.com/s"),),
        sections=(Section(topic="models", heading="Models", stories=(story,),
                          table=Table(columns=("a", "b"), rows=(("1", "2"),))),),
        outlook=("More to come.",),
        sources=story.sources,
    )
    assert briefing.edition_id == edition_id("slack:C0123", date(2026, 4, 30))
    assert briefing.edition_id != edition_id("slack:C0123", date(2026, 5, 1))
    assert briefing.edition_id != edition_id("discord:C0123", date(2026, 4, 30))
    assert Briefing.model_validate_json(briefing.model_dump_json()) == briefing
    with pytest.raises(ValidationError):
        Briefing(channel="irc:#ai", date=date(2026, 4, 30), title="x")
    with pytest.raises(ValidationError, match="cells"):
        Table(columns=("a", "b"), rows=(("only one",),))


def test_alert_id_is_channel_and_story() -> None:
    item = ClassifiedItem.from_item(_item(), topics=["robotics"], story_id="story-1")
    other = ClassifiedItem.from_item(_item("https://other.example/x"), topics=["robotics"], story_id="story-1")
    a = Alert(channel="discord:123", topic="robotics", item=item)
    b = Alert(channel="discord:123", topic="robotics", item=other)
    assert a.alert_id == b.alert_id  # one story alerts a channel once, whichever source came first
    assert a.alert_id != Alert(channel="discord:456", topic="robotics", item=item).alert_id
    assert Alert.model_validate_json(a.model_dump_json()) == a


def test_dead_letter_round_trip() -> None:
    letter = DeadLetter(topic="ainews.items.models", partition=1, offset=42, group="ainews.index", key="k",
                        value="not json", error_type="ValidationError", error="bad", attempts=0, failed_at=NOW)
    assert DeadLetter.model_validate_json(letter.to_bytes()) == letter
    assert letter.id == DeadLetter.model_validate_json(letter.to_bytes()).id


def test_canonical_fast_path_agrees_with_the_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    import random
    import re

    from bot import ids

    rng = random.Random(5)
    hosts = ["example.com", "Example.COM", "a-b.example.org", "x.y", "127.0.0.1", "example.com:8080",
             "example.com.", "user@example.com"]
    paths = ["", "/", "/a", "/a/", "/a//", "/A/b.html", "/a//b", "/%7Euser", "/a b", "/ä", "/a=b&c", "//"]
    tails = ["", "?x=1", "?utm_source=y", "#top", "?", "#", "?a=1&b=2", "?a=1&utm_medium=2&c=", "?REF=x&q=~y.z",
             "?a=%20", "?a+b=1", "?a", "?a=1&&b=2", "?a=b=c", "?a=1#f", "?fbclid=1", "?id=123&ref_src=twsrc",
             "?q=a;b", "?é=1", "&x=1"]
    urls = [f"{rng.choice(['http', 'https', 'HTTPS'])}://{rng.choice(hosts)}{rng.choice(paths)}{rng.choice(tails)}"
            for _ in range(3000)]
    fast: dict[str, str | None] = {}
    for url in urls:
        try:
            fast[url] = canonical_url(url) if ids._SIMPLE_URL.match(url) else None
        except ValueError:
            fast[url] = None
    assert any(v is not None for v in fast.values()) and not all(v is not None for v in fast.values())
    assert any(v is not None and "?" in v for v in fast.values())
    monkeypatch.setattr(ids, "_SIMPLE_URL", re.compile(r"(?!)"))  # the full parse only
    for url in urls:
        try:
            full = canonical_url(url)
        except ValueError:
            assert fast[url] is None, url
            continue
        if fast[url] is not None:
            assert full == fast[url], url


@pytest.mark.parametrize(("url", "key"), [
    ("https://news.slashdot.org/story/25/09/17/145230/anthropic-denies-federal-agencies?utm_source=rss1.0",
     "slashdot:25/09/17/145230"),
    ("https://slashdot.org/story/25/09/17/145230/anthropic-refuses-federal-agencies", "slashdot:25/09/17/145230"),
    ("https://www.reddit.com/r/MachineLearning/comments/1AbCd2/a_title/", "reddit:1abcd2"),
    ("https://math.stackexchange.com/questions/4711/how-to", "stackexchange:math.stackexchange.com:4711"),
    ("https://blog.test/story/25/09/17/145230/notes", None),
    ("https://slashdot.org/", None),
])
def test_article_key_names_the_article_behind_an_id_and_a_slug(url: str, key: str | None) -> None:
    assert article_key(url) == key
