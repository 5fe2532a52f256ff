"""The Kafka bus: one table of topic names, a publisher, and consumers that commit only after the effect.

Consumers validate every message on receipt into the pydantic model of its topic. A message that does not
validate, or whose handler keeps failing, goes to the dead-letter topic with the error, and the consumer goes
on. Failures of the infrastructure itself (a broker or Redis that is briefly away) are retried with backoff
and never dead-lettered: the offset is simply not committed until the effect is done.

A broker can come back without its data (the embedded one keeps it in memory): the bus watches the broker, says once
when it is away and once when it is back, recreates the topics it had created, as configured, and its consumers
rejoin their groups and read the new topics from their start. ai-news's Kafka clients never let the broker create a
topic on its own (with the broker's default partitions) by asking for its metadata.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import aiokafka.client
import redis.exceptions
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    ConsumerStoppedError,
    CorruptRecordException,
    InvalidTimestampError,
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnsupportedForMessageFormatError,
    for_code,
)
from aiokafka.protocol.metadata import MetadataRequest
from pydantic import ValidationError

from bot.models import ALERT_MESSAGES, Alert, Briefing, ClassifiedItem, DeadLetter, FetchJob, HealthEvent, Message
from bot.outages import Availability, limit_library_repeats, watch
from bot.settings import ServiceError, Settings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
# A dead letter carries the start of the failed value, its key and the error, each bounded, so that it always fits
# in a Kafka message whatever it came from (KAFKA_MAX_MESSAGE_BYTES is at least 100 KB; escaped into JSON, control
# bytes take six times their size).
LETTER_VALUE_BYTES = 4096
LETTER_KEY_CHARS = 500
LETTER_ERROR_CHARS = 4000
# Room the producer keeps beyond KAFKA_MAX_MESSAGE_BYTES for the key, headers and batch framing: ai-news's own size
# check refuses a message first, with a clear error.
PRODUCER_OVERHEAD = 64 * 1024
# Kafka errors that are about the message itself: retrying cannot help. Every other Kafka error is the broker's
# (away, restarting, electing a leader, lost its topics) and retrying later does.
MESSAGE_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError, CorruptRecordException,
    InvalidTimestampError, UnsupportedForMessageFormatError,
)
# How long a commit may take before it is given up (its records are delivered again later, which changes nothing).
COMMIT_TIMEOUT = 10.0
WATCH_INTERVAL = 2.0
# How long the consumers may take to close their clients of the lost topics before these are recreated.
RELEASE_TIMEOUT = 15.0
# How long a stopping consumer waits to leave its group before it just closes its connections.
CLOSE_TIMEOUT = 2.0
# A record with this header is the bus's own (no message): consumers skip it. One goes to each partition of a
# recreated topic: a broker that took records for a topic it did not have (the embedded one does, between its restart
# and the topic's recreation) serves them only once a record is written after the topic exists.
CONTROL_HEADER = "ai-news-control"
TOPIC_RECREATED = b"topic-recreated"


class _NoAutoCreate(MetadataRequest):  # type: ignore[misc]
    """A metadata request that never asks the broker to create the topics it names (Kafka's consumer setting
    allow.auto.create.topics=false, which aiokafka does not offer). Without it, a broker that lost its topics
    recreates them with its own default partitions the moment a client asks about them; ai-news creates its topics
    itself, as configured."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = None) -> None:
        super().__init__(topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)


# Every aiokafka client of this process builds its metadata requests from this name.
aiokafka.client.MetadataRequest = _NoAutoCreate


class BusError(ServiceError):
    """The broker cannot be reached or refused an operation; the message says which and why."""


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help: the message goes straight to the dead-letter topic."""


class MessageTooLargeError(PermanentError):
    """A message is larger than KAFKA_MAX_MESSAGE_BYTES: it is not sent (producing) or not handled (consuming)."""


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
# Handles the valid messages of one fetched batch at once (one round trip for many, say): (message, record) pairs,
# each partition's in order.
BatchHandler = Callable[[list[tuple[Any, ConsumerRecord[bytes, bytes]]]], Awaitable[None]]


def is_transient(exc: BaseException) -> bool:
    """True for failures of the infrastructure that retrying later will fix: a broker or Redis that is away. Any
    Kafka error counts, whatever aiokafka calls it (a restarting broker answers `UnknownError`), except those about
    the message itself (`MESSAGE_ERRORS`)."""
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    return isinstance(exc, KafkaError) and not isinstance(exc, MESSAGE_ERRORS)


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help: the handler said so, or Kafka refused the message itself."""
    return isinstance(exc, (PermanentError, *MESSAGE_ERRORS))


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
        max_message_bytes: int = 1_000_000,
        watch_interval: float = WATCH_INTERVAL,
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
        self.max_message_bytes = max_message_bytes
        self.watch_interval = watch_interval
        self.availability = Availability(f"Kafka at {bootstrap_servers}")
        # Bumped each time the broker lost topics and they were recreated: consumers rejoin on a change.
        self.generation = 0
        self._producer: AIOKafkaProducer[bytes, bytes] | None = None
        self._created: set[str] = set()  # the topics this bus created or found: recreated if they vanish
        self._warned: set[str] = set()
        self._recovering = asyncio.Lock()
        self._topics_ready = asyncio.Event()
        self._topics_ready.set()
        self._on_lost: set[Callable[[], Awaitable[None]]] = set()
        self._watch_stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

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
            max_message_bytes=settings.kafka_max_message_bytes,
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
                max_request_size=self.max_message_bytes + PRODUCER_OVERHEAD,
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
            limit_library_repeats()
            self._watch_stop = asyncio.Event()
            self._watcher = asyncio.create_task(self._watch(), name="kafka watch")
            return

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watch_stop.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._watcher, 5)
            self._watcher = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    # --- the broker's health and its topics -------------------------------------------------------------------

    async def _watch(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._watch_stop.wait(), self.watch_interval)
        await watch(self.availability, self._metadata, self._watch_stop, self.watch_interval, self._check)

    async def _metadata(self) -> Any:
        return await self.producer.client.fetch_all_metadata()

    async def _check(self, cluster: Any) -> None:
        """Recreate the topics this bus had that the broker no longer has; warn once about a topic whose partitions
        differ from the configured number."""
        present = set(cluster.topics())
        for topic in sorted(self._created & present - self._warned):
            count = len(cluster.partitions_for_topic(topic) or ())
            if count != self.partitions:
                self._warned.add(topic)
                log.warning("Kafka topic %s has %d partitions, not the configured %d (KAFKA_PARTITIONS): it works, "
                            "but to have %d, delete it while the roles are stopped and start them again",
                            topic, count, self.partitions, self.partitions)
        missing = sorted(self._created - present)
        if missing:
            await self.recover_topics(missing, seen_at=self.generation)

    def on_topics_lost(self, callback: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """Await `callback` when the broker is found without topics, before they are recreated (a consumer closes
        its client then, so that no commit of an old topic can land on the new one); returns the function that
        removes it."""
        self._on_lost.add(callback)
        return lambda: self._on_lost.discard(callback)

    async def _mark_recreated(self, topics: Sequence[str]) -> None:
        """Write a control record to each partition of the recreated topics (see CONTROL_HEADER), retrying while the
        broker settles."""
        pending = [(topic, partition) for topic in topics for partition in range(self.partitions)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while pending:
            results = await asyncio.gather(*(self.producer.send_and_wait(
                topic, b"", partition=partition, headers=[(CONTROL_HEADER, TOPIC_RECREATED)])
                for topic, partition in pending), return_exceptions=True)
            pending = [where for where, result in zip(pending, results, strict=True) if isinstance(result, Exception)]
            if pending:
                if loop.time() > deadline:
                    log.warning("could not mark %d recreated partition(s) on Kafka at %s; records sent there "
                                "before may show only after the next message", len(pending), self.bootstrap_servers)
                    return
                await asyncio.sleep(0.5)

    async def topics_ready(self) -> None:
        """Return once no recovery of lost topics is under way (a consumer joins after the topics exist)."""
        await self._topics_ready.wait()

    async def check_topics(self) -> None:
        """Look at the broker's topics now (after a failed commit, say) rather than at the next watch."""
        try:
            cluster = await asyncio.wait_for(self._metadata(), 10)
        except Exception as exc:
            self.availability.failed(exc)
            return
        self.availability.answered()
        await self._check(cluster)

    async def recover_topics(self, missing: Sequence[str], seen_at: int | None = None) -> None:
        """Recreate `missing` topics (as configured), after the consumers released them. `seen_at`: the generation
        when they were found missing; if another recovery ran since, there is nothing left to do."""
        async with self._recovering:
            still = [t for t in missing if t in self._created]
            if not still or (seen_at is not None and seen_at != self.generation):
                return
            self.generation += 1
            self._topics_ready.clear()
            # Clients of the old topics are closed first: a commit still under way (aiokafka goes on sending one that
            # was given up) must not land on a new topic, where it would skip records.
            releases = asyncio.gather(*(callback() for callback in list(self._on_lost)), return_exceptions=True)
            try:
                await asyncio.wait_for(releases, RELEASE_TIMEOUT)
            except TimeoutError:
                log.warning("consumers did not release the lost topics within %.0fs; recreating them anyway",
                            RELEASE_TIMEOUT)
            try:
                created = await self.ensure_topics(still)
                await self._mark_recreated(still)
            finally:
                self._topics_ready.set()  # on failure, the next check tries again (and bumps the generation again)
            log.warning("Kafka at %s came back without %d topics of ai-news (the broker lost its data): recreated "
                        "them with %d partitions (%s); the consumer groups rejoin and read the new topics from the "
                        "start", self.bootstrap_servers, len(still), self.partitions,
                        ", ".join(created) if len(created) <= 4 else f"{', '.join(created[:3])}, ...")

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
            self._created.update(name for name in wanted if name in existing)
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
                self._created.add(name)
            elif code == TOPIC_ALREADY_EXISTS:
                self._created.add(name)
            else:
                message = topic_error[2] if len(topic_error) > 2 else None
                raise BusError(f"cannot create topic {name}: {for_code(code).__name__} {message or ''}".strip())
        if created:
            log.info("created topics %s (%d partitions)", ", ".join(created), self.partitions)
        return created

    async def delete_topics(self, names: Iterable[str] | None = None) -> None:
        """Delete topics (default: every topic of this prefix); for benchmarks that clean up after themselves. A
        broker that refuses is logged, not raised. The bus no longer recreates them if they are missing."""
        doomed = list(names) if names is not None else list(self.topics.all())
        self._created.difference_update(doomed)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id=self.client_id)
        try:
            await admin.start()
            await admin.delete_topics(doomed)
        except KafkaError as exc:
            log.warning("could not delete topics on %s: %s", self.bootstrap_servers, exc)
        finally:
            await admin.close()

    @property
    def producer(self) -> AIOKafkaProducer[bytes, bytes]:
        if self._producer is None:
            raise BusError("the bus is not started")
        return self._producer

    def encode(self, topic: str, message: Message, key: str | None = None) -> tuple[bytes, bytes]:
        """A message's value and key as sent; MessageTooLargeError if they exceed KAFKA_MAX_MESSAGE_BYTES."""
        value = message.to_bytes()
        raw_key = (key if key is not None else message.message_id).encode("utf-8")
        size = len(value) + len(raw_key)
        if size > self.max_message_bytes:
            raise MessageTooLargeError(
                f"{type(message).__name__} {message.message_id[:100]} is {size / 1e6:.1f} MB, over "
                f"KAFKA_MAX_MESSAGE_BYTES ({self.max_message_bytes / 1e6:.1f} MB): not sent to {topic}")
        return value, raw_key

    async def publish(self, topic: str, message: Message, key: str | None = None) -> None:
        """Send one message and wait until the broker has it. A message over KAFKA_MAX_MESSAGE_BYTES is refused
        here (MessageTooLargeError), never sent."""
        value, raw_key = self.encode(topic, message, key)
        await self.producer.send_and_wait(
            topic, value, key=raw_key, headers=[("message-type", type(message).__name__.encode("ascii"))])
        log.debug("published topic=%s id=%s", topic, message.message_id)

    async def publish_many(self, messages: Iterable[tuple[str, Message, str | None]]) -> int:
        """Send many messages, batched by the producer; returns how many the broker acknowledged. If any is over
        KAFKA_MAX_MESSAGE_BYTES, none is sent."""
        encoded = [(topic, type(message).__name__, *self.encode(topic, message, key))
                   for topic, message, key in messages]
        futures = []
        for topic, kind, value, raw_key in encoded:
            futures.append(await self.producer.send(
                topic, value, key=raw_key, headers=[("message-type", kind.encode("ascii"))]))
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
        batch_handler: BatchHandler | None = None,
    ) -> Consumer:
        return Consumer(
            self, group, topics, handler, auto_offset_reset=auto_offset_reset, max_records=max_records,
            batch_handler=batch_handler,
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
    """A member of a consumer group that validates, handles, then commits each batch.

    With a `batch_handler`, the valid messages of each fetched batch (every partition's records, each partition in
    order) are handled in one call and their offsets committed in one request; if it fails for any reason but an
    infrastructure that is away (then it is retried as a whole), the batch is handled again record by record with
    `handler`, so that only the record at fault is retried and dead-lettered."""

    def __init__(
        self,
        bus: Bus,
        group: str,
        topics: Sequence[str],
        handler: Handler,
        *,
        auto_offset_reset: str = "earliest",
        max_records: int = 100,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.bus = bus
        self.group = group
        self.topics = tuple(topics)
        self.models: Mapping[str, type[Message]] = {t: bus.topics.model_for(t) for t in self.topics}
        self.handler = handler
        self.batch_handler = batch_handler
        self.auto_offset_reset = auto_offset_reset
        self.max_records = max_records
        self.stats = ConsumerStats()
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopping: asyncio.Future[Any] | None = None
        self._committing: asyncio.Future[None] | None = None
        self._client: AIOKafkaConsumer[bytes, bytes] | None = None

    def stop(self) -> None:
        """Ask the consumer to finish the message in hand, commit, and leave the group."""
        self._stop.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until `stop()` is called or `stop` is set. A broker that cannot be reached yet is waited for; when
        the broker lost its topics (see `Bus.recover_topics`), the consumer rejoins its group on the new ones."""
        watcher = asyncio.create_task(self._watch(stop)) if stop is not None else None
        stopping = asyncio.ensure_future(self._stop.wait())
        forget = self.bus.on_topics_lost(self._release)
        failures = 0
        try:
            while not self._stop.is_set():
                generation = self.bus.generation
                if not await self._until(self.bus.topics_ready(), stopping):
                    return
                self._client = consumer = self._new_consumer()
                try:
                    if not await self._start(consumer, stopping):
                        return  # stopped while still connecting: nothing to consume
                    failures = 0
                    await self._consume(consumer, stopping, generation)
                except _Stopping:
                    return
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    failures += 1
                    delay = min(30.0, self.bus.retry_backoff * 2 ** min(failures - 1, 8))
                    log.warning("group=%s cannot consume yet (%s: %s); trying again in %.1fs", self.group,
                                type(exc).__name__, exc, delay)
                    with contextlib.suppress(_Stopping):
                        await self._sleep(delay)
                finally:
                    self._client = None
                    await self._close(consumer)
                if generation != self.bus.generation and not self._stop.is_set():
                    log.info("group=%s rejoining its group on the new topics", self.group)
        finally:
            forget()
            stopping.cancel()
            if watcher is not None:
                watcher.cancel()
            self.ready.clear()
            log.info("group=%s stopped (processed=%d dead-lettered=%d)",
                     self.group, self.stats.processed, self.stats.dead_lettered)

    async def _close(self, consumer: AIOKafkaConsumer[bytes, bytes]) -> None:
        """Leave the group and close the client. When stopping, the broker's answer to a group join under way
        (seconds on some brokers) is not waited for beyond CLOSE_TIMEOUT: nothing was assigned yet, so nothing is
        left to commit, and the group forgets the member after its session timeout."""
        closing = asyncio.ensure_future(consumer.stop())
        done, _ = await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT if self._stop.is_set() else None)
        if closing in done:
            closing.result()
            return
        closing.cancel()
        with contextlib.suppress(asyncio.CancelledError, KafkaError):
            await closing
        for part in (consumer._fetcher, consumer._client):  # what stop() would have closed after the group
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.close()
        log.info("group=%s stopped without waiting for the broker to finish its group join", self.group)

    def _new_consumer(self) -> AIOKafkaConsumer[bytes, bytes]:
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
        return consumer

    @staticmethod
    async def _until(waiting: Awaitable[None], stopping: asyncio.Future[Any]) -> bool:
        """Wait for `waiting`; False (and `waiting` abandoned) if asked to stop first."""
        task = asyncio.ensure_future(waiting)
        await asyncio.wait((task, stopping), return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

    async def _start(self, consumer: AIOKafkaConsumer[bytes, bytes], stopping: asyncio.Future[Any]) -> bool:
        """Connect and join; False if asked to stop first."""
        starting = asyncio.ensure_future(consumer.start())
        await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, KafkaError):
                await starting
            return False
        starting.result()
        if not self.ready.is_set():
            log.info("group=%s consuming %s", self.group, ", ".join(self.topics))
        self.ready.set()
        return True

    async def _consume(self, consumer: AIOKafkaConsumer[bytes, bytes], stopping: asyncio.Future[Any],
                       generation: int) -> None:
        self._stopping = stopping
        while not self._stop.is_set() and self.bus.generation == generation:
            # A fetch waits while the group (re)joins, which takes seconds: a stop does not wait for it.
            fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=500, max_records=self.max_records))
            await asyncio.wait((fetch, stopping), return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done() or self.bus.generation != generation:  # stopping, or the client was released
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConsumerStoppedError, KafkaError):
                    await fetch
                break
            batch = fetch.result()
            if self.batch_handler is not None and sum(map(len, batch.values())) > 1:
                try:
                    await self._process_batch(self.batch_handler, [r for records in batch.values() for r in records])
                except _Stopping:
                    break  # nothing committed: the batch comes again, and its effects are idempotent
                if self.bus.generation == generation:
                    await self._commit(consumer, {tp: records[-1].offset + 1 for tp, records in batch.items()
                                                  if records})
                continue
            for tp, records in batch.items():
                done = await self._process_partition(records)
                if done is not None and self.bus.generation == generation:
                    await self._commit(consumer, {tp: done})
                if self._stop.is_set():
                    break

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

    async def _commit(self, consumer: AIOKafkaConsumer[bytes, bytes], offsets: dict[TopicPartition, int]) -> None:
        """Commit the offsets (one request), or give them up: after COMMIT_TIMEOUT, when asked to stop, or when the
        broker is found without its topics (an offset of the old topic must not land on the new one). A commit given
        up only means that these records are delivered again one day, which changes nothing: effects are
        idempotent."""
        where = f"group={self.group} commit of " + ", ".join(
            f"{tp.topic}[{tp.partition}]@{offset}" for tp, offset in sorted(offsets.items()))
        self._committing = commit = asyncio.ensure_future(consumer.commit(offsets))
        try:
            waits = {commit, self._stopping} if self._stopping is not None else {commit}
            done, _ = await asyncio.wait(waits, timeout=COMMIT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if commit not in done and self._stop.is_set():  # stopping: the last commit still gets a moment
                done, _ = await asyncio.wait({commit}, timeout=2.0)
            if commit not in done:
                commit.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await commit
                if not self._stop.is_set():
                    log.warning("%s got no answer within %.0fs; checking the broker's topics", where, COMMIT_TIMEOUT)
                    await self.bus.check_topics()
                return
            if commit.cancelled():
                log.info("%s dropped: the broker lost that topic", where)
                return
            try:
                commit.result()
            except CommitFailedError as exc:
                # The partition moved to another member; it will redeliver, and effects are idempotent.
                log.warning("%s failed: %s", where, exc)
            except Exception as exc:
                log.warning("%s failed (%s: %s); the records will be delivered again", where, type(exc).__name__,
                            exc)
                if not self._stop.is_set():
                    await self.bus.check_topics()
            else:
                self.stats.commits += 1
        finally:
            self._committing = None

    async def _release(self) -> None:
        """The broker lost the topics: give up the commit under way and close the client, before they are
        recreated. The consume loop then starts a new client once they exist."""
        commit = self._committing
        if commit is not None and not commit.done():
            commit.cancel()
        if self._client is not None:
            await self._client.stop()

    def _where(self, record: ConsumerRecord[bytes, bytes]) -> str:
        key = _bounded_key(record.key) or "-"
        return f"topic={record.topic} partition={record.partition} offset={record.offset} group={self.group} id={key}"

    async def _process_batch(self, handle: BatchHandler, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        ready = []
        for record in records:
            message = await self._validated(record)
            if message is not None:
                ready.append((message, record))
        transient_failures = 0
        while ready:
            try:
                await handle(ready)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient(exc) and not is_permanent(exc):
                    transient_failures += 1
                    await self._wait_to_retry(transient_failures, exc, f"the batch of {len(ready)}: "
                                              f"{self._where(ready[0][1])} to {ready[-1][1].offset}")
                    continue
                log.warning("batch of %d failed, handling its records one by one: %s to %s: %s: %s", len(ready),
                            self._where(ready[0][1]), ready[-1][1].offset, type(exc).__name__, exc)
                for message, record in ready:
                    await self._handle(message, record)
                return
            self.stats.processed += len(ready)
            log.debug("handled a batch of %d: %s to %s", len(ready), self._where(ready[0][1]), ready[-1][1].offset)
            return

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        message = await self._validated(record)
        if message is not None:
            await self._handle(message, record)

    async def _validated(self, record: ConsumerRecord[bytes, bytes]) -> Message | None:
        """The record's message; None for the bus's own records, and for a record that is too large or does not
        validate (dead-lettered here)."""
        if any(name == CONTROL_HEADER for name, _ in record.headers or ()):
            return None  # the bus's own record, not a message
        model = self.models[record.topic]
        size = len(record.value or b"") + len(record.key or b"")
        if size > self.bus.max_message_bytes:
            too_large = MessageTooLargeError(
                f"a record of {size} bytes is over KAFKA_MAX_MESSAGE_BYTES ({self.bus.max_message_bytes}): "
                "not handled")
            log.warning("oversized %s message, dead-lettering: %s %s", model.__name__, self._where(record), too_large)
            await self._dead_letter(record, too_large, attempts=0)
            return None
        try:
            if record.value is None:
                raise ValueError("empty record value")
            return self.bus.topics.validate(record.topic, record.value)
        except (ValidationError, ValueError) as exc:
            log.warning("invalid %s message, dead-lettering: %s %s", model.__name__, self._where(record),
                        _one_line(exc))
            await self._dead_letter(record, exc, attempts=0)
            return None

    async def _handle(self, message: Message, record: ConsumerRecord[bytes, bytes]) -> None:
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
                    await self._wait_to_retry(transient_failures, exc, self._where(record))
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

    async def _wait_to_retry(self, failures: int, exc: Exception, what: str) -> None:
        """A dependency is away: wait the backoff of the `failures`-th failure in a row before trying `what` again
        (raises _Stopping if asked to stop meanwhile)."""
        self.stats.retried += 1
        delay = min(30.0, self.bus.retry_backoff * 2 ** min(failures - 1, 8))
        log.warning("dependency unavailable, retrying in %.1fs: %s %s: %s", delay, what, type(exc).__name__, exc)
        await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        except TimeoutError:
            return
        raise _Stopping

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int) -> None:
        """Send the record to the dead-letter topic: where it was, its key, the start of its value and the error,
        each bounded, so that this never fails for the size or the bytes of what failed. A broker that is away is
        waited for (with backoff, until the consumer stops: then the record stays uncommitted)."""
        value = record.value or b""
        excerpt, encoding = _excerpt(value[:LETTER_VALUE_BYTES])
        letter = DeadLetter(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self.group,
            key=_bounded_key(record.key),
            value=excerpt,
            value_encoding=encoding,
            value_bytes=len(value),
            value_truncated=len(value) > LETTER_VALUE_BYTES,
            error_type=type(exc).__name__,
            error=str(exc)[:LETTER_ERROR_CHARS],
            attempts=attempts,
            failed_at=datetime.now(UTC),
        )
        failures = 0
        while True:
            try:
                await self.bus.publish(self.bus.topics.dlq, letter, key=letter.key)
                break
            except Exception as error:
                if not is_transient(error):
                    raise
                failures += 1
                delay = min(30.0, self.bus.retry_backoff * 2 ** min(failures - 1, 8))
                log.warning("dead letter not sent yet (Kafka unavailable), retrying in %.1fs: %s %s: %s",
                            delay, self._where(record), type(error).__name__, error)
                await self._sleep(delay)
        self.stats.dead_lettered += 1


def _bounded_key(key: bytes | None) -> str | None:
    if key is None:
        return None
    text = key[:LETTER_KEY_CHARS * 4].decode("utf-8", "replace")
    return text if len(text) <= LETTER_KEY_CHARS else text[:LETTER_KEY_CHARS - 1] + "…"


def _excerpt(head: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """Bytes as UTF-8 text when they are (a character cut at the end of the excerpt is dropped), else base64."""
    try:
        return head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(head) - 3:
            with contextlib.suppress(UnicodeDecodeError):
                return head[:exc.start].decode("utf-8"), "utf-8"
    return base64.b64encode(head).decode("ascii"), "base64"


def _one_line(exc: BaseException) -> str:
    return " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
