"""The composer role: publishes each channel's daily Briefing to `ainews.briefings` at its local edition time.

One composer leads at a time (a Redis lock), so several can run for availability. Every tick the leader looks at
each edition in effect: when the channel's latest due edition (by its own clock and time zone, daylight saving
included) has not been published yet, it composes it from the archive and publishes it. After downtime that is
the missed edition, once; if a day or more was missed, only the latest.

Exactly once per channel and date: the edition id is claimed in Redis before publishing, with the briefings
topic's end offsets; the claim turns to "published" once the broker has the briefing. A claim found unfinished
(a composer died, or the broker failed, between claiming and confirming) is resolved by reading the topic from
those offsets: if the briefing is there it is only confirmed, otherwise it is published then.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.briefing.compose import BASELINE_DAYS, baseline_from, in_window
from bot.briefing.synthesis import Baseline
from bot.briefing.writer import BriefingRequest, BriefingWriter
from bot.editions import Edition
from bot.models import Briefing, ClassifiedItem, edition_id
from bot.store import EditionClaim, Store
from bot.taxonomy import Taxonomy

if TYPE_CHECKING:  # composing an edition (`ai-news post --dry-run`) needs no Kafka client
    from bot.bus import Bus

log = logging.getLogger(__name__)

LOCK = "composer"
PUBLISHED_KEPT = 100


@dataclass(frozen=True)
class Window:
    """What a briefing is composed from."""

    items: list[ClassifiedItem]
    baseline: Baseline | None


async def load_window(store: Store, taxonomy: Taxonomy, start: datetime, end: datetime) -> Window:
    """The archive's items of (start, end] and each topic's items per day over the 7 days before (or the days of
    them the archive holds)."""
    items = in_window(await store.recent(since=start, until=end), start, end)
    before = start - timedelta(days=BASELINE_DAYS)
    until = start + timedelta(microseconds=1)
    counts = await store.count_between(taxonomy.slugs, before, until)
    return Window(items, baseline_from(counts, await store.oldest_before(until), start))


async def compose_edition(store: Store, writer: BriefingWriter, edition: Edition, day: date,
                          include_backfill: bool = False) -> tuple[Briefing, Window]:
    """One channel's briefing for `day` from the archive (the window from the previous edition time to this one)."""
    start, end = edition.window(day)
    window = await load_window(store, writer.taxonomy, start, end)
    request = BriefingRequest(channel=edition.channel, day=day, timezone=edition.timezone, format=edition.format,
                              topics=edition.topics, include_backfill=include_backfill)
    return await writer.write(window.items, request, window.baseline), window


class Composer:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        taxonomy: Taxonomy,
        *,
        configured: Sequence[Edition] = (),
        writer: BriefingWriter | None = None,
        now: Callable[[], datetime] | None = None,
        tick_seconds: float = 20.0,
        lock_ttl: float = 30.0,
        owner: str | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.taxonomy = taxonomy
        self.configured = list(configured)
        self.writer = writer or BriefingWriter(taxonomy)
        self.now = now or (lambda: datetime.now(UTC))
        self.tick_seconds = tick_seconds
        self.lock_ttl = lock_ttl
        self.owner = owner or f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.published: deque[Briefing] = deque(maxlen=PUBLISHED_KEPT)  # the latest, for logs and tests

    async def run(self, stop: asyncio.Event) -> None:
        """Lead (or wait to lead) and publish due editions every tick until `stop` is set."""
        from workers.ticks import every

        editions = await self.store.sync_editions(self.configured)
        log.info("composer %s: %d edition(s) in effect", self.owner, len(editions))
        leading = False

        async def step() -> None:
            nonlocal leading
            held = await self.store.hold_lock(LOCK, self.owner, int(self.lock_ttl * 1000))
            if held != leading:
                log.info("composer %s %s", self.owner, "leads" if held else "follows")
                leading = held
            if held:
                await self.tick()

        try:
            await every(self.tick_seconds, step, stop, "composer tick")
        finally:
            if leading:
                await self.store.release_lock(LOCK, self.owner)

    async def tick(self) -> list[Briefing]:
        """Publish every edition that is due and not published yet; returns what was published."""
        now = self.now()
        published = []
        for edition in await self.store.editions():
            day, _ = edition.latest_due(now)
            last = await self.store.last_edition(edition.channel)
            if last is not None and last >= day.isoformat():
                continue
            try:
                briefing = await self.publish(edition, day)
            except Exception:
                # One channel's failure never holds up the others; its claim stays unfinished and is resolved
                # on the next tick.
                log.exception("edition of %s for %s failed; will retry", edition.channel, day)
                continue
            if briefing is not None:
                published.append(briefing)
        return published

    async def compose(self, edition: Edition, day: date) -> tuple[Briefing, Window]:
        return await compose_edition(self.store, self.writer, edition, day)

    async def publish(self, edition: Edition, day: date) -> Briefing | None:
        """Compose and publish one channel's edition for `day`, unless it was published already (then None)."""
        eid = edition_id(edition.channel, day)
        claim = await self.store.edition_claim(eid)
        if claim is not None and claim.state == "published":
            await self._confirm_recorded(eid, edition.channel)
            return None
        if claim is not None:
            found = await self._find_published(eid, claim.offsets)
            if found is not None:
                log.info("edition %s of %s for %s was already on %s; confirming", eid, edition.channel, day,
                         self.bus.topics.briefings)
                await self._finish(eid, claim, found)
                return None
            mine = EditionClaim(owner=self.owner, offsets=claim.offsets, at=self.now())
            if not await self.store.replace_edition_claim(eid, claim, mine):
                return None  # another composer moved it on meanwhile
            claim = mine
        else:
            offsets = await self.bus.end_offsets(self.bus.topics.briefings)
            claim = EditionClaim(owner=self.owner, offsets=offsets, at=self.now())
            if not await self.store.claim_edition(eid, claim):
                return None  # another composer has it
        briefing, window = await self.compose(edition, day)
        await self.bus.publish(self.bus.topics.briefings, briefing, key=edition.channel)
        await self._finish(eid, claim, briefing)
        log.info("published edition %s of %s for %s: %d items, %d sections", eid, edition.channel, day,
                 len(window.items), len(briefing.sections))
        self.published.append(briefing)
        return briefing

    async def _finish(self, eid: str, claim: EditionClaim, briefing: Briefing) -> None:
        # The channel's record first: once it is written, no tick looks at this edition again, even if the claim
        # is never marked (a crash right here).
        await self.store.record_published(briefing)
        done = claim.model_copy(update={"state": "published", "at": self.now()})
        await self.store.replace_edition_claim(eid, claim, done)

    async def _confirm_recorded(self, eid: str, channel: str) -> None:
        """A published claim whose channel record was not written (a crash in between): write it now."""
        latest = await self.store.latest_briefing(channel)
        if latest is None or latest.edition_id != eid:
            found = await self._find_published(eid, {})
            if found is not None:
                await self.store.record_published(found)

    async def _find_published(self, eid: str, since: Mapping[int, int]) -> Briefing | None:
        marker = eid.encode()

        def match(value: bytes) -> bool:
            if marker not in value:
                return False
            try:
                return Briefing.model_validate_json(value).edition_id == eid
            except ValidationError:
                return False

        raw = await self.bus.find(self.bus.topics.briefings, since, match)
        return Briefing.model_validate_json(raw) if raw is not None else None
