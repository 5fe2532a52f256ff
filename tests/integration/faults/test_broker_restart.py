"""A broker that restarts: in memory it comes back without its topics and groups; the bus notices, recreates the
topics as configured, the consumers rejoin and go on, and the log says so in a few lines, not thousands."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.bus import Bus
from bot.embedded import EmbeddedKafka
from bot.models import ClassifiedItem, Item
from bot.store import Store
from tests.integration.conftest import group_lag
from tests.integration.faults.conftest import alive_until, partition_counts, publish_eventually, restart
from workers.indexer import Indexer

pytestmark = pytest.mark.faults

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _items(first: int, count: int) -> list[ClassifiedItem]:
    topics = ["models", "regulation", "robotics"]
    return [ClassifiedItem.from_item(Item(url=f"https://example.com/{n}", title=f"Item {n}", source="ex",
                                          published=NOW - timedelta(minutes=n)), topics=[topics[n % 3]])
            for n in range(first, first + count)]


def _messages(bus: Bus, items: list[ClassifiedItem]) -> list[tuple[str, ClassifiedItem, str | None]]:
    return [(bus.topics.items(i.primary_topic), i, i.story_id) for i in items]


async def _lag(bus: Bus) -> int:
    return await group_lag(bus.bootstrap_servers, bus.topics.group("index"), bus.topics.item_topics)


async def test_a_broker_that_comes_back_empty_gets_its_topics_back_and_the_pipeline_goes_on(
        own_kafka: EmbeddedKafka, own_bus: Bus, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bus = own_bus
    indexer = Indexer(bus, store)
    consumer = indexer.consumer()
    task = asyncio.create_task(consumer.run(), name="indexer")
    try:
        await bus.publish_many(_messages(bus, _items(0, 10)))
        await alive_until([task], lambda: indexer.archived == 10, "the items before the restart")
        await restart(own_kafka)
        await publish_eventually(bus, _messages(bus, _items(10, 10)))
        await alive_until([task], lambda: indexer.archived == 20, "the items published after the restart")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await _lag(bus):  # the group commits again, on the recreated topics
            assert not task.done() and loop.time() < deadline, "offsets were not committed after the restart"
            await asyncio.sleep(0.2)
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
    assert await store.count() == 20 and all(await store.has_items([i.id for i in _items(0, 20)]))
    counts = await partition_counts(bus.bootstrap_servers, bus.topics.all())
    assert counts == dict.fromkeys(bus.topics.all(), bus.partitions)  # as configured, not the broker's default
    recreated = [r.getMessage() for r in caplog.records if "recreated" in r.getMessage()]
    assert len(recreated) == 1, recreated
    assert f"{len(bus.topics.all())} topics" in recreated[0] and f"{bus.partitions} partitions" in recreated[0]


async def test_an_outage_says_so_once_and_the_library_does_not_flood_the_log(
        own_kafka: EmbeddedKafka, own_bus: Bus, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bus = own_bus
    indexer = Indexer(bus, store)
    consumer = indexer.consumer()
    task = asyncio.create_task(consumer.run(), name="indexer")
    try:
        await bus.publish_many(_messages(bus, _items(0, 3)))
        await alive_until([task], lambda: indexer.archived == 3, "the first items")
        own_kafka.kill()
        marker = len(caplog.records)

        def said(text: str) -> list[str]:
            return [r.getMessage() for r in caplog.records[marker:] if text in r.getMessage()]

        await alive_until([task], lambda: bool(said("is unreachable")), "the line saying Kafka is away", limit=30)
        # The broker stays away a while, as in an outage: long enough for the library to repeat itself.
        await asyncio.sleep(5)
        own_kafka.respawn(wait=False)
        await asyncio.to_thread(own_kafka.wait_ready)
        await alive_until([task], lambda: bool(said("is back after")), "the line saying Kafka is back", limit=30)
        await publish_eventually(bus, _messages(bus, _items(3, 3)))
        await alive_until([task], lambda: indexer.archived == 6, "the items after the outage")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
    outage = caplog.records[marker:]
    assert len(said("is unreachable")) == 1 and len(said("is back after")) == 1
    assert f"Kafka at {bus.bootstrap_servers}" in said("is unreachable")[0]
    library = [r for r in outage if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING]
    assert len(library) <= 30, "\n".join(f"{r.name}: {r.getMessage()}"[:200] for r in library)
