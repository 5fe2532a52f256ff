"""Poison and oversized messages, and Kafka's own errors, through the real broker: a message that fails on its own
merits goes to the dead-letter topic in a bounded excerpt and the consumer goes on; a failure of the broker is
retried until it is back, never dead-lettered."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, UnknownError

from bot.bus import Bus, MessageTooLargeError, is_transient
from bot.models import ClassifiedItem, DeadLetter, FetchJob, Item
from bot.store import Store
from tests.integration.conftest import eventually
from tests.integration.test_bus import _read_dlq
from workers.indexer import Indexer
from workers.ticks import every

pytestmark = pytest.mark.faults

NOW = datetime(2026, 4, 30, tzinfo=UTC)
# What a dead letter may weigh at most, whatever it carries (its excerpt, escaped, and the error).
LETTER_LIMIT = 64_000


def _item(n: int, **changes: Any) -> ClassifiedItem:
    item = Item(url=f"https://example.com/news/{n}", title=f"News {n}", source="example", published=NOW)
    return ClassifiedItem.from_item(item, topics=["models"]).model_copy(update=changes)


def _job(n: int) -> FetchJob:
    return FetchJob(source_id=f"source-{n}", url=f"https://example.com/{n}.xml", due_at=NOW)


async def _send_raw(bus: Bus, topic: str, values: list[tuple[bytes, bytes]], partition: int = 0) -> list[int]:
    """Send records as any producer could (up to 8 MB), bypassing ai-news's checks; returns their offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=bus.bootstrap_servers, max_request_size=8_000_000,
                                enable_idempotence=False, acks="all")
    await producer.start()
    try:
        offsets = []
        for key, value in values:
            sent = await producer.send_and_wait(topic, value, key=key, partition=partition)
            offsets.append(sent.offset)
        return offsets
    finally:
        await producer.stop()


async def _alive_until(task: asyncio.Task[None], condition: Any, what: str, limit: float = 60.0) -> None:
    """Wait for `condition` while the consumer keeps running (a consumer that died fails at once, with its error)."""
    def check() -> bool:
        if task.done():
            raise AssertionError(f"the consumer died: {task.exception()!r}")
        return bool(condition())

    await eventually(check, limit=limit, what=what)


async def test_huge_and_control_byte_messages_are_dead_lettered_in_excerpt_and_the_role_goes_on(
        bus: Bus, store: Store) -> None:
    topic = bus.topics.items("models")
    huge = json.dumps(_item(1).model_dump(mode="json") | {"summary": "y" * 5_000_000}).encode()  # 5 MB, valid JSON
    control = bytes(range(32)) * 8_000  # 256 KB of control bytes: about 1.5 MB once escaped into JSON
    invalid_utf8 = b"\xff\xfe" + b"\x80" * 300_000
    good = _item(2)
    offsets = await _send_raw(bus, topic, [(b"huge", huge), (b"control", control), (b"k" * 200_000, invalid_utf8),
                                           (good.id.encode(), good.to_bytes())])
    indexer = Indexer(bus, store)
    consumer = indexer.consumer()
    task = asyncio.create_task(consumer.run())
    try:
        await _alive_until(task, lambda: indexer.archived == 1, "the good item after the poison ones")
        await _alive_until(task, lambda: consumer.stats.dead_lettered == 3, "three dead letters")
    finally:
        consumer.stop()
        await task
    assert await store.has_items([good.id]) == [True] and await store.count() == 1
    letters = sorted(await _read_dlq(bus, 3), key=lambda letter: letter.offset)
    assert [letter.offset for letter in letters] == offsets[:3]
    assert all(letter.topic == topic and letter.partition == 0 for letter in letters)
    assert all(len(letter.to_bytes()) < LETTER_LIMIT for letter in letters), [len(x.to_bytes()) for x in letters]
    big, ctrl, binary = letters
    assert big.key == "huge" and big.value_bytes == len(huge) and big.error_type == "MessageTooLargeError"
    assert f"{len(huge) + 4} bytes is over KAFKA_MAX_MESSAGE_BYTES (1000000)" in big.error
    assert big.value.startswith('{"schema_version": 1') and big.value_truncated and len(big.value) == 4096
    assert ctrl.key == "control" and ctrl.value_bytes == len(control) and ctrl.value_truncated
    assert ctrl.value_encoding == "utf-8" and ctrl.value.startswith("\x00\x01\x02")
    assert binary.value_encoding == "base64" and base64.b64decode(binary.value) == invalid_utf8[:len(
        base64.b64decode(binary.value))]
    assert binary.key is not None and len(binary.key) < 2000 and binary.key.startswith("kkk")


async def test_an_oversized_message_is_refused_at_the_producer_with_a_clear_error(bus: Bus) -> None:
    topic = bus.topics.items("models")
    before = await bus.end_offsets(topic)
    too_big = _item(3, summary="z" * 19_000, authors=tuple(f"author {n}" * 50 for n in range(3000)))
    with pytest.raises(MessageTooLargeError, match=r"ClassifiedItem .* is [0-9.]+ MB, over KAFKA_MAX_MESSAGE_BYTES"):
        await bus.publish(topic, too_big)
    with pytest.raises(MessageTooLargeError):
        await bus.publish_many([(topic, _item(4), None), (topic, too_big, None)])
    assert await bus.end_offsets(topic) == before  # nothing was sent, not even the small one of the batch
    await bus.publish(topic, _item(5))  # the producer still works


async def test_kafka_errors_in_a_handler_are_retried_until_the_broker_is_back(bus: Bus) -> None:
    calls: dict[str, int] = {}

    async def handler(job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        calls[job.source_id] = calls.get(job.source_id, 0) + 1
        if job.source_id == "source-1" and calls["source-1"] <= bus.max_attempts + 1:
            raise UnknownError("[Error -1] while the broker restarts")  # aiokafka calls it not retriable
        if job.source_id == "source-2":
            raise MessageSizeTooLargeError("the message itself is too large")

    await bus.publish(bus.topics.fetch, _job(1), key="same")
    await bus.publish(bus.topics.fetch, _job(2), key="same")
    consumer = bus.consumer(bus.topics.group("ingest"), [bus.topics.fetch], handler)
    task = asyncio.create_task(consumer.run())
    try:
        await _alive_until(task, lambda: calls.get("source-2") == 1 and consumer.stats.dead_lettered == 1,
                           "the second job")
    finally:
        consumer.stop()
        await task
    assert calls["source-1"] == bus.max_attempts + 2 and consumer.stats.processed == 1
    [letter] = await _read_dlq(bus, 1)
    assert letter.key == "same" and letter.error_type == "MessageSizeTooLargeError"


async def test_a_dead_letter_that_cannot_be_sent_yet_is_retried_not_lost(bus: Bus,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    failures = {"left": 3}
    publish = bus.publish

    async def flaky(topic: str, message: Any, key: str | None = None) -> None:
        if topic == bus.topics.dlq and failures["left"]:
            failures["left"] -= 1
            raise KafkaConnectionError("the broker is away")
        await publish(topic, message, key)

    monkeypatch.setattr(bus, "publish", flaky)
    topic = bus.topics.items("models")
    await _send_raw(bus, topic, [(b"poison", b"{not json")])
    consumer = bus.consumer(bus.topics.group("index"), [topic], _never_called)
    task = asyncio.create_task(consumer.run())
    try:
        await _alive_until(task, lambda: consumer.stats.dead_lettered == 1, "the dead letter")
    finally:
        consumer.stop()
        await task
    assert failures["left"] == 0
    [letter] = await _read_dlq(bus, 1)
    assert letter.value == "{not json"


async def _never_called(message: Any, record: ConsumerRecord[bytes, bytes]) -> None:
    raise AssertionError("an invalid message reached the handler")


async def test_a_clock_driven_role_survives_any_broker_error(bus: Bus) -> None:
    assert is_transient(UnknownError("[Error -1]")) and is_transient(KafkaConnectionError("down"))
    assert not is_transient(MessageSizeTooLargeError("too large")) and not is_transient(ValueError("bug"))
    stop = asyncio.Event()
    steps: list[int] = []

    async def step() -> None:
        steps.append(1)
        if len(steps) == 3:
            stop.set()
        else:
            raise UnknownError("[Error -1]")

    await asyncio.wait_for(every(0.01, step, stop, "test tick"), 10)
    assert len(steps) == 3


def test_dead_letter_model_keeps_its_old_shape_readable() -> None:
    old = {"topic": "t", "partition": 0, "offset": 1, "group": "g", "key": None, "value": "x", "error_type": "E",
           "error": "e", "attempts": 0, "failed_at": NOW.isoformat()}
    letter = DeadLetter.model_validate(old)
    assert letter.value_bytes is None and letter.value_encoding == "utf-8" and not letter.value_truncated
