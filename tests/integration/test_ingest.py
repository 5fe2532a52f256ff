"""The ingest role against a local feed server, the real broker and Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer

from bot.bus import Bus
from bot.enrich import Enricher
from bot.models import FetchJob, HealthEvent
from bot.offline import build_enricher
from bot.settings import Settings
from bot.sources import Source, SourcesConfig
from bot.store import Store
from bot.stories import MemoryStoryIndex, RedisStoryIndex
from bot.taxonomy import Taxonomy
from tests.feedserver import FeedServer, feed_server, fixture
from workers.indexer import Indexer
from workers.ingest.fetch import Fetcher
from workers.ingest.pages import PageDescriber
from workers.ingest.parse import parse_feed
from workers.ingest.worker import Ingestor


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with feed_server(delay=3.0) as running:
        yield running


@pytest_asyncio.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(timeout=1.0, max_bytes=2_000_000)
    yield fetcher
    await fetcher.close()


def _source(server: FeedServer, source_id: str, path: str, **extra: object) -> Source:
    return Source.model_validate({"id": source_id, "name": source_id.title(), "url": server.url(path), **extra})


def _job(source: Source, clock: Clock) -> FetchJob:
    return FetchJob(source_id=source.id, url=source.url, kind=source.kind, due_at=clock())


def _ingestor(bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, sources: list[Source],
              clock: Clock) -> Ingestor:
    return Ingestor(bus, store, fetcher, enricher, RedisStoryIndex(store.redis, store.keys.prefix),
                    SourcesConfig(sources=tuple(sources)), clock=clock, window=timedelta(hours=24),
                    disable_after=timedelta(hours=48))


async def _health_events(bus: Bus, count: int) -> list[HealthEvent]:
    consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bus.topics.health, bootstrap_servers=bus.bootstrap_servers, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    events: list[HealthEvent] = []
    try:
        for _ in range(50):
            batch = await consumer.getmany(timeout_ms=200)
            events += [HealthEvent.model_validate_json(r.value) for rs in batch.values() for r in rs if r.value]
            if len(events) >= count:
                break
    finally:
        await consumer.stop()
    return events


async def test_polls_emit_only_what_is_new(bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher,
                                           server: FeedServer) -> None:
    clock = Clock(datetime(2026, 4, 27, 12, tzinfo=UTC))
    server.documents["/anthropic.xml"] = fixture("real-ai/anthropic_news.earlier.xml")
    source = _source(server, "anthropic-news", "/anthropic.xml", topics=["models"])
    ingestor = _ingestor(bus, store, fetcher, enricher, [source], clock)

    first = await ingestor.ingest(_job(source, clock))
    assert first.error is None and len(first.new_items) == 13
    # First poll: everything is archived, but what is older than the briefing window is backfill.
    fresh = [i for i in first.new_items if not i.backfill]
    assert all(i.published >= clock() - timedelta(hours=24) for i in fresh)
    assert sum(i.backfill for i in first.new_items) >= 10
    assert all(i.source == "anthropic-news" and i.source_name == "Anthropic-News" for i in first.new_items)

    again = await ingestor.ingest(_job(source, clock))
    assert again.not_modified and again.new_items == [] and server.conditional_hits == 1

    server.documents["/anthropic.xml"] = fixture("real-ai/anthropic_news.xml")
    clock.advance(days=3)
    later = await ingestor.ingest(_job(source, clock))
    earlier_ids = {i.id for i in parse_feed(fixture("real-ai/anthropic_news.earlier.xml"), source_id="x").items}
    later_ids = {i.id for i in parse_feed(fixture("real-ai/anthropic_news.xml"), source_id="x").items}
    assert {i.id for i in later.new_items} == later_ids - earlier_ids
    assert later.new_items and not any(i.backfill for i in later.new_items)

    state = await store.source_state("anthropic-news")
    assert state.polls == 3 and state.failures == 0 and state.items_total == 13 + len(later.new_items)
    assert state.etag and state.last_success == clock()


async def test_duplicates_across_sources_are_emitted_once(bus: Bus, store: Store, fetcher: Fetcher,
                                                          enricher: Enricher, server: FeedServer) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/a.xml"] = fixture("real-ai/anthropic_news.xml")
    server.documents["/mirror.xml"] = fixture("real-ai/anthropic_news.earlier.xml")
    a, mirror = _source(server, "a", "/a.xml"), _source(server, "mirror", "/mirror.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [a, mirror], clock)
    first = await ingestor.ingest(_job(a, clock))
    second = await ingestor.ingest(_job(mirror, clock))
    assert len(first.new_items) == 13
    assert {i.id for i in second.new_items}.isdisjoint({i.id for i in first.new_items})


async def test_a_batch_of_fetch_jobs_emits_what_the_jobs_one_by_one_would(
        bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/a.xml"] = fixture("real-ai/anthropic_news.xml")
    server.documents["/mirror.xml"] = fixture("real-ai/anthropic_news.earlier.xml")
    server.documents["/batch.xml"] = fixture("real-ai/deeplearning_ai_batch.xml")
    a, mirror = _source(server, "a", "/a.xml"), _source(server, "mirror", "/mirror.xml")
    batch, missing = _source(server, "batch", "/batch.xml"), _source(server, "missing", "/missing.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [a, mirror, batch, missing], clock)
    jobs = [(_job(s, clock), s) for s in (a, mirror, missing, a, batch)]
    outcomes = await ingestor.ingest_many(jobs)
    assert [o.source_id for o in outcomes] == ["a", "mirror", "missing", "a", "batch"]
    first, second, failed, again, other = outcomes
    # An entry the first source published is not new for the second, in the same batch as in two.
    assert len(first.new_items) == 13 and second.error is None
    assert {i.id for i in second.new_items}.isdisjoint({i.id for i in first.new_items})
    assert failed.error is not None and not failed.new_items
    # A source that comes twice is polled again after the first poll is recorded: a conditional GET.
    assert again.not_modified and server.conditional_hits == 1
    assert other.new_items and (await store.source_state("a")).polls == 2
    published = [i.id for o in outcomes for i in o.new_items]
    assert len(published) == len(set(published))
    assert await store.unseen(published) == []


async def test_what_a_batch_published_is_marked_seen_when_a_later_source_fails(
        bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/a.xml"] = fixture("real-ai/anthropic_news.xml")
    server.documents["/batch.xml"] = fixture("real-ai/deeplearning_ai_batch.xml")
    a, batch = _source(server, "a", "/a.xml"), _source(server, "batch", "/batch.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [a, batch], clock)
    classify = enricher.classify_items

    async def failing_for_batch(items: list[Any], *args: Any, **kwargs: Any) -> Any:
        if any(item.source == "batch" for item in items):
            raise RuntimeError("enrichment failed")
        return await classify(items, *args, **kwargs)

    monkeypatch.setattr(enricher, "classify_items", failing_for_batch)
    with pytest.raises(RuntimeError):
        await ingestor.ingest_many([(_job(s, clock), s) for s in (a, batch)])
    ids = [i.id for i in parse_feed(fixture("real-ai/anthropic_news.xml"), source_id="a").items]
    assert ids and await store.unseen(ids) == []  # published, so marked: the job by job retry emits none again
    assert (await ingestor.ingest(_job(a, clock))).new_items == []


async def test_broken_sources_fail_clearly_and_the_others_go_on(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/good.xml"] = fixture("real-ai/meta_ai_news.xml")
    server.documents["/unrecognized.rss"] = fixture("parser-edge/unrecognized.rss")
    cases = {
        "gone": ("/status/404", "HTTP 404"),
        "down": ("/status/500", "HTTP 500"),
        "page": ("/page.html", "not a readable feed"),
        "bomb": ("/bomb.xml", "declares XML entities"),
        "slow": ("/hang", "no complete answer within 1s"),
        "loop": ("/loop", "redirects"),
        "junk": ("/unrecognized.rss", "not a readable feed"),
    }
    sources = [_source(server, sid, path) for sid, (path, _) in cases.items()]
    good = _source(server, "good", "/good.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [*sources, good], clock)
    outcomes = await asyncio.gather(*(ingestor.ingest(_job(s, clock)) for s in [*sources, good]))
    by_id = {o.source_id: o for o in outcomes}
    assert len(by_id["good"].new_items) == 5 and by_id["good"].error is None
    for sid, (_, message) in cases.items():
        error = by_id[sid].error
        assert error is not None and error.startswith(f"{sid}: ") and message in error, (sid, error)
        state = await store.source_state(sid)
        assert state.failures == 1 and state.status == "failing" and message in (state.last_error or "")


async def test_a_source_failing_for_48_hours_is_disabled_with_a_health_event(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    source = _source(server, "flaky", "/flaky.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [source], clock)
    for _ in range(4):  # 404 for 36 hours: failing, not yet disabled
        outcome = await ingestor.ingest(_job(source, clock))
        assert outcome.error and "HTTP 404" in outcome.error
        clock.advance(hours=12)
    state = await store.source_state("flaky")
    assert state.failures == 4 and not state.disabled
    assert state.failing_since == datetime(2026, 5, 1, tzinfo=UTC)

    await ingestor.ingest(_job(source, clock))  # 48 h after the first failure
    state = await store.source_state("flaky")
    assert state.disabled and state.status == "disabled"
    assert (await ingestor.ingest(_job(source, clock))).error == "disabled"  # no more fetching
    assert server.hits["/flaky.xml"] == 5

    events = await _health_events(bus, 2)
    assert [(e.source_id, e.status) for e in events] == [("flaky", "failing"), ("flaky", "disabled")]
    assert "HTTP 404" in events[1].error and events[1].failing_since == datetime(2026, 5, 1, tzinfo=UTC)


async def test_recovery_after_failures_is_announced(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    source = _source(server, "back", "/back.xml")
    ingestor = _ingestor(bus, store, fetcher, enricher, [source], clock)
    for _ in range(3):
        await ingestor.ingest(_job(source, clock))
        clock.advance(hours=1)
    server.documents["/back.xml"] = fixture("real-ai/meta_ai_news.xml")
    outcome = await ingestor.ingest(_job(source, clock))
    assert outcome.error is None and len(outcome.new_items) == 5
    assert (await store.source_state("back")).status == "ok"
    events = await _health_events(bus, 2)
    assert [e.status for e in events] == ["failing", "recovered"]


async def test_fetch_jobs_flow_through_ingest_into_the_archive(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/hn.xml"] = fixture("real-ai/hackernews_best_stories.xml")
    source = _source(server, "hn-best", "/hn.xml", kind="feed")
    ingestor = _ingestor(bus, store, fetcher, enricher, [source], clock)
    ingest = ingestor.consumer()
    index = Indexer(bus, store).consumer()
    tasks = [asyncio.create_task(ingest.run()), asyncio.create_task(index.run())]
    try:
        await bus.publish(bus.topics.fetch, _job(source, clock), key=source.id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await store.count() < 50:
            assert loop.time() < deadline, "items did not reach the archive"
            await asyncio.sleep(0.1)
    finally:
        ingest.stop()
        index.stop()
        await asyncio.gather(*tasks)
    assert ingest.stats.processed == 1 and ingest.stats.dead_lettered == 0
    items = await store.recent(limit=100)
    assert len(items) == 50
    assert all(bus.topics.items(i.primary_topic) in bus.topics.item_topics for i in items)


@pytest.mark.parametrize("fixture_name", ["encoding.rss", "guardian.rss", "rss-1.rss"])
async def test_encodings_and_formats_of_real_feeds(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer, fixture_name: str
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    server.documents["/f"] = fixture(f"parser-edge/{fixture_name}")
    source = _source(server, "edge", "/f")
    outcome = await _ingestor(bus, store, fetcher, enricher, [source], clock).ingest(_job(source, clock))
    assert outcome.error is None and outcome.new_items
    assert all("\ufffd" not in i.title for i in outcome.new_items)


def _link_feed(server: FeedServer, entries: list[tuple[str, str, str]]) -> bytes:
    """An aggregator's feed: headlines and links, a score for text (what Hacker News mirrors give)."""
    body = "".join(
        f"<entry><title>{title}</title><id>{path}</id><link href=\"{server.url(path)}\"/>"
        f"<updated>2026-04-30T20:00:00+00:00</updated><summary>{summary}</summary></entry>"
        for title, path, summary in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Links</title>'
            f"<id>links</id><updated>2026-04-30T20:00:00+00:00</updated>{body}</feed>").encode()


def _page(description: str) -> bytes:
    return (f'<!doctype html><html><head><meta property="og:description" content="{description}"></head>'
            f"<body>…</body></html>").encode()


async def test_items_without_text_are_classified_with_their_pages_descriptions(
    bus: Bus, store: Store, fetcher: Fetcher, settings: Settings, taxonomy: Taxonomy, server: FeedServer
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    kestrel = ("Kestrel is an open-weight reasoning model with 32B parameters that beats larger models on math "
               "benchmarks.")
    own = "A new open-source compiler for GPUs that turns PyTorch programs into fused kernels, written in Rust."
    server.documents.update({
        "/links.xml": _link_feed(server, [("Kestrel", "/kestrel", "Score: 310 Comments: 120"),
                                          ("What happened at the board meeting", "/gone", "Score: 90"),
                                          ("Fuse", "/fuse", own)]),
        "/kestrel": _page(kestrel), "/fuse": _page("Fuse, a compiler."),
    })
    server.types.update({"/kestrel": "text/html", "/fuse": "text/html"})
    source = _source(server, "links", "/links.xml")
    enricher = build_enricher(settings, taxonomy)  # the shipped classifier and about-AI model
    describer = PageDescriber(allow_private=True)  # the pages are on this machine
    try:
        ingestor = Ingestor(bus, store, fetcher, enricher, RedisStoryIndex(store.redis, store.keys.prefix),
                            SourcesConfig(sources=(source,)), clock=clock, describer=describer)
        outcome = await ingestor.ingest(_job(source, clock))
        bare = await enricher.classify_items(
            [i.model_copy(update={"summary": "", "described": False}) for i in outcome.new_items],
            MemoryStoryIndex(), now=clock)
    finally:
        await describer.close()
    by_title = {i.title: i for i in outcome.new_items}
    assert set(by_title) == {"Kestrel", "What happened at the board meeting", "Fuse"}
    described = by_title["Kestrel"]
    assert described.described and described.summary.startswith(kestrel)
    assert described.about_ai and described.primary_topic == "models"
    assert not next(i for i in bare if i.title == "Kestrel").about_ai  # the headline alone says nothing
    gone = by_title["What happened at the board meeting"]
    assert not gone.described and gone.summary == "Score: 90"  # a page that fails leaves the item as it was
    assert not by_title["Fuse"].described and "/fuse" not in server.hits  # it has text of its own

    # A local document is read as it is: no page behind its links is fetched.
    hits = dict(server.hits)
    local = _source(server, "local", "/none.xml")
    done = await ingestor.ingest_document(local, _link_feed(server, [("Kestrel II", "/kestrel?2", "Score: 5")]),
                                          "feed")
    assert [i.described for i in done.new_items] == [False] and server.hits == hits


async def test_sources_polled_together_read_their_linked_pages_together(
    bus: Bus, store: Store, fetcher: Fetcher, enricher: Enricher, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    text = "Kestrel is an open-weight reasoning model with 32B parameters that beats larger models on math benchmarks."
    server.documents.update({
        "/a.xml": _link_feed(server, [("Kestrel", "/kestrel", "Score: 310")]),
        "/b.xml": _link_feed(server, [("Kestrel, again", "/kestrel-b", "5 points"), ("Gone", "/none", "")]),
        "/kestrel": _page(text), "/kestrel-b": _page(text.replace("32B", "33B")),
    })
    server.types.update({"/kestrel": "text/html", "/kestrel-b": "text/html"})
    a, b = _source(server, "a", "/a.xml"), _source(server, "b", "/b.xml")
    describer = PageDescriber(allow_private=True)
    try:
        ingestor = Ingestor(bus, store, fetcher, enricher, RedisStoryIndex(store.redis, store.keys.prefix),
                            SourcesConfig(sources=(a, b)), clock=clock, describer=describer)
        with caplog.at_level(logging.INFO, logger="workers.ingest.pages"):
            outcomes = await ingestor.ingest_many([(_job(a, clock), a), (_job(b, clock), b)])
    finally:
        await describer.close()
    assert [[i.described for i in o.new_items] for o in outcomes] == [[True], [True, False]]
    lines = [r.getMessage() for r in caplog.records if "linked pages" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("sources a, b: 2 of 3 linked pages described")
