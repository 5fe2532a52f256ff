"""`ai-news bench compose`: a whole `ai-news post --dry-run` against loading its window from Redis."""

from __future__ import annotations

import asyncio
import os
import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from redis.asyncio import Redis

from bot.editions import Edition
from bot.models import Briefing, Item
from bot.offline import build_enricher
from bot.runtime import open_redis
from bot.settings import Settings
from bot.store import Keys, Store
from bot.stories import MemoryStoryIndex
from bot.taxonomy import load_taxonomy


def _redis_url_of(redis: Redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


@dataclass(frozen=True)
class ComposeBench:
    count: int
    loaded: int
    events: int
    repeats: int
    wholes: list[float]  # seconds of each whole `ai-news post --dry-run` process
    loads: list[float]  # seconds of each in-process load of the window
    stories: int
    sections: int

    @property
    def whole(self) -> float:
        return statistics.median(self.wholes)

    @property
    def load(self) -> float:
        return statistics.median(self.loads)

    def report(self) -> str:
        whole, load, wholes, loads = self.whole, self.load, self.wholes, self.loads
        return "\n".join([
            f"{self.count} items in one edition's window ({self.loaded} loaded)"
            + (f", spread over {self.events} stories" if self.events else "")
            + f", archived in Redis; medians of {self.repeats} interleaved runs on {os.cpu_count()} cores",
            f"ai-news post --dry-run, whole process (start from compiled bytecode, load the window and the week "
            f"before from Redis, compose, render JSON): {whole:.2f} s "
            f"(runs: {', '.join(f'{w:.2f}' for w in wholes)} s); {self.stories} stories in {self.sections} sections",
            f"only loading the window's items from Redis (Store.recent, in-process): {load:.2f} s "
            f"(runs: {', '.join(f'{w:.2f}' for w in loads)} s)",
            f"ratio: {whole / load:.1f} (whole process / loading alone)",
        ])


async def bench_compose(settings: Settings, count: int, repeats: int = 3, events: int = 0) -> ComposeBench:
    """`ai-news post --dry-run` (a whole process: start, load the window from Redis, compose, render JSON) on
    `count` archived items, against only loading those items from Redis in-process, in the same run. With
    `events`, the items are spread over that many stories (hundreds of items each)."""
    import subprocess
    import sys
    import tempfile
    import time
    import uuid

    from bot.classify import bundled_examples

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    prefix = f"ainews-bench-{uuid.uuid4().hex[:8]}:"
    day = date(2026, 1, 15)
    edition = Edition(channel="console:bench", time="08:00", timezone="UTC")
    start, end = edition.window(day)
    examples = bundled_examples()
    items = [
        Item(url=f"https://news.example.com/bench/{n}", title=examples[n % len(examples)].title,
             summary=examples[n % len(examples)].summary, source=f"source-{n % 40}", source_name=f"Source {n % 40}",
             published=end - timedelta(seconds=(n + 1) * 86_399 / count))
        for n in range(count)
    ]
    enricher = await asyncio.to_thread(build_enricher, settings, taxonomy)
    classified = await enricher.classify_items(items, MemoryStoryIndex(), now=end)
    if events:
        classified = [i.model_copy(update={"story_id": f"bench-event-{n % events}"}) for n, i in enumerate(classified)]
    async with open_redis(settings) as (redis, _):
        store = Store(redis, Keys(prefix))
        bytecode = tempfile.TemporaryDirectory(prefix="ainews-bench-pyc-")
        try:
            for first in range(0, len(classified), 50):
                await asyncio.gather(*(store.archive(i) for i in classified[first:first + 50]))
            # The process starts as an installed one does, from compiled bytecode (pip compiles it on install):
            # a source checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile every module on each run.
            # The bytecode goes to a temporary folder, written by one run that is not timed.
            env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                   "PYTHONPYCACHEPREFIX": bytecode.name, "REDIS_URL": _redis_url_of(redis),
                   "REDIS_KEY_PREFIX": prefix, "AINEWS_EMBEDDED": "never",
                   "AINEWS_CONFIG_DIR": str(settings.ainews_config_dir.resolve())}
            command = [sys.executable, "-m", "bot.cli", "--log-level", "WARNING", "post", "--channel",
                       edition.channel, "--date", day.isoformat(), "--at", edition.time, "--tz", edition.timezone,
                       "--dry-run", "--format", "json"]
            await asyncio.to_thread(subprocess.run, command, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, check=False)
            wholes, loads = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                done = await asyncio.to_thread(subprocess.run, command, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, check=False)
                wholes.append(time.perf_counter() - started)
                if done.returncode != 0:
                    raise RuntimeError(f"ai-news post --dry-run failed: {done.stderr.decode(errors='replace')[-500:]}")
                started = time.perf_counter()
                loaded = await store.recent(since=start, until=end)
                loads.append(time.perf_counter() - started)
            composed = Briefing.model_validate_json(done.stdout)
        finally:
            bytecode.cleanup()
            keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
            for first in range(0, len(keys), 1000):
                await redis.delete(*keys[first:first + 1000])
    stories = sum(len(s.stories) for s in composed.sections)
    return ComposeBench(count, len(loaded), events, repeats, wholes, loads, stories, len(composed.sections))
