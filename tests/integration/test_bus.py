"""The bus through the real Kafka-protocol broker: groups, commits, redelivery, dead letters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from bot.bus import Bus, PermanentError
from bot.models import ClassifiedItem, DeadLetter, FetchJob, Item
from tests.integration.conftest import eventually

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _job(n: int) -> FetchJob:
    return FetchJob(source_id=f"source-{n}", url=f"https://example.com/{n}.xml", due_at=NOW)


def _item(n: int) -> ClassifiedItem:
    item = Item(url=f"https://example.com/news/{n}", title=f"News {n}", source="example", published=NOW)
    return ClassifiedItem.from_item(item, topics=["models"])


async def _read_dlq(bus: Bus, count: int, limit: float = 30.0) -> list[DeadLetter]:
    consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bus.topics.dlq, bootstrap_servers=bus.bootstrap_servers, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while len(letters) < count and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                letters += [DeadLetter.model_validate_json(r.value) for r in records if r.value]
    finally:
        await consumer.stop()
    return letters


async def test_ensure_topics_creates_the_table_once(bus: Bus) -> None:
    assert await bus.ensure_topics() == []
    assert bus.topics.fetch.endswith(".fetch") and bus.topics.items("regulation").endswith(".items.regulation")
    assert len(bus.topics.item_topics) == 9


async def test_round_trip_through_a_group_with_commit_and_restart(bus: Bus) -> None:
    seen: list[FetchJob] = []

    async def handler(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        seen.append(job)

    for n in range(5):
        await bus.publish(bus.topics.fetch, _job(n), key=f"source-{n}")
    consumer = bus.consumer(bus.topics.group("ingest"), [bus.topics.fetch], handler)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: len(seen) == 5, what="five jobs")
    assert {j.source_id for j in seen} == {f"source-{n}" for n in range(5)}
    assert all(isinstance(j, FetchJob) for j in seen)
    consumer.stop()
    await task
    assert consumer.stats.commits >= 1

    # A new member of the same group starts after the committed offsets: only the new job arrives.
    await bus.publish(bus.topics.fetch, _job(99))
    restarted = bus.consumer(bus.topics.group("ingest"), [bus.topics.fetch], handler)
    task = asyncio.create_task(restarted.run())
    await eventually(lambda: len(seen) == 6, what="the new job")
    await asyncio.sleep(0.5)
    restarted.stop()
    await task
    assert [j.source_id for j in seen[5:]] == ["source-99"]


async def test_consumer_that_dies_before_commit_gets_the_message_again(bus: Bus) -> None:
    first: list[str] = []
    second: list[str] = []

    async def dies(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        first.append(job.source_id)
        await asyncio.Event().wait()  # the process "hangs" here and is killed: no commit happens

    await bus.publish(bus.topics.fetch, _job(1))
    group = bus.topics.group("ingest")
    dying = bus.consumer(group, [bus.topics.fetch], dies)
    task = asyncio.create_task(dying.run())
    await eventually(lambda: first == ["source-1"], what="the first delivery")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert dying.stats.commits == 0

    async def works(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        second.append(job.source_id)

    survivor = bus.consumer(group, [bus.topics.fetch], works)
    task = asyncio.create_task(survivor.run())
    await eventually(lambda: second == ["source-1"], what="redelivery")
    survivor.stop()
    await task


async def test_poison_message_is_dead_lettered_and_the_next_is_processed(bus: Bus) -> None:
    handled: list[str] = []

    async def handler(item: ClassifiedItem, record: ConsumerRecord[bytes, bytes]) -> None:
        handled.append(item.id)

    topic = bus.topics.items("models")
    partition = 0
    await bus.producer.send_and_wait(topic, b"{not json", key=b"poison", partition=partition)
    await bus.producer.send_and_wait(topic, b'{"title": "no url"}', key=b"invalid", partition=partition)
    good = _item(1)
    await bus.producer.send_and_wait(topic, good.to_bytes(), key=good.id.encode(), partition=partition)
    consumer = bus.consumer(bus.topics.group("index"), [topic], handler)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: handled == [good.id], what="the good item")
    consumer.stop()
    await task
    letters = sorted(await _read_dlq(bus, 2), key=lambda letter: letter.offset)
    assert [letter.key for letter in letters] == ["poison", "invalid"]
    assert letters[0].value == "{not json" and letters[0].error_type == "ValidationError"
    assert "url" in letters[1].error and letters[1].attempts == 0
    assert letters[0].topic == topic and letters[0].group == bus.topics.group("index")
    assert consumer.stats.dead_lettered == 2 and consumer.stats.processed == 1


async def test_handler_failing_n_times_is_dead_lettered(bus: Bus) -> None:
    calls: dict[str, int] = {}

    async def handler(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        calls[job.source_id] = calls.get(job.source_id, 0) + 1
        if job.source_id == "source-1":
            raise ValueError("cannot handle this one")
        if job.source_id == "source-3":
            raise PermanentError("never retry this one")

    for n in (1, 2, 3):
        await bus.publish(bus.topics.fetch, _job(n), key="same-partition")
    consumer = bus.consumer(bus.topics.group("ingest"), [bus.topics.fetch], handler)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: "source-3" in calls, what="the third job")
    consumer.stop()
    await task
    assert calls == {"source-1": bus.max_attempts, "source-2": 1, "source-3": 1}
    letters = {letter.error: letter for letter in await _read_dlq(bus, 2)}
    assert letters["cannot handle this one"].attempts == bus.max_attempts
    assert letters["never retry this one"].attempts == 1
    assert letters["cannot handle this one"].error_type == "ValueError"


async def test_transient_failures_are_retried_not_dead_lettered(bus: Bus) -> None:
    attempts: list[int] = []

    async def handler(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        attempts.append(1)
        if len(attempts) <= bus.max_attempts + 1:  # more failures than max_attempts: still not dead-lettered
            raise ConnectionError("redis is restarting")

    await bus.publish(bus.topics.fetch, _job(7))
    consumer = bus.consumer(bus.topics.group("ingest"), [bus.topics.fetch], handler)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: consumer.stats.processed == 1, what="success after retries")
    consumer.stop()
    await task
    assert consumer.stats.dead_lettered == 0 and len(attempts) == bus.max_attempts + 2


async def test_stop_during_retry_leaves_the_message_uncommitted(bus: Bus) -> None:
    calls: list[Any] = []

    async def failing(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        calls.append(job)
        raise ConnectionError("down")

    await bus.publish(bus.topics.fetch, _job(8))
    group = bus.topics.group("ingest")
    consumer = bus.consumer(group, [bus.topics.fetch], failing)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: len(calls) >= 1, what="a first attempt")
    consumer.stop()
    await task
    assert consumer.stats.commits == 0

    received: list[str] = []

    async def works(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        received.append(job.source_id)

    again = bus.consumer(group, [bus.topics.fetch], works)
    task = asyncio.create_task(again.run())
    await eventually(lambda: received == ["source-8"], what="the retried job after restart")
    again.stop()
    await task


async def test_batch_handler_takes_a_partitions_batch_and_falls_back_to_records_on_failure(bus: Bus) -> None:
    batches: list[list[str]] = []
    one_by_one: list[str] = []
    topic = bus.topics.items("models")
    items = [_item(n) for n in range(6)]

    async def handle(item: ClassifiedItem, record: ConsumerRecord[bytes, bytes]) -> None:
        if item.id == items[4].id:
            raise PermanentError("this one is broken")
        one_by_one.append(item.id)

    async def handle_batch(batch: list[tuple[ClassifiedItem, ConsumerRecord[bytes, bytes]]]) -> None:
        ids = [item.id for item, _ in batch]
        batches.append(ids)
        if items[4].id in ids:
            raise ValueError("one of the batch is broken")

    await bus.producer.send_and_wait(topic, b"{not json", key=b"poison", partition=0)
    await bus.publish_many((topic, item, "same-partition") for item in items[:3])
    consumer = bus.consumer(bus.topics.group("index"), [topic], handle, batch_handler=handle_batch)
    task = asyncio.create_task(consumer.run())
    await eventually(lambda: consumer.stats.processed == 3, what="the first batch")
    await bus.publish_many((topic, item, "same-partition") for item in items[3:])
    await eventually(lambda: consumer.stats.processed + consumer.stats.dead_lettered == 6 + 1, what="the second")
    consumer.stop()
    await task
    handled = [i for batch in batches for i in batch]
    assert sorted(handled) == sorted(i.id for i in items) and all(len(batch) > 1 for batch in batches)
    assert sorted(one_by_one) == sorted(i.id for i in (items[3], items[5]))  # only the failed batch, one by one
    letters = {(letter.key, letter.error) for letter in await _read_dlq(bus, 2)}
    assert ("same-partition", "this one is broken") in letters and "poison" in {key for key, _ in letters}
