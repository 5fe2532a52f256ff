from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.alerts import QuietHours, Subscription
from bot.editions import Edition
from bot.models import Briefing, ClassifiedItem, Item
from bot.store import TTL, EditionClaim, Store

NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)


def _item(n: int, topics: list[str], hours_ago: float = 0, title: str = "", summary: str = "") -> ClassifiedItem:
    base = Item(url=f"https://example.com/{n}", title=title or f"Item {n}", source="ex", summary=summary,
                published=NOW - timedelta(hours=hours_ago))
    return ClassifiedItem.from_item(base, topics=topics)


async def test_archive_is_idempotent(store: Store) -> None:
    item = _item(1, ["models", "research"])
    assert await store.archive(item) is True
    assert await store.archive(item) is False
    assert await store.count() == 1
    assert await store.count("models") == 1 and await store.count("research") == 1
    assert await store.get_item(item.id) == item


async def test_items_not_about_ai_are_archived_and_found_but_in_no_topic(store: Store) -> None:
    golf = _item(1, ["research"], title="I mapped every golf course").model_copy(update={"about_ai": False})
    model = _item(2, ["research"], title="A new golf swing model").model_copy(update={"about_ai": True})
    for item in (golf, model):
        await store.archive(item)
    assert await store.count() == 2 and await store.count("research") == 1
    assert [i.title for i in await store.recent(topic="research")] == ["A new golf swing model"]
    assert {i.title for i in await store.search("golf")} == {golf.title, model.title}
    assert await store.count_between(["research"], NOW - timedelta(days=1), NOW + timedelta(seconds=1)) == {
        "research": 1}


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
    # How far back the archive reaches, before a given time.
    assert await store.oldest_before(NOW) == NOW - timedelta(hours=30)
    assert await store.oldest_before(NOW - timedelta(hours=30)) is None


async def test_items_expire_and_keys_stay_under_the_prefix(store: Store, redis: Redis) -> None:
    item = _item(1, ["models"])
    await store.archive(item)
    ttl = await redis.ttl(store.keys.item(item.id))
    assert TTL.ITEM - 10 < ttl <= TTL.ITEM
    keys = {k.decode() async for k in redis.scan_iter(match=f"{store.keys.prefix}*")}
    words = {store.keys.word(w) for w in ("item", "1")}
    assert keys == {store.keys.item(item.id), store.keys.items_by_time, store.keys.topic_by_time("models"), *words}
    for word in words:
        assert TTL.ITEM - 10 < await redis.ttl(word) <= TTL.ITEM


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


async def test_search_finds_every_word_newest_first(store: Store) -> None:
    await store.archive(_item(1, ["regulation"], 5, "EU AI Act obligations start", "General-purpose models first."))
    await store.archive(_item(2, ["regulation"], 1, "California signs SB 53", "Frontier AI developers must report."))
    await store.archive(_item(3, ["models"], 2, "OpenAI releases GPT-4o", "Robots and agents get a new model."))
    await store.archive(_item(4, ["robotics"], 3, "Humanoid robot startups raise", "Figure's robots lead."))
    assert [i.title for i in await store.search("robots")] == ["OpenAI releases GPT-4o",
                                                              "Humanoid robot startups raise"]
    assert [i.title for i in await store.search("Robot startups")] == ["Humanoid robot startups raise"]
    assert [i.title for i in await store.search("gpt-4o")] == ["OpenAI releases GPT-4o"]
    assert [i.title for i in await store.search("GPT")] == ["OpenAI releases GPT-4o"]
    assert await store.search("the and of") == [] and await store.search("quantum robots") == []
    assert [i.title for i in await store.search("models", since=NOW - timedelta(hours=4))] == ["OpenAI releases GPT-4o"]
    assert len(await store.search("ai", limit=1)) == 1
    leftovers = [k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}tmp:*")]
    assert leftovers == []


async def test_counts_between(store: Store) -> None:
    for n, (topics, age) in enumerate([(["models"], 1), (["models", "safety"], 30), (["safety"], 50)]):
        await store.archive(_item(n, topics, age))
    counts = await store.count_between(["models", "safety", "tools"], NOW - timedelta(hours=48), NOW)
    assert counts == {"models": 2, "safety": 1, "tools": 0}


async def test_editions_sync_keeps_chat_settings(store: Store) -> None:
    await store.put_edition(Edition(channel="slack:C1", time="07:00", origin="chat"))
    await store.put_edition(Edition(channel="slack:OLD", time="07:00"))
    merged = await store.sync_editions([Edition(channel="slack:C1", time="08:00"), Edition(channel="slack:C2")])
    assert [(e.channel, e.time, e.origin) for e in merged] == [("slack:C1", "07:00", "chat"),
                                                               ("slack:C2", "08:00", "config")]
    assert await store.editions() == merged
    assert await store.delete_edition("slack:C2") and await store.edition("slack:C2") is None
    await store.redis.hset(store.keys.editions, "slack:BAD", "{not json")
    assert [e.channel for e in await store.editions()] == ["slack:C1"]


async def test_edition_claims_and_the_latest_briefing(store: Store) -> None:
    first = EditionClaim(owner="a", offsets={0: 3})
    assert await store.claim_edition("e1", first) is True
    assert await store.claim_edition("e1", EditionClaim(owner="b")) is False
    assert await store.edition_claim("e1") == first
    taken = EditionClaim(owner="b", offsets={0: 3})
    assert await store.replace_edition_claim("e1", first, taken) is True
    assert await store.replace_edition_claim("e1", first, EditionClaim(owner="c")) is False  # moved on
    assert await store.edition_claim("e1") == taken
    day = Briefing(channel="slack:C1", date=NOW.date(), title="Today")
    await store.record_published(day)
    await store.record_published(Briefing(channel="slack:C1", date=(NOW - timedelta(days=1)).date(), title="Old"))
    assert await store.last_edition("slack:C1") == NOW.date().isoformat()
    assert await store.latest_briefing("slack:C1") == day


async def test_subscriptions_both_ways(store: Store) -> None:
    assert await store.subscribe("slack:C1", "robotics", 0.5) is True
    assert await store.subscribe("slack:C1", "robotics", 0.7) is False  # a new threshold, same subscription
    await store.subscribe("discord:9", "robotics", 0.0)
    await store.subscribe("slack:C1", "safety", 0.3)
    assert await store.subscriptions("slack:C1") == {"robotics": 0.7, "safety": 0.3}
    assert await store.subscribers("robotics") == {"discord:9": 0.0, "slack:C1": 0.7}
    assert await store.subscribed_channels() == ["discord:9", "slack:C1"]
    assert await store.unsubscribe("slack:C1", "robotics") is True
    assert await store.unsubscribe("slack:C1", "robotics") is False
    await store.unsubscribe("discord:9", "robotics")
    assert await store.subscribed_channels() == ["slack:C1"]


async def test_follows_quiet_hours_and_the_version_the_alerter_watches(store: Store) -> None:
    assert await store.subscriptions_version() == 0
    await store.subscribe("slack:C1", "robotics", 0.6)
    assert await store.put_subscription("slack:C1", Subscription(kind="organization", name="Google DeepMind",
                                                                 min_importance=0.5)) is True
    assert await store.put_subscription("slack:C1", Subscription(kind="law", name="SB 53", min_importance=0.7))
    await store.set_quiet_hours("slack:C1", QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin"))
    await store.subscribe("discord:9", "safety", 0.2)
    assert await store.subscriptions_version() == 5
    assert [s.describe() for s in await store.channel_subscriptions("slack:C1")] == [
        "robotics", "SB 53 (law)", "Google DeepMind (organization)"]
    version, rules = await store.alert_rules()
    assert version == 5 and [r.channel for r in rules] == ["discord:9", "slack:C1"]
    assert rules[1].quiet == QuietHours(start="22:00", end="07:00", timezone="Europe/Berlin") and rules[0].quiet is None
    assert await store.unsubscribe("slack:C1", "organization:Google DeepMind") is True
    await store.set_quiet_hours("slack:C1", None)
    assert await store.quiet_hours("slack:C1") is None and await store.subscriptions_version() == 7
    await store.redis.hset(store.keys.channel_subscriptions("slack:C1"), "robotics", "lots")  # damaged by hand
    await store.redis.set(store.keys.quiet_hours("slack:C1"), "{")
    _, rules = await store.alert_rules()
    assert [s.describe() for s in rules[1].subscriptions] == ["SB 53 (law)"] and rules[1].quiet is None


async def test_archive_many_is_archive_of_each_in_one_round_trip(store: Store) -> None:
    items = [_item(1, ["models", "research"], 1, "OpenAI releases GPT-4o"), _item(2, ["regulation"], 2, "EU AI Act"),
             _item(3, ["models"], 24 * 200, "An old model")]
    assert await store.archive(items[1]) is True
    assert await store.archive_many([*items, items[0]]) == 2  # the second is archived already; the first twice
    assert await store.count() == 2  # the old one was trimmed off the indexes, as archive of each in turn does
    assert await store.count("models") == 1 and await store.count("research") == 1
    assert await store.count("regulation") == 1
    assert [i.title for i in await store.search("gpt-4o")] == ["OpenAI releases GPT-4o"]
    assert await store.get_item(items[2].id) == items[2]
    assert await store.archive_many([]) == 0 and await store.archive_many(items) == 0


async def test_archive_many_indexes_a_large_batch_in_full(store: Store) -> None:
    # More entries in one index than the script hands to one ZADD (500 members).
    items = [_item(n, ["models"] if n % 3 else ["tools"], n / 100, f"Shared headline number {n}") for n in range(1200)]
    assert await store.archive_many(items) == 1200
    assert await store.count() == 1200
    assert await store.count("models") == 800 and await store.count("tools") == 400
    assert await store.redis.zcard(store.keys.word("shared")) == 1200
    assert await store.redis.zscore(store.keys.word("headline"), items[7].id) == items[7].published.timestamp()
    assert 0 < await store.redis.ttl(store.keys.word("shared")) <= TTL.ITEM
