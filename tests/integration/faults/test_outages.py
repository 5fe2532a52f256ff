"""Outages as an operator meets them: Redis killed and back (the roles wait, say so once each way, lose nothing),
and a role that receives a poison or oversized message (it stays up, the partition goes on)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from bot.bus import Bus
from bot.embedded import EmbeddedRedis
from bot.models import ClassifiedItem, Item
from bot.settings import Settings
from bot.store import Keys, Store
from tests.integration.faults.conftest import AiNews
from tests.integration.test_bus import _read_dlq
from tests.integration.test_cli import services_env

pytestmark = pytest.mark.faults

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _items(first: int, count: int) -> list[ClassifiedItem]:
    return [ClassifiedItem.from_item(Item(url=f"https://example.com/o/{n}", title=f"Outage {n}", source="ex",
                                          published=NOW - timedelta(minutes=n)), topics=["regulation"])
            for n in range(first, first + count)]


class DurableRedis(EmbeddedRedis):
    """A Redis of the test's own that writes every command to its append-only file, so that killing it and starting
    it again is an outage, not a loss."""

    def _command(self, binary: str, port: int, workdir: str) -> list[str]:
        return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--dir", workdir]


@pytest.fixture
def own_redis() -> Iterator[DurableRedis]:
    with DurableRedis() as redis:
        yield redis


async def test_a_redis_outage_is_waited_out_said_once_each_way_and_loses_nothing(
        tmp_path: Path, settings: Settings, bus: Bus, own_redis: DurableRedis) -> None:
    env = services_env(tmp_path, settings.model_copy(update={"redis_url": own_redis.url}))
    role = AiNews(["run", "--role", "indexer"], env, tmp_path / "run.log")
    client = Redis.from_url(own_redis.url)
    store = Store(client, Keys(settings.redis_key_prefix))
    messages = [(bus.topics.items(i.primary_topic), i, i.story_id) for i in _items(0, 60)]
    try:
        role.start()
        await role.said("running roles:")
        await bus.publish_many(messages[:30])
        while await store.count() < 30:
            assert role.alive, role.text()[-2000:]
            await asyncio.sleep(0.1)
        own_redis.kill()
        await bus.publish_many(messages[30:])  # Kafka takes them; the indexer cannot archive them yet
        await role.said("is unreachable", limit=30)
        await asyncio.sleep(3)  # the outage lasts a while
        own_redis.respawn(wait=False)
        await asyncio.to_thread(own_redis.wait_ready)
        await role.said("is back after", limit=30)
        await client.aclose()
        client = Redis.from_url(own_redis.url)
        store = Store(client, Keys(settings.redis_key_prefix))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await store.count() < 60:
            assert role.alive and loop.time() < deadline, f"{await store.count()}: {role.text()[-2000:]}"
            await asyncio.sleep(0.1)
        assert role.stop() == 0
    finally:
        role.kill()
        await client.aclose()
    text = role.text()
    assert text.count("is unreachable") == 1 and text.count("is back after") == 1, text[-3000:]
    assert "Traceback" not in text and "dead-lettering" not in text
    assert await _read_dlq(bus, 1, limit=2) == []


async def test_a_role_fed_a_huge_message_stays_up_and_the_partition_goes_on(
        tmp_path: Path, settings: Settings, bus: Bus, store: Store) -> None:
    role = AiNews(["run", "--role", "indexer"], services_env(tmp_path, settings), tmp_path / "run.log")
    topic = bus.topics.items("regulation")
    good = _items(100, 1)[0]
    producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap_servers, max_request_size=8_000_000,
                                enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps({"title": "x" * 5_000_000}).encode(), key=b"huge",
                                     partition=0)
        await producer.send_and_wait(topic, bytes(range(32)) * 8_000, key=b"control", partition=0)
        await producer.send_and_wait(topic, good.to_bytes(), key=good.id.encode(), partition=0)
    finally:
        await producer.stop()
    try:
        for start in range(2):  # and again after a restart: nothing left to crash on
            role.start()
            await role.said("running roles:")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while await store.has_items([good.id]) != [True]:
                assert role.alive and loop.time() < deadline, role.text()[-2000:]
                await asyncio.sleep(0.1)
            assert role.alive
            assert role.stop() == 0
            if start == 0:
                letters = await _read_dlq(bus, 2)
                assert sorted(letter.key or "" for letter in letters) == ["control", "huge"]
                assert all(len(letter.to_bytes()) < 64_000 for letter in letters)
    finally:
        role.kill()
    assert "Traceback" not in role.text(this_start_only=False)
