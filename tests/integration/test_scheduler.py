"""The scheduler: due times, jitter and backoff, one leader, never a job twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.bus import Bus
from bot.sources import Source, SourcesConfig
from bot.store import SourceState, Store
from tests.integration.test_ingest import Clock
from workers.scheduler import Scheduler


def _sources(n: int = 3) -> SourcesConfig:
    polled = [Source(id=f"s{i}", name=f"S{i}", url=f"https://example.com/{i}.xml", interval_minutes=15 * (i + 1))
              for i in range(n)]
    off = Source(id="off", name="Off", url="https://example.com/off.xml", enabled=False)
    return SourcesConfig(sources=(*polled, off))


def _scheduler(bus: Bus, store: Store, clock: Clock, name: str, jitter: float = 0.1) -> Scheduler:
    return Scheduler(bus, store, _sources(), clock=clock, instance_id=name, rng=random.Random(7), jitter=jitter,
                     lock_ttl=5)


async def test_due_sources_are_emitted_once_per_interval(bus: Bus, store: Store) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    scheduler = _scheduler(bus, store, clock, "a")
    first = await scheduler.tick()
    assert sorted(j.source_id for j in first) == ["s0", "s1", "s2"]  # disabled-in-config "off" never polled
    assert await scheduler.tick() == []
    clock.advance(minutes=17)  # s0 (15 min +/- 10%) is due again, the others are not
    assert [j.source_id for j in await scheduler.tick()] == ["s0"]
    state = await store.source_state("s1")
    assert state.next_due is not None
    assert timedelta(minutes=27) <= state.next_due - datetime(2026, 5, 1, tzinfo=UTC) <= timedelta(minutes=33)


async def test_two_schedulers_never_double_emit(bus: Bus, store: Store) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    one, two = _scheduler(bus, store, clock, "one"), _scheduler(bus, store, clock, "two")
    emitted = []
    for _ in range(5):
        emitted += await one.tick()
        emitted += await two.tick()
        clock.advance(minutes=16)
    assert one.leader and not two.leader
    ids = [j.id for j in emitted]
    assert len(ids) == len(set(ids))
    # The follower takes over when the leader goes away, and goes on where it left off.
    await store.release_lock("scheduler", "one")
    clock.advance(minutes=16)
    taken_over = await two.tick()
    assert two.leader and "s0" in {j.source_id for j in taken_over}
    assert not {j.id for j in taken_over} & set(ids)


async def test_the_same_due_job_is_claimed_once_even_without_the_lock(bus: Bus, store: Store) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    a, b = _scheduler(bus, store, clock, "a"), _scheduler(bus, store, clock, "b")
    await store.update_source("s0", {"next_due": clock()})
    jobs_a = await a.tick()
    await store.update_source("s0", {"next_due": clock()})  # as if b read the same due time
    await store.release_lock("scheduler", "a")
    jobs_b = await b.tick()
    assert "s0" in {j.source_id for j in jobs_a} and "s0" not in {j.source_id for j in jobs_b}


def test_failing_sources_back_off_exponentially_with_a_cap(bus: Bus, store: Store) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    scheduler = _scheduler(bus, store, clock, "a", jitter=0.0)
    source = _sources().sources[0]
    intervals = [scheduler.interval(source, SourceState(failures=n)) for n in range(10)]
    assert intervals[:4] == [timedelta(minutes=15 * 2**n) for n in range(4)]
    assert max(intervals) == timedelta(hours=16)  # 15 min doubled six times, under the 24 h cap
    jittered = _scheduler(bus, store, clock, "b", jitter=0.1)
    values = {jittered.interval(source, SourceState()) for _ in range(20)}
    assert len(values) > 1 and all(timedelta(minutes=13.5) <= v <= timedelta(minutes=16.5) for v in values)


async def test_disabled_sources_are_not_scheduled(bus: Bus, store: Store) -> None:
    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    await store.update_source("s1", {"disabled": True})
    jobs = await _scheduler(bus, store, clock, "a").tick()
    assert sorted(j.source_id for j in jobs) == ["s0", "s2"]
