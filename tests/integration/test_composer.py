"""The composer role against the real broker and Redis: on time, across DST, once, after downtime and crashes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition

from bot.bus import Bus
from bot.cmd.post import post
from bot.editions import Edition
from bot.models import Briefing, ClassifiedItem, Entities, Item, edition_id
from bot.runtime import Services, make_composer
from bot.settings import Settings
from bot.store import EditionClaim, Store
from bot.taxonomy import Taxonomy
from workers.composer import Composer, load_window

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _item(n: int, published: datetime, topic: str = "models", *, title: str = "", story: str = "",
          backfill: bool = False) -> ClassifiedItem:
    base = Item(url=f"https://news.example.com/{n}", title=title or f"Anthropic ships model update number {n}",
                summary=f"Anthropic shipped update number {n} of its model to every customer today.",
                source=f"src{n % 3}", source_name=f"Source {n % 3}", published=published, backfill=backfill)
    return ClassifiedItem.from_item(base, topics=[topic], importance=0.5 + (n % 5) / 10, story_id=story,
                                    entities=Entities(organizations=("Anthropic",)))


async def _briefings(bus: Bus) -> list[Briefing]:
    """Every briefing on the topic, in offset order per partition."""
    reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(bootstrap_servers=bus.bootstrap_servers,
                                                              enable_auto_commit=False)
    await reader.start()
    try:
        topic = bus.topics.briefings
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        ends = await reader.end_offsets(partitions)
        found: list[Briefing] = []
        if not any(ends.values()):
            return found
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        while [tp for tp in partitions if await reader.position(tp) < ends[tp]]:
            batch = await reader.getmany(timeout_ms=500)
            for records in batch.values():
                found += [Briefing.model_validate_json(r.value) for r in records if r.value is not None]
        return found
    finally:
        await reader.stop()


@pytest_asyncio.fixture
async def services(settings: Settings, bus: Bus, redis: object, store: Store, taxonomy: Taxonomy,
                   tmp_path: Path) -> AsyncIterator[Services]:
    config = tmp_path / "config"
    config.mkdir()
    for name in ("topics.yaml", "entities.yaml", "sources.yaml"):
        (config / name).write_text((ROOT / "config" / name).read_text())
    (config / "channels.yaml").write_text(
        "channels:\n"
        "  - {channel: 'slack:CBERLIN', time: '08:00', timezone: Europe/Berlin}\n"
        "  - {channel: 'discord:42', time: '09:30', timezone: America/New_York, topics: [regulation]}\n")
    configured = settings.model_copy(update={"ainews_config_dir": config})
    yield Services(configured, taxonomy, bus, redis, store, "kafka", "redis")  # type: ignore[arg-type]


def _composer(services: Services, clock: Callable[[], datetime], owner: str) -> Composer:
    return make_composer(services, now=clock, owner=owner, tick_seconds=0.05, lock_ttl=5.0)


async def test_publishes_each_edition_at_its_local_time_across_dst(services: Services, store: Store) -> None:
    # 29 March 2026: Berlin moves to summer time at 01:00 UTC, so its 08:00 edition is due at 06:00 UTC.
    spring = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    for n in range(12):
        await store.archive(_item(n, spring - timedelta(hours=2 * n + 0.5)))
    await store.archive(_item(50, spring - timedelta(hours=23, minutes=30)))  # before the 23-hour window
    await store.archive(_item(51, spring - timedelta(hours=3), backfill=True))
    clock = Clock(spring - timedelta(minutes=1))
    composer = _composer(services, clock, "a")
    await store.sync_editions(composer.configured)
    # The day before was published; the 29th is a minute away.
    await store.record_published(Briefing(channel="slack:CBERLIN", date=date(2026, 3, 28), title="t"))
    await store.record_published(Briefing(channel="discord:42", date=date(2026, 3, 28), title="t"))
    assert await composer.tick() == []
    clock.now = spring
    published = await composer.tick()
    assert [(b.channel, b.date) for b in published] == [("slack:CBERLIN", date(2026, 3, 29))]
    briefing = published[0]
    stories = [s for section in briefing.sections for s in section.stories]
    # 23 hours: items 0..11 (0.5 to 22.5 hours before), not the one 23.5 hours before, never the backfill.
    window = await load_window(store, services.taxonomy, *Edition(
        channel="slack:CBERLIN", time="08:00", timezone="Europe/Berlin").window(date(2026, 3, 29)))
    assert sorted(i.title for i in window.items if not i.backfill) == sorted(
        f"Anthropic ships model update number {n}" for n in range(12))
    assert {s.title for s in stories} <= {f"Anthropic ships model update number {n}" for n in range(12)}
    assert len(stories) == 8  # at most 8 per section
    assert briefing.timezone == "Europe/Berlin"
    assert (await store.latest_briefing("slack:CBERLIN")) == briefing
    assert await composer.tick() == []  # once
    # New York is still on its 28 March edition until 09:30 EDT (13:30 UTC) on the 29th.
    clock.now = datetime(2026, 3, 29, 13, 30, tzinfo=UTC)
    assert [(b.channel, b.date) for b in await composer.tick()] == [("discord:42", date(2026, 3, 29))]
    assert len(await _briefings(composer.bus)) == 2


async def test_after_downtime_only_the_latest_missed_edition_goes_out_once(services: Services, store: Store) -> None:
    clock = Clock(datetime(2026, 6, 10, 12, 0, tzinfo=UTC))
    composer = _composer(services, clock, "a")
    await store.sync_editions(composer.configured)
    await store.record_published(Briefing(channel="slack:CBERLIN", date=date(2026, 6, 6), title="t"))
    await store.record_published(Briefing(channel="discord:42", date=date(2026, 6, 9), title="t"))
    published = await composer.tick()
    # Berlin missed the 7th to the 10th: only the 10th; New York's 10th is not due before 13:30 UTC.
    assert [(b.channel, b.date) for b in published] == [("slack:CBERLIN", date(2026, 6, 10))]
    assert await composer.tick() == []
    assert [b.date for b in await _briefings(composer.bus)] == [date(2026, 6, 10)]


async def test_two_composers_publish_each_edition_once(services: Services, store: Store) -> None:
    start = datetime(2026, 6, 10, 5, 0, tzinfo=UTC)
    for n in range(5):
        await store.archive(_item(n, start - timedelta(hours=n + 1)))
    clock = Clock(start)
    first, second = _composer(services, clock, "a"), _composer(services, clock, "b")
    # Racing on the same edition directly, without the leader lock: the claim lets one through.
    edition = Edition(channel="slack:CBERLIN", time="07:00", timezone="Europe/Berlin")
    results = await asyncio.gather(first.publish(edition, date(2026, 6, 10)), second.publish(edition,
                                                                                            date(2026, 6, 10)))
    assert sorted(r is None for r in results) == [False, True]
    # Both running as roles over four days of editions: one leads, every edition goes out once.
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in (first, second)]
    try:
        for day in range(11, 15):
            clock.now = datetime(2026, 6, day, 14, 0, tzinfo=UTC)
            expected = 1 + 2 * (day - 10)
            for _ in range(200):
                if len(await _briefings(first.bus)) >= expected:
                    break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    briefings = await _briefings(first.bus)
    keys = [(b.channel, b.date) for b in briefings]
    assert len(keys) == len(set(keys)) == 9
    assert {d for c, d in keys if c == "discord:42"} == {date(2026, 6, day) for day in range(11, 15)}
    assert len(first.published) + len(second.published) == 9  # the raced one included


async def test_a_crash_after_publishing_is_confirmed_not_repeated(services: Services, store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(datetime(2026, 6, 10, 6, 30, tzinfo=UTC))
    crashing = _composer(services, clock, "a")
    edition = Edition(channel="slack:CBERLIN", time="08:00", timezone="Europe/Berlin")

    async def crash(*args: object) -> None:
        raise RuntimeError("killed between publishing and confirming")

    monkeypatch.setattr(crashing, "_finish", crash)
    with pytest.raises(RuntimeError):
        await crashing.publish(edition, date(2026, 6, 10))
    claim = await store.edition_claim(edition_id(edition.channel, date(2026, 6, 10)))
    assert claim is not None and claim.state == "publishing"
    restarted = _composer(services, clock, "b")
    assert await restarted.publish(edition, date(2026, 6, 10)) is None
    assert len(await _briefings(restarted.bus)) == 1
    claim = await store.edition_claim(edition_id(edition.channel, date(2026, 6, 10)))
    assert claim is not None and claim.state == "published"
    assert (await store.last_edition(edition.channel)) == "2026-06-10"


async def test_a_crash_before_publishing_is_published_on_the_next_tick(services: Services, store: Store,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(datetime(2026, 6, 10, 6, 30, tzinfo=UTC))
    composer = _composer(services, clock, "a")
    await store.sync_editions(composer.configured)
    await store.record_published(Briefing(channel="discord:42", date=date(2026, 6, 10), title="t"))

    async def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("broker went away")

    monkeypatch.setattr(composer.bus, "publish", broker_down)
    assert await composer.tick() == []  # logged; the claim stays unfinished
    monkeypatch.undo()
    assert [b.date for b in await composer.tick()] == [date(2026, 6, 10)]
    assert len(await _briefings(composer.bus)) == 1
    # A claim a dead composer left behind, with nothing on the topic: published once by the next leader.
    eid = edition_id("slack:CBERLIN", date(2026, 6, 11))
    offsets = await composer.bus.end_offsets(composer.bus.topics.briefings)
    assert await store.claim_edition(eid, EditionClaim(owner="dead", offsets=offsets))
    clock.now = datetime(2026, 6, 11, 6, 30, tzinfo=UTC)
    assert [b.edition_id for b in await composer.tick()] == [eid]
    assert len(await _briefings(composer.bus)) == 2


async def test_post_publishes_a_channel_and_date_once(settings: Settings, bus: Bus, store: Store) -> None:
    now = datetime.now(UTC)
    for n in range(4):
        await store.archive(_item(n, now - timedelta(hours=n + 1), topic="regulation",
                                  title=f"Senate passes AI bill number {n}"))
    edition = now - timedelta(minutes=1)  # an edition that has just come due, whatever the time of day
    day, at = edition.date(), edition.strftime("%H:%M")
    first = await post(settings, "slack:CPOST", day, "UTC", at)
    assert first.briefing is not None and first.day == day
    assert sum(len(s.stories) for s in first.briefing.sections) == 4
    again = await post(settings, "slack:CPOST", day, "UTC", at)
    assert again.briefing is None
    preview = await post(settings, "slack:CPOST", day, "UTC", at, dry_run=True)
    assert preview.briefing is not None and preview.items == 4
    assert [b.channel for b in await _briefings(bus)] == ["slack:CPOST"]


async def test_the_llm_analyst_falls_back_to_the_offline_text(services: Services, store: Store) -> None:
    """The composer with an OpenAI-compatible stand-in: a good answer is used, a failing one is not."""
    calls: list[dict[str, object]] = []

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(body)
        prompt = body["messages"][-1]["content"]
        if '"headline": "Anthropic ships model update number 1"' in prompt:
            content = json.dumps({"about_ai": True, "section": "models", "event": {"kind": "other"}, "facts": [],
                                  "summary": "Anthropic shipped update number 1 of its model to every customer.",
                                  "why_it_matters": ["Every Anthropic customer gets update number 1."]})
            return web.json_response({"choices": [{"message": {"content": content}, "finish_reason": "stop"}]})
        return web.json_response({"error": "overloaded"}, status=500)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        start = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
        for n in (1, 2):
            await store.archive(_item(n, start - timedelta(hours=n), story=f"story{n}"))
        llm = services.settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{port}/v1",
                                                   "llm_model": "stand-in"})
        composer = make_composer(Services(llm, services.taxonomy, services.bus, services.redis, services.store,
                                          "", ""), now=Clock(start), owner="a")
        offline, _ = await _composer(services, Clock(start), "b").compose(
            Edition(channel="slack:CBERLIN", time="08:00", timezone="Europe/Berlin"), date(2026, 6, 10))
        briefing = await composer.publish(Edition(channel="slack:CBERLIN", time="08:00", timezone="Europe/Berlin"),
                                          date(2026, 6, 10))
    finally:
        await runner.cleanup()
    assert briefing is not None and calls
    stories = {s.story_id: s for section in briefing.sections for s in section.stories}
    before = {s.story_id: s for section in offline.sections for s in section.stories}
    assert stories["story1"].summary == "Anthropic shipped update number 1 of its model to every customer."
    assert stories["story1"].why_it_matters[0] == "Every Anthropic customer gets update number 1."
    assert stories["story2"] == before["story2"]  # the failing part kept its offline text
    assert briefing.executive_summary == offline.executive_summary
    assert "summary:story1" in briefing.generated and "summary:story2" not in briefing.generated
