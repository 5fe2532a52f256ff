"""The scheduler role: emits a FetchJob for every source that is due, onto `ainews.fetch`.

One leader at a time through a Redis lock with expiry; every emitted job is also claimed by its deterministic
id, so even during a change of leader no job goes out twice. Each source's next due time is kept in Redis:
its interval with jitter, doubled for every consecutive failure (capped), so a broken source is asked less
and less often until ingest disables it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.bus import Bus
from bot.models import FetchJob
from bot.sources import Source, SourcesConfig
from bot.store import SourceState, Store
from workers.ticks import every

log = logging.getLogger(__name__)

LOCK = "scheduler"
MAX_BACKOFF_DOUBLINGS = 6
MAX_INTERVAL = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        sources: SourcesConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        tick_seconds: float = 5.0,
        jitter: float = 0.1,
        lock_ttl: float = 30.0,
        instance_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.sources = sources
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.jitter = jitter
        self.lock_ttl_ms = int(lock_ttl * 1000)
        self.instance_id = instance_id or uuid.uuid4().hex
        self.rng = rng or random.Random()
        self.leader = False

    def interval(self, source: Source, state: SourceState) -> timedelta:
        """The source's interval, doubled per consecutive failure (capped), with +/- jitter."""
        base = timedelta(minutes=source.interval_minutes)
        backed_off = min(base * (1 << min(state.failures, MAX_BACKOFF_DOUBLINGS)), max(base, MAX_INTERVAL))
        factor: float = 1 + self.rng.uniform(-self.jitter, self.jitter)
        return backed_off * factor

    async def tick(self) -> list[FetchJob]:
        """Emit the jobs that are due now; a follower emits nothing."""
        leader = await self.store.hold_lock(LOCK, self.instance_id, self.lock_ttl_ms)
        if leader != self.leader:
            log.info("scheduler %s is %s", self.instance_id[:8], "now the leader" if leader else "a follower")
            self.leader = leader
        if not leader:
            return []
        now = self.clock()
        active = [s for s in self.sources.enabled]
        states = await self.store.source_states([s.id for s in active])
        emitted = []
        for source in active:
            state = states[source.id]
            if state.disabled:
                continue
            due = state.next_due or now
            if due > now:
                continue
            job = FetchJob(source_id=source.id, url=source.url, kind=source.kind, due_at=due)
            if await self.store.claim_job(job.id):
                try:
                    await self.bus.publish(self.bus.topics.fetch, job, key=source.id)
                except BaseException:
                    await self.store.release_job(job.id)
                    raise
                emitted.append(job)
            await self.store.update_source(source.id, {"next_due": now + self.interval(source, state)})
        if emitted:
            log.info("emitted %d fetch job(s): %s", len(emitted), ", ".join(j.source_id for j in emitted))
        return emitted

    async def run(self, stop: asyncio.Event) -> None:
        log.info("scheduler %s started with %d enabled sources", self.instance_id[:8], len(self.sources.enabled))
        try:
            await every(self.tick_seconds, self.tick, stop, "scheduler tick")
        finally:
            with contextlib.suppress(Exception):
                await self.store.release_lock(LOCK, self.instance_id)
