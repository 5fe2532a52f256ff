from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.models import ClassifiedItem, Item
from bot.store import TTL, Store

NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)


def _item(n: int, topics: list[str], hours_ago: float = 0) -> ClassifiedItem:
    base = Item(url=f"https://example.com/{n}", title=f"Item {n}", source="ex",
                published=NOW - timedelta(hours=hours_ago))
    return ClassifiedItem.from_item(base, topics=topics)


async def test_archive_is_idempotent(store: Store) -> None:
    item = _item(1, ["models", "research"])
    assert await store.archive(item) is True
    assert await store.archive(item) is False
    assert await store.count() == 1
    assert await store.count("models") == 1 and await store.count("research") == 1
    assert await store.get_item(item.id) == item


async def test_recent_by_topic_and_window(store: Store) -> None:
    cases = [(["models"], 1), (["regulation"], 2), (["models", "safety"], 30), (["models"], 5)]
    for n, (topics, age) in enumerate(cases):
        await store.archive(_item(n, topics, age))
    assert [i.title for i in await store.recent(topic="models")] == ["Item 0", "Item 3", "Item 2"]
    window = await store.recent(since=NOW - timedelta(hours=24), until=NOW)
    assert [i.title for i in window] == ["Item 0", "Item 1", "Item 3"]
    assert [i.title for i in await store.recent(limit=2)] == ["Item 0", "Item 1"]
    assert [i.title for i in await store.recent(topic="safety")] == ["Item 2"]
    assert await store.recent(topic="robotics") == []


async def test_items_expire_and_keys_stay_under_the_prefix(store: Store, redis: Redis) -> None:
    item = _item(1, ["models"])
    await store.archive(item)
    ttl = await redis.ttl(store.keys.item(item.id))
    assert TTL.ITEM - 10 < ttl <= TTL.ITEM
    keys = {k.decode() async for k in redis.scan_iter(match=f"{store.keys.prefix}*")}
    assert keys == {store.keys.item(item.id), store.keys.items_by_time, store.keys.topic_by_time("models")}


async def test_invalid_stored_value_is_skipped(store: Store, redis: Redis) -> None:
    good = _item(1, ["models"])
    await store.archive(good)
    await redis.set(store.keys.item("broken"), b"{}")
    await redis.zadd(store.keys.items_by_time, {"broken": NOW.timestamp() + 10})
    assert [i.id for i in await store.recent()] == [good.id]


async def test_old_index_entries_are_trimmed(store: Store) -> None:
    await store.archive(_item(1, ["models"], hours_ago=24 * 200))
    await store.archive(_item(2, ["models"]))
    assert [i.title for i in await store.recent(topic="models")] == ["Item 2"]
