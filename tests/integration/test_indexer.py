"""The indexer role through the real broker and Redis: killed between archiving and committing, it loses
nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from bot.bus import Bus
from bot.models import ClassifiedItem, Item
from bot.store import Store
from tests.integration.conftest import group_lag
from workers.indexer import Indexer

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _items(n: int) -> list[ClassifiedItem]:
    topics = ["models", "regulation", "robotics"]
    return [
        ClassifiedItem.from_item(
            Item(url=f"https://example.com/{i}", title=f"Item {i}", source="ex", published=NOW - timedelta(hours=i)),
            topics=[topics[i % 3], "business"],
        )
        for i in range(n)
    ]


async def test_kill_between_archive_and_commit_loses_and_duplicates_nothing(bus: Bus, store: Store) -> None:
    items = _items(12)
    await bus.publish_many((bus.topics.items(i.primary_topic), i, i.story_id) for i in items)

    first = Indexer(bus, store)
    handled: list[str] = []

    async def archive_then_die(item: ClassifiedItem, record: ConsumerRecord[bytes, bytes]) -> None:
        await first.handle(item, record)
        handled.append(item.id)
        if len(handled) == 5:
            raise asyncio.CancelledError  # the process dies after the effect, before any commit

    dying = bus.consumer(bus.topics.group("index"), bus.topics.item_topics, archive_then_die)
    task = asyncio.create_task(dying.run())
    await asyncio.gather(task, return_exceptions=True)
    archived_before = await store.count()
    assert 1 <= archived_before <= 5

    second = Indexer(bus, store)
    consumer = second.consumer()
    task = asyncio.create_task(consumer.run())
    group = bus.topics.group("index")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await group_lag(bus.bootstrap_servers, group, bus.topics.item_topics) > 0:
        assert loop.time() < deadline, "the restarted indexer did not commit every item"
        await asyncio.sleep(0.1)
    consumer.stop()
    await task

    assert all(await store.has_items([i.id for i in items]))
    assert await store.count() == len(items)  # nothing lost, no duplicate index entries
    assert await store.count("business") == len(items)
    assert await store.count("models") == 4
    assert second.archived == len(items) - archived_before  # redelivered items changed nothing
    recent = await store.recent(topic="regulation")
    assert [i.title for i in recent] == ["Item 1", "Item 4", "Item 7", "Item 10"]
