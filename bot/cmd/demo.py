"""`ai-news demo`: the bundled sample feeds through Kafka into the archive, then a briefing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from importlib import resources

from adapters.console import render_markdown
from bot.briefing.writer import BriefingRequest, build_writer
from bot.models import Item
from bot.offline import build_enricher
from bot.runtime import Progress, clear_keys, open_services, wait_archived
from bot.settings import Settings
from bot.stories import MemoryStoryIndex
from workers.indexer import Indexer
from workers.ingest.parse import FeedError, parse_feed

log = logging.getLogger(__name__)


def sample_feeds() -> list[tuple[str, bytes]]:
    """The feeds bundled in the package for the demo, as (source id, document)."""
    folder = resources.files("bot") / "samples"
    return sorted(
        (entry.name.removesuffix(".xml").replace("_", "-"), entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".xml")
    )


async def demo(settings: Settings, progress: Progress, *, days: int = 7, index_timeout: float = 60.0) -> str:
    """Ingest the bundled feeds through Kafka into the Redis archive, then compose a Markdown briefing."""
    progress.step("Starting Kafka and Redis")
    async with open_services(settings) as services:
        progress.note(f"Kafka: {services.kafka_description}")
        progress.note(f"Redis: {services.redis_description}")
        await clear_keys(services)
        indexer = Indexer(services.bus, services.store)
        consumer = indexer.consumer()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop), name="indexer")
        try:
            progress.step("Parsing and classifying the sample feeds")
            enricher = await asyncio.to_thread(build_enricher, settings, services.taxonomy)
            parsed = await asyncio.to_thread(_load_samples)
            # Importance as ingest would have given each item on arrival: no item is fresher than another.
            items = await enricher.classify_items(parsed, MemoryStoryIndex(), now=lambda: datetime.now(UTC))
            progress.note(f"{len(items)} items from {len({i.source for i in items})} sample feeds")

            progress.step("Publishing items to Kafka")
            await services.bus.publish_many(
                (services.bus.topics.items(item.primary_topic), item, item.story_id) for item in items
            )
            progress.step("Indexing into Redis (consumer group index)")
            await wait_archived(services.store, [i.id for i in items], progress, index_timeout, task)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)

        progress.step("Composing the briefing from the archive")
        newest = max(i.published for i in items)
        until = newest + timedelta(seconds=1)
        window = await services.store.recent(since=until - timedelta(days=days), until=until)
        writer = build_writer(settings, services.taxonomy, enricher)
        briefing = await writer.write(window, BriefingRequest(channel="console:demo", day=newest.date()))
        await clear_keys(services)
        return render_markdown(briefing)


def _load_samples() -> list[Item]:
    now = datetime.now(UTC)
    items: dict[str, Item] = {}
    for source_id, document in sample_feeds():
        try:
            parsed = parse_feed(document, source_id=source_id, now=now)
        except FeedError as exc:
            log.warning("sample feed skipped: %s", exc)
            continue
        for item in parsed.items:
            items.setdefault(item.id, item)
    return list(items.values())
