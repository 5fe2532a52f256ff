"""The Kafka bus: one table of topic names, a publisher, and consumers that commit only after the effect.

Consumers validate every message on receipt into the pydantic model of its topic. A message that does not
validate, or whose handler keeps failing, goes to the dead-letter topic with the error, and the consumer goes
on. Failures of the infrastructure itself (a broker or Redis that is briefly away) are retried with backoff
and never dead-lettered: the offset is simply not committed until the effect is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.exceptions
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaConnectionError, KafkaError, for_code
from pydantic import ValidationError

from bot.models import ALERT_MESSAGES, Alert, Briefing, ClassifiedItem, DeadLetter, FetchJob, HealthEvent, Message
from bot.settings import ServiceError, Settings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


class BusError(ServiceError):
    """The broker cannot be reached or refused an operation; the message says which and why."""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message goes straight to the dead-letter topic."""


class TransientError(Exception):
    """Raised by a handler when a dependency is briefly away: retried with backoff, never dead-lettered."""


@dataclass(frozen=True)
class TopicTable:
    """Every Kafka topic name, in one place, derived from the prefix and the taxonomy."""

    prefix: str
    topic_slugs: tuple[str, ...]

    @property
    def fetch(self) -> str:
        return f"{self.prefix}.fetch"

    @property
    def briefings(self) -> str:
        return f"{self.prefix}.briefings"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def health(self) -> str:
        return f"{self.prefix}.health"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.dlq"

    def items(self, slug: str) -> str:
        return f"{self.prefix}.items.{slug}"

    @property
    def item_topics(self) -> tuple[str, ...]:
        return tuple(self.items(slug) for slug in self.topic_slugs)

    def all(self) -> tuple[str, ...]:
        return (self.fetch, *self.item_topics, self.briefings, self.alerts, self.health, self.dlq)

    def group(self, name: str) -> str:
        """Consumer group ids share the prefix, so two deployments on one cluster never share a group."""
        return f"{self.prefix}.{name}"

    def model_for(self, topic: str) -> type[Message]:
        """The message model that every record on this topic must validate as."""
        if topic == self.fetch:
            return FetchJob
        if topic in self.item_topics:
            return ClassifiedItem
        if topic == self.briefings:
            return Briefing
        if topic == self.alerts:
            return Alert
        if topic == self.health:
            return HealthEvent
        if topic == self.dlq:
            return DeadLetter
        raise KeyError(f"{topic!r} is not one of this deployment's topics")

    def validate(self, topic: str, value: bytes) -> Message:
        """A record's value as the message its topic carries (the alerts topic: an Alert or an AlertDigest);
        pydantic's ValidationError when it is not one."""
        if topic == self.alerts:
            return ALERT_MESSAGES.validate_json(value)
        return self.model_for(topic).model_validate_json(value)


Handler = Callable[[Any, ConsumerRecord[bytes, bytes]], Awaitable[None]]


def is_transient(exc: BaseException) -> bool:
    """True for failures of the infrastructure that retrying later will fix."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    return isinstance(exc, KafkaError) and bool(exc.retriable)


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, PermanentError) or (isinstance(exc, KafkaError) and not exc.retriable)


class Bus:
    """Publishes messages and makes consumers. One per process; `start` before use, `stop` at the end."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: TopicTable,
        *,
        client_id: str = "ai-news",
        partitions: int = 3,
        replication_factor: int = 1,
        connect_timeout: float = 30.0,
        max_attempts: int = 3,
        retry_backoff: float = 0.5,
        session_timeout_ms: int = 10_000,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.client_id = client_id
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.connect_timeout = connect_timeout
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.session_timeout_ms = session_timeout_ms
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._producer: AIOKafkaProducer[bytes, bytes] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, bootstrap_servers: str, topic_slugs: Sequence[str]) -> Bus:
        return cls(
            bootstrap_servers,
            TopicTable(settings.kafka_topic_prefix, tuple(topic_slugs)),
            client_id=settings.kafka_client_id,
            partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
            connect_timeout=settings.kafka_connect_timeout,
            max_attempts=settings.consumer_max_attempts,
            retry_backoff=settings.consumer_retry_backoff,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        )

    async def start(self) -> None:
        """Connect the producer, retrying until `connect_timeout` while the broker comes up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        while True:
            producer: AIOKafkaProducer[bytes, bytes] = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                acks="all",
                enable_idempotence=False,
                linger_ms=5,
            )
            try:
                await producer.start()
            except KafkaConnectionError as exc:
                await producer.stop()
                if loop.time() >= deadline:
                    raise BusError(
                        f"cannot reach Kafka at {self.bootstrap_servers} after {self.connect_timeout:.0f}s: {exc}"
                        " (check KAFKA_BOOTSTRAP_SERVERS, or unset it to use the embedded broker)"
                    ) from None
                log.info("waiting for Kafka at %s: %s", self.bootstrap_servers, exc)
                await asyncio.sleep(0.5)
                continue
            self._producer = producer
            log.info("connected to Kafka at %s", self.bootstrap_servers)
            return

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def ensure_topics(self, names: Iterable[str] | None = None) -> list[str]:
        """Create the topics that do not exist yet; returns the names created. Safe to race."""
        wanted = list(names) if names is not None else list(self.topics.all())
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id=self.client_id)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in wanted if name not in existing]
            if not missing:
                return []
            response = await admin.create_topics(
                [NewTopic(name, self.partitions, self.replication_factor) for name in missing]
            )
        except KafkaError as exc:
            raise BusError(f"cannot create topics on {self.bootstrap_servers}: {exc}") from exc
        finally:
            await admin.close()
        created = []
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                message = topic_error[2] if len(topic_error) > 2 else None
                raise BusError(f"cannot create topic {name}: {for_code(code).__name__} {message or ''}".strip())
        if created:
            log.info("created topics %s (%d partitions)", ", ".join(created), self.partitions)
        return created

    async def delete_topics(self, names: Iterable[str] | None = None) -> None:
        """Delete topics (default: every topic of this prefix); for benchmarks that clean up after themselves. A
        broker that refuses is logged, not raised."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id=self.client_id)
        try:
            await admin.start()
            await admin.delete_topics(list(names) if names is not None else list(self.topics.all()))
        except KafkaError as exc:
            log.warning("could not delete topics on %s: %s", self.bootstrap_servers, exc)
        finally:
            await admin.close()

    @property
    def producer(self) -> AIOKafkaProducer[bytes, bytes]:
        if self._producer is None:
            raise BusError("the bus is not started")
        return self._producer

    async def publish(self, topic: str, message: Message, key: str | None = None) -> None:
        """Send one message and wait until the broker has it."""
        await self.producer.send_and_wait(
            topic,
            message.to_bytes(),
            key=(key if key is not None else message.message_id).encode("utf-8"),
            headers=[("message-type", type(message).__name__.encode("ascii"))],
        )
        log.debug("published topic=%s id=%s", topic, message.message_id)

    async def publish_many(self, messages: Iterable[tuple[str, Message, str | None]]) -> int:
        """Send many messages, batched by the producer; returns how many the broker acknowledged."""
        futures = []
        for topic, message, key in messages:
            futures.append(
                await self.producer.send(
                    topic,
                    message.to_bytes(),
                    key=(key if key is not None else message.message_id).encode("utf-8"),
                    headers=[("message-type", type(message).__name__.encode("ascii"))],
                )
            )
        await asyncio.gather(*futures)
        return len(futures)

    def _reader(self) -> AIOKafkaConsumer[bytes, bytes]:
        """A consumer outside any group, for reading positions and records directly."""
        return AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, client_id=f"{self.client_id}-reader",
                                group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """The offset the next record of each partition of `topic` will get."""
        reader = self._reader()
        await reader.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
            if not partitions:
                await reader.force_metadata_update()
                partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
            ends = await reader.end_offsets(partitions)
            return {tp.partition: offset for tp, offset in ends.items()}
        finally:
            await reader.stop()

    async def find(self, topic: str, since: Mapping[int, int], match: Callable[[bytes], bool],
                   limit_seconds: float = 30.0) -> bytes | None:
        """The first record value on `topic` from the offsets `since` (partition -> offset; partitions not
        named are read from their start) up to the current end that `match` accepts; None if none does."""
        reader = self._reader()
        await reader.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
            ends = await reader.end_offsets(partitions)
            wanted = [tp for tp in partitions if ends[tp] > since.get(tp.partition, 0)]
            if not wanted:
                return None
            reader.assign(wanted)
            for tp in wanted:
                reader.seek(tp, since.get(tp.partition, 0))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + limit_seconds
            open_parts = set(wanted)
            while open_parts:
                if loop.time() > deadline:
                    raise BusError(f"reading {topic} to find a record timed out after {limit_seconds:.0f}s")
                batch = await reader.getmany(*open_parts, timeout_ms=500, max_records=500)
                for records in batch.values():
                    for record in records:
                        value: bytes | None = record.value
                        if value is not None and match(value):
                            return value
                for tp in list(open_parts):
                    if await reader.position(tp) >= ends[tp]:
                        open_parts.discard(tp)
            return None
        finally:
            await reader.stop()

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        *,
        auto_offset_reset: str = "earliest",
        max_records: int = 100,
    ) -> Consumer:
        return Consumer(
            self, group, topics, handler, auto_offset_reset=auto_offset_reset, max_records=max_records
        )


class _Stopping(Exception):
    """Shutdown was asked for while a message was still being retried: leave it uncommitted."""


@dataclass
class ConsumerStats:
    processed: int = 0
    dead_lettered: int = 0
    retried: int = 0
    commits: int = 0
    assigned: set[TopicPartition] = field(default_factory=set)


class _RebalanceLogger(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = set(revoked)
        self._consumer.stats.assigned -= revoked
        if revoked:
            log.info("group=%s revoked %s", self._consumer.group, _partitions(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        assigned = set(assigned)
        self._consumer.stats.assigned = assigned
        log.info("group=%s assigned %s", self._consumer.group, _partitions(assigned) or "nothing")


def _partitions(tps: Iterable[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps))


class Consumer:
    """A member of a consumer group that validates, handles, then commits each batch."""

    def __init__(
        self,
        bus: Bus,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        *,
        auto_offset_reset: str = "earliest",
        max_records: int = 100,
    ) -> None:
        self.bus = bus
        self.group = group
        self.topics = tuple(topics)
        self.models: Mapping[str, type[Message]] = {t: bus.topics.model_for(t) for t in self.topics}
        self.handler = handler
        self.auto_offset_reset = auto_offset_reset
        self.max_records = max_records
        self.stats = ConsumerStats()
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the consumer to finish the message in hand, commit, and leave the group."""
        self._stop.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until `stop()` is called or `stop` is set."""
        watcher = asyncio.create_task(self._watch(stop)) if stop is not None else None
        consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
            bootstrap_servers=self.bus.bootstrap_servers,
            group_id=self.group,
            client_id=f"{self.bus.client_id}-{self.group}",
            enable_auto_commit=False,
            auto_offset_reset=self.auto_offset_reset,
            session_timeout_ms=self.bus.session_timeout_ms,
            heartbeat_interval_ms=max(100, self.bus.session_timeout_ms // 5),
            # A broker answers a fetch as soon as records arrive, or after this long; the embedded one always waits
            # this long, so it bounds the latency of every hop there.
            fetch_max_wait_ms=self.bus.fetch_max_wait_ms,
        )
        consumer.subscribe(list(self.topics), listener=_RebalanceLogger(self))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            starting = asyncio.ensure_future(consumer.start())
            await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():  # stopped while still connecting: nothing to consume
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await starting
                return
            starting.result()
            self.ready.set()
            log.info("group=%s consuming %s", self.group, ", ".join(self.topics))
            while not self._stop.is_set():
                # A fetch waits while the group (re)joins, which takes seconds: a stop does not wait for it.
                fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=500, max_records=self.max_records))
                await asyncio.wait((fetch, stopping), return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await fetch
                    break
                batch = fetch.result()
                for tp, records in batch.items():
                    done = await self._process_partition(records)
                    if done is not None:
                        await self._commit(consumer, tp, done)
                    if self._stop.is_set():
                        break
        finally:
            stopping.cancel()
            if watcher is not None:
                watcher.cancel()
            await consumer.stop()
            log.info("group=%s stopped (processed=%d dead-lettered=%d)",
                     self.group, self.stats.processed, self.stats.dead_lettered)

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stop.set()

    async def _process_partition(self, records: list[ConsumerRecord[bytes, bytes]]) -> int | None:
        """Handle records in order; returns the offset to commit (last handled + 1), or None."""
        next_offset = None
        for record in records:
            try:
                await self._process(record)
            except _Stopping:
                break
            next_offset = record.offset + 1
            if self._stop.is_set():
                break
        return next_offset

    async def _commit(self, consumer: AIOKafkaConsumer[bytes, bytes], tp: TopicPartition, offset: int) -> None:
        try:
            await consumer.commit({tp: offset})
            self.stats.commits += 1
        except CommitFailedError as exc:
            # The partition moved to another member; it will redeliver, and effects are idempotent.
            log.warning("group=%s commit of %s[%d]@%d failed: %s", self.group, tp.topic, tp.partition, offset, exc)

    def _where(self, record: ConsumerRecord[bytes, bytes]) -> str:
        key = record.key.decode("utf-8", "replace") if record.key is not None else "-"
        return f"topic={record.topic} partition={record.partition} offset={record.offset} group={self.group} id={key}"

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        model = self.models[record.topic]
        try:
            if record.value is None:
                raise ValueError("empty record value")
            message = self.bus.topics.validate(record.topic, record.value)
        except (ValidationError, ValueError) as exc:
            log.warning("invalid %s message, dead-lettering: %s %s", model.__name__, self._where(record),
                        _one_line(exc))
            await self._dead_letter(record, exc, attempts=0)
            return
        attempts = 0
        transient_failures = 0
        while True:
            try:
                await self.handler(message, record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc) and not is_permanent(exc):
                    transient_failures += 1
                    self.stats.retried += 1
                    delay = min(30.0, self.bus.retry_backoff * 2 ** min(transient_failures - 1, 8))
                    log.warning("dependency unavailable, retrying in %.1fs: %s %s: %s",
                                delay, self._where(record), type(exc).__name__, exc)
                    await self._sleep(delay)
                    continue
                attempts += 1
                if is_permanent(exc) or attempts >= self.bus.max_attempts:
                    log.error("handler failed %d time(s), dead-lettering: %s %s: %s",
                              attempts, self._where(record), type(exc).__name__, exc,
                              exc_info=not isinstance(exc, PermanentError))
                    await self._dead_letter(record, exc, attempts=attempts)
                    return
                self.stats.retried += 1
                delay = self.bus.retry_backoff * 2 ** (attempts - 1)
                log.warning("handler failed (attempt %d of %d), retrying in %.1fs: %s %s: %s",
                            attempts, self.bus.max_attempts, delay, self._where(record), type(exc).__name__, exc)
                await self._sleep(delay)
            else:
                self.stats.processed += 1
                log.debug("handled %s", self._where(record))
                return

    async def _sleep(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        except TimeoutError:
            return
        raise _Stopping

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int) -> None:
        letter = DeadLetter(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            key=record.key.decode("utf-8", "replace") if record.key is not None else None,
            value=(record.value or b"").decode("utf-8", "replace"),
            error_type=type(exc).__name__,
            error=str(exc)[:10_000],
            attempts=attempts,
            failed_at=datetime.now(UTC),
        )
        await self.bus.publish(self.bus.topics.dlq, letter, key=letter.key)
        self.stats.dead_lettered += 1


def _one_line(exc: BaseException) -> str:
    return " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
