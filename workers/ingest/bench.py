"""`ai-news bench ingest`: items/s through parse, normalize and dedupe, against bare feedparser.parse.

Both sides read the same documents, in the same process, in the same run, their rounds interleaved. The
ai-news side does what the ingest role does with a batch of fetch jobs (one a document): per document feedparser,
normalization into Items (canonical URL, plain text, times) and in-document dedupe, then the 30-day dedupe ledger
in Redis for the batch (look up, then mark; an entry of an earlier document is not new in a later one). Each round
uses fresh ledger keys, so every round does the full work; the keys are removed afterwards.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import feedparser
from redis.asyncio import Redis

from bot.store import Keys, Store
from workers.ingest.formats import parse_document


@dataclass(frozen=True)
class IngestBench:
    documents: int
    size: int
    entries: int
    items: int
    rounds: int
    baseline_seconds: float
    seconds: float

    @property
    def baseline_rate(self) -> float:
        return self.entries * self.rounds / self.baseline_seconds

    @property
    def rate(self) -> float:
        return self.items * self.rounds / self.seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.baseline_rate

    def report(self) -> str:
        return "\n".join([
            f"corpus: {self.documents} documents, {self.entries} entries, {self.size / 1024:.1f} KiB; "
            f"{self.rounds} rounds",
            f"feedparser.parse alone:            {self.baseline_rate:10,.0f} entries/s",
            f"ai-news parse+normalize+dedupe:    {self.rate:10,.0f} items/s  ({self.items} items a round)",
            f"ratio: {self.ratio:.2f}x the speed of bare feedparser.parse on the same bytes",
        ])


async def bench_ingest(redis: Redis, prefix: str, documents: list[tuple[str, bytes]], rounds: int) -> IngestBench:
    entries = sum(len(feedparser.parse(data).entries) for _, data in documents)
    run_prefix = f"{prefix}bench-{uuid.uuid4().hex[:8]}:"
    items = 0
    baseline = seconds = 0.0
    try:
        # Rounds interleaved (a bare round, then an ai-news round): a busy machine slows both sides alike.
        for round_no in range(rounds):
            started = time.perf_counter()
            for _, data in documents:
                feedparser.parse(data)
            baseline += time.perf_counter() - started
            started = time.perf_counter()
            store = Store(redis, Keys(f"{run_prefix}{round_no}:"))
            polled = [parse_document("feed", data, source_id=source_id).items for source_id, data in documents]
            items = sum(map(len, polled))
            unseen = set(await store.unseen(list(dict.fromkeys(item.id for found in polled for item in found))))
            published = []
            for found in polled:
                fresh = [item.id for item in found if item.id in unseen]
                unseen.difference_update(fresh)
                published += fresh
            await store.mark_seen(published)
            seconds += time.perf_counter() - started
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{run_prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    return IngestBench(len(documents), sum(len(d) for _, d in documents), entries, items, rounds, baseline, seconds)
