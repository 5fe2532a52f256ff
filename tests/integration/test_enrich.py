"""Enrichment with stories shared through Redis, as several ingest workers see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.enrich import Enricher
from bot.models import Item
from bot.store import Store
from bot.stories import MemoryStoryIndex, RedisStoryIndex

T0 = datetime(2026, 4, 30, 8, tzinfo=UTC)


def _item(url: str, title: str, source: str, hours: float = 0, summary: str = "") -> Item:
    return Item(url=url, title=title, source=source, published=T0 + timedelta(hours=hours), summary=summary)


async def test_two_workers_share_stories_through_redis(enricher: Enricher, store: Store) -> None:
    worker_a = RedisStoryIndex(store.redis, store.keys.prefix)
    worker_b = RedisStoryIndex(store.redis, store.keys.prefix)
    (first,) = await enricher.classify_items(
        [_item("https://mistral.ai/news/pixtral-12b", "Mistral releases Pixtral 12B, its first multimodal model",
               "mistral")], worker_a, now=T0)
    (second, other) = await enricher.classify_items(
        [_item("https://www.theverge.com/pixtral", "Pixtral 12B: Mistral's open-weight vision-language model arrives",
               "the-verge", hours=5),
         _item("https://example.com/qwen", "Alibaba releases Qwen2.5-Max", "example", hours=6)],
        worker_b, now=T0 + timedelta(hours=6), source_weights={"the-verge": 1.2})
    assert second.story_id == first.story_id == first.id
    assert other.story_id == other.id
    assert second.entities.models == ("Pixtral 12B",) and "Mistral AI" in second.entities.organizations
    assert second.topics[0] == "models" and second.importance > 0
    keys = [k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}story:*")]
    assert len(keys) == 2
    ttl = await store.redis.ttl(keys[0])
    assert 72 * 3600 < ttl <= 73 * 3600


async def test_stories_expire_after_the_window(enricher: Enricher, store: Store) -> None:
    index = RedisStoryIndex(store.redis, store.keys.prefix)
    (first,) = await enricher.classify_items(
        [_item("https://a.example/1", "Anthropic raises $4 billion from Amazon", "a")], index, now=T0)
    (late,) = await enricher.classify_items(
        [_item("https://b.example/1", "Amazon invests another $4 billion in Anthropic", "b", hours=80)], index,
        now=T0 + timedelta(hours=80))
    assert late.story_id != first.story_id  # outside 72 hours: a new story


async def test_one_batch_through_redis_groups_as_in_memory_and_saves_at_the_end(enricher: Enricher,
                                                                              store: Store) -> None:
    items = [
        _item("https://mistral.ai/news/pixtral-12b", "Mistral releases Pixtral 12B, its first multimodal model",
              "mistral"),
        _item("https://example.com/qwen", "Alibaba releases Qwen2.5-Max", "example", hours=1),
        _item("https://www.theverge.com/pixtral", "Pixtral 12B: Mistral's open-weight vision-language model arrives",
              "the-verge", hours=2),
    ]
    index = RedisStoryIndex(store.redis, store.keys.prefix)
    through_redis = await enricher.classify_items(items, index, now=T0 + timedelta(hours=3))
    in_memory = await enricher.classify_items(items, MemoryStoryIndex(), now=T0 + timedelta(hours=3))
    assert [i.story_id for i in through_redis] == [i.story_id for i in in_memory]
    assert through_redis[2].story_id == through_redis[0].story_id != through_redis[1].story_id
    assert len([k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}story:*")]) == 2
    (later,) = await enricher.classify_items(
        [_item("https://b.example/pixtral", "Mistral's Pixtral 12B multimodal model released", "b", hours=4)],
        RedisStoryIndex(store.redis, store.keys.prefix), now=T0 + timedelta(hours=5))
    assert later.story_id == through_redis[0].story_id
