"""The ingest role (consumer group "ingest"): FetchJob in, new ClassifiedItems out.

fetch (conditional GET) -> parse off the event loop -> normalize -> dedupe (30 days, Redis) -> for new items with
no text of their own, the linked page's description (`pages.py`) -> enrich (topics, entities, importance, story) ->
publish to `ainews.items.<primary topic>`; then mark the items seen and record the source's health. The job is
committed only after all of that, so a crash repeats the poll, never skips it. A broken source is recorded in
its health (and, when it stays broken, disabled with a health event); it never stops the other sources.

The fetch jobs of one consumer batch (a poll of many sources) are fetched and parsed one after the other, then
their entries are looked up in the dedupe ledger at once and what was published is marked at once: two Redis round
trips for the batch, not two a source, with the same outcome as polling the sources one by one (an entry that an
earlier source of the batch published is not published again by a later one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from bot.bus import Bus, Consumer
from bot.enrich import Enricher
from bot.models import ClassifiedItem, FetchJob, HealthEvent, HealthStatus, Item, SourceKind
from bot.sources import Source, SourcesConfig, failure_reason
from bot.store import SourceState, Store
from bot.stories import StoryIndex
from workers.ingest.fetch import Fetcher, FetchError
from workers.ingest.formats import parse_document
from workers.ingest.pages import PageDescriber
from workers.ingest.parse import FeedError, ParsedFeed

log = logging.getLogger(__name__)

GROUP = "ingest"
# Consecutive failures after which a "failing" health event goes out (once per failing spell).
FAILING_EVENT_AFTER = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollRound:
    """The outcome of each source polled since the last summary: one log line a round instead of one per source."""

    started: float | None = None
    last: float = 0.0
    ok: int = 0
    failing: Counter[str] = field(default_factory=Counter)

    def note(self, outcome: IngestOutcome, now: float) -> None:
        if self.started is None:
            self.started = now
        self.last = now
        if outcome.error:
            self.failing[failure_reason(outcome.error)] += 1
        else:
            self.ok += 1

    def due(self, now: float, quiet: float = 5.0, longest: float = 60.0) -> bool:
        """A round ends when no source was polled for `quiet` seconds, or after `longest`."""
        return self.started is not None and (now - self.last >= quiet or now - self.started >= longest)

    def summary(self) -> str:
        failing = sum(self.failing.values())
        line = f"{self.ok + failing} sources polled: {self.ok} ok, {failing} failing"
        if failing:
            reasons = ", ".join(f"{reason} ({n})" for reason, n in self.failing.most_common())
            line += f": {reasons}; `ai-news sources` for details"
        return line


@dataclass
class _Fetched:
    """A source polled and parsed, its new entries still to be found, published and marked seen."""

    source: Source
    state: SourceState
    parsed: ParsedFeed
    etag: str | None
    last_modified: str | None
    describe: bool = True  # read linked pages for items without text (not for a local document)


@dataclass
class IngestOutcome:
    source_id: str
    new_items: list[ClassifiedItem] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None
    skipped: list[str] = field(default_factory=list)


class Ingestor:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        fetcher: Fetcher,
        enricher: Enricher,
        stories: StoryIndex,
        sources: SourcesConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        window: timedelta = timedelta(hours=24),
        disable_after: timedelta = timedelta(hours=48),
        describer: PageDescriber | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.fetcher = fetcher
        self.enricher = enricher
        self.stories = stories
        self.sources = sources
        self.round = PollRound()
        self.clock = clock
        self.window = window
        self.disable_after = disable_after
        self.describer = describer

    def consumer(self) -> Consumer:
        return self.bus.consumer(self.bus.topics.group(GROUP), [self.bus.topics.fetch], self.handle,
                                 batch_handler=self.handle_batch)

    async def handle(self, job: FetchJob, record: ConsumerRecord[bytes, bytes]) -> None:
        outcome = await self.ingest(job)
        self.round.note(outcome, time.monotonic())

    async def handle_batch(self, batch: list[tuple[FetchJob, ConsumerRecord[bytes, bytes]]]) -> None:
        for outcome in await self.ingest_many([(job, self.source_for(job)) for job, _ in batch]):
            self.round.note(outcome, time.monotonic())

    async def summarize(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Log one line per poll round (how many sources were polled, ok and failing, and why) until `stop`."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if self.round.due(time.monotonic()) or (stop.is_set() and self.round.started is not None):
                failing = sum(self.round.failing.values())
                (log.warning if failing else log.info)("%s", self.round.summary())
                self.round = PollRound()

    def source_for(self, job: FetchJob) -> Source:
        known = self.sources.get(job.source_id)
        if known is not None:
            return known
        return Source(id=job.source_id, name=job.source_id, kind=job.kind, url=job.url)

    async def ingest(self, job: FetchJob, source: Source | None = None) -> IngestOutcome:
        """Poll one source now."""
        return (await self.ingest_many([(job, source or self.source_for(job))]))[0]

    async def ingest_many(self, jobs: Sequence[tuple[FetchJob, Source]]) -> list[IngestOutcome]:
        """Poll sources one after the other; their new entries are looked up, and marked seen once published, in one
        round trip each for all of them. A source that comes twice is polled again after the earlier polls are
        finished (its state changes with each)."""
        outcomes: list[IngestOutcome | None] = []
        pending: list[tuple[int, _Fetched]] = []
        for job, source in jobs:
            if any(fetched.source.id == source.id for _, fetched in pending):
                await self._emit_many(pending, outcomes)
                pending = []
            polled = await self._poll(job, source)
            outcomes.append(polled if isinstance(polled, IngestOutcome) else None)
            if isinstance(polled, _Fetched):
                pending.append((len(outcomes) - 1, polled))
        await self._emit_many(pending, outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _poll(self, job: FetchJob, source: Source) -> IngestOutcome | _Fetched:
        """Fetch and parse one source: what is left to emit, or the outcome when there is nothing to emit."""
        state = await self.store.source_state(source.id)
        if state.disabled:
            log.info("source %s is disabled; skipping the fetch job (ai-news sources --enable %s)", source.id,
                     source.id)
            return IngestOutcome(source.id, error="disabled")
        try:
            result = await self.fetcher.fetch(job.url, etag=state.etag, last_modified=state.last_modified)
            if result.not_modified or result.body is None:
                await self._succeeded(source, state, [], result.etag, result.last_modified)
                log.info("source %s not modified (%.2fs)", source.id, result.elapsed)
                return IngestOutcome(source.id, not_modified=True)
            parsed = await self._parse(source, job.kind, result.body)
        except (FetchError, FeedError) as exc:
            message = str(exc) if str(exc).startswith(source.id) else f"{source.id}: {exc}"
            await self._failed(source, state, message)
            return IngestOutcome(source.id, error=message)
        return _Fetched(source, state, parsed, result.etag, result.last_modified)

    async def ingest_document(self, source: Source, data: bytes, kind: SourceKind) -> IngestOutcome:
        """Ingest a document already in hand (a local file): the same path without the fetch."""
        state = await self.store.source_state(source.id)
        try:
            parsed = await self._parse(source, kind, data)
        except FeedError as exc:
            await self._failed(source, state, str(exc))
            return IngestOutcome(source.id, error=str(exc))
        outcomes: list[IngestOutcome | None] = [None]
        await self._emit_many([(0, _Fetched(source, state, parsed, None, None, describe=False))], outcomes)
        assert outcomes[0] is not None
        return outcomes[0]

    async def _parse(self, source: Source, kind: SourceKind, data: bytes) -> ParsedFeed:
        return await asyncio.to_thread(
            parse_document, kind, data, source_id=source.id, source_name=source.name, now=self.clock(),
            min_points=source.min_points,
        )

    async def _emit_many(self, polls: Sequence[tuple[int, _Fetched]], outcomes: list[IngestOutcome | None]) -> None:
        """Publish the new entries of polled sources, in order, and mark them seen; each outcome goes to its index in
        `outcomes`. An entry is new when the ledger has not seen it and no earlier source here published it."""
        if not polls:
            return
        unseen = set(await self.store.unseen(
            list(dict.fromkeys(item.id for _, fetched in polls for item in fetched.parsed.items))))
        fresh = await self._describe([fetched for _, fetched in polls],
                                     [self._fresh(fetched, unseen) for _, fetched in polls])
        emitted: list[list[ClassifiedItem]] = []
        try:
            for (_, fetched), items in zip(polls, fresh, strict=True):
                emitted.append(await self._publish_new(fetched, [item for item in items if item.id in unseen]))
                unseen.difference_update(item.id for item in emitted[-1])
        finally:  # what went out is marked even when a later source fails (the batch is then handled job by job)
            await self.store.mark_seen(item.id for classified in emitted for item in classified)
        for (index, fetched), classified in zip(polls, emitted, strict=True):
            source, parsed = fetched.source, fetched.parsed
            await self._succeeded(source, fetched.state, classified, fetched.etag, fetched.last_modified)
            backfill = sum(item.backfill for item in classified)
            log.info("source %s: %d entries, %d new%s", source.id, len(parsed.items), len(classified),
                     f" ({backfill} backfill)" if backfill else "")
            outcomes[index] = IngestOutcome(source.id, new_items=classified, skipped=parsed.skipped)

    def _fresh(self, fetched: _Fetched, unseen: set[str]) -> list[Item]:
        """A polled source's entries that are in `unseen`; on its first poll, the older ones marked backfill."""
        fresh = [item for item in fetched.parsed.items if item.id in unseen]
        if fetched.state.polls == 0 and fetched.state.last_success is None:  # a first poll
            cutoff = self.clock() - self.window
            fresh = [item.model_copy(update={"backfill": True}) if item.published < cutoff else item
                     for item in fresh]
        return fresh

    async def _describe(self, polls: Sequence[_Fetched], fresh: list[list[Item]]) -> list[list[Item]]:
        """Each poll's new items, those of polls that read linked pages described by them, all pages at once."""
        wanted = [index for index, fetched in enumerate(polls) if fetched.describe and fresh[index]]  # in order
        if self.describer is None or not wanted:
            return fresh
        ids = list(dict.fromkeys(polls[index].source.id for index in wanted))
        label = ("source " if len(ids) == 1 else "sources ") + ", ".join(ids)
        described = {item.id: item for item in await self.describer.describe_items(
            [item for index in wanted for item in fresh[index]], label) if item.described}
        return [[described.get(item.id, item) for item in items] if index in wanted else items
                for index, items in enumerate(fresh)]

    async def _publish_new(self, fetched: _Fetched, fresh: list[Item]) -> list[ClassifiedItem]:
        """Enrich and publish a polled source's new entries; the published ones."""
        source = fetched.source
        classified = await self.enricher.classify_items(
            fresh, self.stories, now=self.clock, source_weights={source.id: source.weight},
            topic_hints={source.id: source.topics}, ai_only=[source.id] if source.ai_only else [],
        )
        if classified:
            await self.bus.publish_many(
                (self.bus.topics.items(item.primary_topic), item, item.story_id) for item in classified
            )
        return classified

    async def _succeeded(
        self, source: Source, state: SourceState, new: list[ClassifiedItem], etag: str | None,
        last_modified: str | None,
    ) -> None:
        now = self.clock()
        await self.store.update_source(source.id, {
            "etag": etag, "last_modified": last_modified, "polls": state.polls + 1, "failures": 0,
            "failing_since": None, "last_success": now, "last_new": len(new),
            "items_total": state.items_total + len(new),
        })
        if state.failures >= FAILING_EVENT_AFTER:
            log.warning("source %s works again after %d failures", source.id, state.failures)
            await self._health(source, "recovered", "", state.failing_since)

    async def _failed(self, source: Source, state: SourceState, error: str) -> None:
        now = self.clock()
        failures = state.failures + 1
        since = state.failing_since or now
        changes: dict[str, object] = {
            "polls": state.polls + 1, "failures": failures, "failing_since": since, "last_error": error,
            "last_error_at": now,
        }
        # Each failure is in the round's summary and `ai-news sources`; a source that keeps failing gets a warning
        # of its own when it crosses FAILING_EVENT_AFTER.
        log.debug("source %s failed (%d in a row, since %s): %s", source.id, failures, since.isoformat(), error)
        if failures == FAILING_EVENT_AFTER:
            log.warning("source %s keeps failing (%d in a row, since %s): %s", source.id, failures,
                        since.isoformat(), error)
        if now - since >= self.disable_after:
            changes.update(disabled=True, disabled_at=now)
            log.error("source %s disabled after failing for %s: %s", source.id, now - since, error)
        # The event goes out before the state is saved: a crash in between repeats it rather than loses it.
        if changes.get("disabled"):
            await self._health(source, "disabled", error, since)
        elif failures == FAILING_EVENT_AFTER:
            await self._health(source, "failing", error, since)
        await self.store.update_source(source.id, changes)

    async def _health(self, source: Source, status: HealthStatus, error: str, since: datetime | None) -> None:
        event = HealthEvent(source_id=source.id, source_name=source.name, status=status, error=error,
                            failing_since=since, at=self.clock())
        await self.bus.publish(self.bus.topics.health, event, key=source.id)
