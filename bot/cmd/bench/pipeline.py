"""`ai-news bench pipeline`: items through Kafka from the fetch job to the Redis archive, against bare aiokafka.

A local feed server (127.0.0.1) serves N generated RSS feeds of M new items each; a sources config lists them. The
scheduler, ingest (one or more) and indexer roles run as `ai-news run --role ...` processes on one broker and one
Redis, under a topic and key prefix of their own, removed afterwards. The time runs from the first fetch job (its
Kafka timestamp) to the moment the last item is in the archive. While it runs, the lag of each stage is sampled from
its consumer group (committed offsets against the end offsets of the topics it reads). The baseline is bare aiokafka
on the same broker in the same run: the same number of messages, the archived items themselves as values, produced
and consumed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import yaml
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from bot.bus import PRODUCER_OVERHEAD, Bus
from bot.classify import bundled_examples
from bot.cmd.bench.compose import _redis_url_of
from bot.runtime import Services, clear_keys, open_services
from bot.settings import Settings

# Called with what is going on, and how far (done of total; total 0 when unknown).
Progress = Callable[[str, int, int], None]
SAMPLE_EVERY = 0.25
# A run that archives nothing new for this long has stalled: it stops with an error naming the stage.
STALL_SECONDS = 60.0
ROLE_STOP_SECONDS = 20.0


def _quiet(text: str, done: int, total: int) -> None:
    return None


# --- the feed server ---------------------------------------------------------------------------------------

def feed_documents(feeds: int, per_feed: int, now: datetime) -> dict[str, bytes]:
    """`feeds` RSS documents of `per_feed` items each, every item new (a URL of its own), with the titles and
    summaries of the bundled labeled set, published over the last hours (none is backfill)."""
    examples = bundled_examples()
    documents = {}
    for feed in range(feeds):
        parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Bench feed {feed}'
                 f'</title><link>https://bench-{feed}.example/</link><description>generated</description>']
        for n in range(per_feed):
            example = examples[(feed * per_feed + n) % len(examples)]
            published = now - timedelta(seconds=(feed * per_feed + n) % 36_000 + 60)
            link = f"https://bench-{feed}.example/news/{n}"
            parts.append(f"<item><title>{escape(example.title)}</title><link>{link}</link>"
                         f"<guid>{link}</guid><pubDate>{format_datetime(published)}</pubDate>"
                         f"<description>{escape(example.summary)}</description></item>")
        parts.append("</channel></rss>\n")
        documents[f"/feed/{feed}.xml"] = "".join(parts).encode("utf-8")
    return documents


@asynccontextmanager
async def serve_feeds(documents: dict[str, bytes]) -> AsyncIterator[str]:
    """Serve the documents on 127.0.0.1 (a free port) until exit; yields the base URL."""

    async def document(request: web.Request) -> web.Response:
        body = documents.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, headers={"Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/feed/{name}", document)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def write_config(folder: Path, base: str, feeds: int, settings: Settings) -> Path:
    """A config folder: ai-news's own files, with a sources.yaml that lists the local feeds."""
    source_dir = settings.ainews_config_dir.resolve()
    for path in source_dir.iterdir():
        if path.is_file() and path.suffix in (".yaml", ".yml") and path.name != "sources.yaml":
            shutil.copy(path, folder / path.name)
    sources = [{"id": f"bench-{n}", "name": f"Bench feed {n}", "url": f"{base}/feed/{n}.xml", "interval_minutes": 60}
               for n in range(feeds)]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"version": 1, "sources": sources}), encoding="utf-8")
    return folder


# --- the figures -------------------------------------------------------------------------------------------

@dataclass
class PipelineRun:
    workers: int
    items: int  # expected: feeds x items per feed
    archived: int
    seconds: float  # first fetch job -> last item archived
    max_lag: dict[str, int] = field(default_factory=dict)  # stage -> most records not yet committed
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds during the run
    held: list[int] = field(default_factory=list)  # partitions of the fetch topic each ingest worker held

    @property
    def rate(self) -> float:
        return self.archived / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_item(self) -> float:
        """CPU seconds of every measured process per archived item."""
        return sum(self.cpu.values()) / self.archived if self.archived else 0.0


@dataclass
class PipelineBench:
    feeds: int
    per_feed: int
    partitions: int
    cores: int
    broker: str
    message_bytes: float  # mean size of an item message
    runs: list[PipelineRun]
    bare_messages: int
    bare_seconds: float
    prefix: str  # of every topic and key of the runs (all removed at the end)
    feedparser_rate: float = 0.0  # entries/s of bare feedparser.parse on some of the same feeds, on one core

    @property
    def bare_rate(self) -> float:
        return self.bare_messages / self.bare_seconds if self.bare_seconds > 0 else 0.0

    @property
    def best(self) -> PipelineRun:
        return max(self.runs, key=lambda run: run.rate)

    @property
    def ratio(self) -> float:
        return self.best.rate / self.bare_rate if self.bare_rate else 0.0

    def ceiling(self, run: PipelineRun) -> float:
        """Items/s if every core did nothing but this run's work: cores / CPU seconds per item."""
        return self.cores / run.cpu_per_item if run.cpu_per_item else 0.0

    def report(self) -> str:
        lines = [
            f"pipeline: {self.feeds} feeds x {self.per_feed} new items = {self.feeds * self.per_feed} items from a "
            f"local feed server, scheduler, ingest and indexer as `ai-news run --role` processes; {self.broker}, "
            f"{self.partitions} partitions a topic; {self.cores} cores",
            f"{'':<34} {'items':>7} {'seconds':>8} {'items/s':>9} {'max lag: fetch jobs':>20} {'items':>7}",
        ]
        for run in self.runs:
            held = "+".join(map(str, run.held))
            name = f"{run.workers} ingest worker{'s' if run.workers > 1 else ''} ({held} partitions)"
            lines.append(f"{name:<34} {run.archived:>7} {run.seconds:>8.2f} {run.rate:>9,.0f} "
                         f"{run.max_lag.get('ingest', 0):>20} {run.max_lag.get('index', 0):>7}")
        lines.append(f"{'bare aiokafka round trip':<34} {self.bare_messages:>7} {self.bare_seconds:>8.2f} "
                     f"{self.bare_rate:>9,.0f}  (produce + consume of {self.message_bytes:,.0f}-byte messages)")
        lines.append(f"ratio: {self.ratio:.2f} (best pipeline items/s / bare round trip msgs/s)")
        if len(self.runs) > 1:
            first, last = self.runs[0], self.runs[-1]
            lines.append(f"scale-out: {last.workers} ingest workers x{last.rate / first.rate:.2f} the items/s of "
                         f"{first.workers}" if first.rate else "scale-out: -")
        for run in self.runs:
            parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in
                              sorted(run.cpu.items(), key=lambda kv: -kv[1]))
            busy = sum(run.cpu.values()) / run.seconds if run.seconds else 0.0
            lines.append(f"CPU with {run.workers} ingest worker(s): {parts}; {busy:.2f} of {self.cores} cores busy, "
                         f"{run.cpu_per_item * 1000:.2f} ms of CPU an item -> ceiling {self.ceiling(run):,.0f} items/s")
        lines.append(self.why())
        return "\n".join(lines)

    def why(self) -> str:
        """What bounds the pipeline on this machine, from the CPU each process used."""
        run = self.runs[-1]
        if not run.cpu or not run.archived:
            return "ceiling: not measured (no CPU figures)"
        heaviest, seconds = max(run.cpu.items(), key=lambda kv: kv[1])
        share = seconds / sum(run.cpu.values())
        lines = [
            f"ceiling on {self.cores} cores: about {self.ceiling(run):,.0f} items/s: every process shares the same "
            f"cores (CPU-bound Python: one core each at most), {heaviest} takes {share:.0%} of the CPU "
            f"({seconds / run.archived * 1000:.2f} ms an item), so more ingest workers than cores only add contention"]
        if self.feedparser_rate and self.bare_rate:
            needed = self.cores / (self.bare_rate / 2) * 1000
            lines.append(
                f"half the bare round trip ({self.bare_rate / 2:,.0f} items/s) leaves {needed:.2f} ms of CPU an item "
                f"for every process on {self.cores} cores; bare feedparser.parse alone takes "
                f"{1000 / self.feedparser_rate:.2f} ms an item here ({self.feedparser_rate:,.0f} entries/s a core)")
        return "\n".join(lines)


# --- CPU of the processes ----------------------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, str]:
    """This process's child processes (the embedded broker and Redis among them): pid -> command name."""
    found = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        values = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if values.get("PPid", "").strip() == str(me):
            found[int(entry.name)] = values.get("Name", "?").strip()
    return found


async def _redis_cpu(redis: Redis) -> float | None:
    try:
        info = await redis.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    except Exception:
        return None


class CpuMeter:
    """CPU seconds of the role processes, the broker and Redis (when they are children or answer INFO), and of
    this process (the feed server), between `start` and `stop`."""

    def __init__(self, redis: Redis, roles: dict[int, str]) -> None:
        self.redis = redis
        self.pids = dict(roles)
        for pid, name in _children().items():
            if pid not in self.pids and name != "redis-server":  # Redis is read by INFO, wherever it runs
                self.pids[pid] = "broker" if "tansu" in name else name
        self.before: dict[str, float] = {}

    async def _read(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for pid, name in self.pids.items():
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                values[name] = values.get(name, 0.0) + seconds
        own = time.process_time()
        values["feed server + bench"] = own
        redis = await _redis_cpu(self.redis)
        if redis is not None:
            values["redis"] = redis
        return values

    async def start(self) -> None:
        self.before = await self._read()

    async def stop(self) -> dict[str, float]:
        after = await self._read()
        return {name: max(0.0, after[name] - self.before[name]) for name in after if name in self.before}


# --- lag of the consumer groups ----------------------------------------------------------------------------

class LagSampler:
    """The records each stage's group has not committed yet, sampled every SAMPLE_EVERY seconds; keeps the max."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.stages = {"ingest": (bus.topics.group("ingest"), (bus.topics.fetch,)),
                       "index": (bus.topics.group("index"), bus.topics.item_topics)}
        self.max_lag = dict.fromkeys(self.stages, 0)
        self.last = dict.fromkeys(self.stages, 0)

    async def run(self, stop: asyncio.Event) -> None:
        reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
            bootstrap_servers=self.bus.bootstrap_servers, group_id=None, enable_auto_commit=False)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bus.bootstrap_servers)
        await reader.start()
        await admin.start()
        try:
            partitions = {stage: [TopicPartition(t, p) for t in topics for p in range(self.bus.partitions)]
                          for stage, (_, topics) in self.stages.items()}
            while not stop.is_set():
                for stage, (group, _) in self.stages.items():
                    with contextlib.suppress(Exception):
                        ends = await reader.end_offsets(partitions[stage])
                        committed = await admin.list_consumer_group_offsets(group, partitions=partitions[stage])
                        lag = sum(end - max(0, committed[tp].offset if tp in committed else 0)
                                  for tp, end in ends.items())
                        self.last[stage] = lag
                        self.max_lag[stage] = max(self.max_lag[stage], lag)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
        finally:
            await admin.close()
            await reader.stop()


async def first_timestamp(bus: Bus, topic: str) -> float | None:
    """The Kafka timestamp (epoch seconds) of the first record of `topic`, None if it has none."""
    reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bootstrap_servers=bus.bootstrap_servers, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(bus.partitions)]
        ends = await reader.end_offsets(partitions)
        wanted = [tp for tp in partitions if ends[tp] > 0]
        if not wanted:
            return None
        reader.assign(wanted)
        await reader.seek_to_beginning(*wanted)
        first: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + 30
        while len(first) < len(wanted) and time.monotonic() < deadline:
            batch = await reader.getmany(*[tp for tp in wanted if tp not in first], timeout_ms=500, max_records=1)
            for tp, records in batch.items():
                if records and tp not in first:
                    first[tp] = records[0].timestamp
        return min(first.values()) / 1000 if first else None
    finally:
        await reader.stop()


# --- the role processes ------------------------------------------------------------------------------------

class Role:
    """One `ai-news run --role ROLE` process; its stderr is read line by line (kept, and watched for its groups'
    partition assignments)."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.lines: list[str] = []
        self.assigned: set[str] = set()  # "topic[partition]" held now
        self.joined = asyncio.Event()
        self.reader = asyncio.create_task(self._read(), name=f"{name} stderr")

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if " assigned " in text and "group=" in text:
                held = text.split(" assigned ", 1)[1].strip()
                self.assigned = set() if held == "nothing" else {p.strip() for p in held.split(",")}
                self.joined.set()

    def tail(self, count: int = 15) -> str:
        return "\n".join(self.lines[-count:])

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after ROLE_STOP_SECONDS."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), ROLE_STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


async def start_role(name: str, role: str, env: dict[str, str], cwd: Path) -> Role:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--role", role, env=env, cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    return Role(name, proc)


def role_env(settings: Settings, redis_url: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "REDIS_", "AINEWS_", "SCHEDULER_"))}
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "KAFKA_FETCH_MAX_WAIT_MS": str(settings.kafka_fetch_max_wait_ms),
        "KAFKA_SESSION_TIMEOUT_MS": str(settings.kafka_session_timeout_ms),
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "AINEWS_EMBEDDED": "never",
        "AINEWS_CONFIG_DIR": str(config),
        "SCHEDULER_TICK_SECONDS": "1",
        "PAGE_DESCRIPTIONS": "false",  # the generated links lead nowhere: the pipeline is measured, not other sites
        "LOG_LEVEL": "INFO",
    })
    return env


async def _until_joined(roles: Sequence[Role], partitions: int, fetch_topic: str) -> None:
    """Until every consumer has joined, and the ingest workers share the fetch topic's partitions between them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    ingest = [r for r in roles if r.name.startswith("ingest")]
    everything = {f"{fetch_topic}[{p}]" for p in range(partitions)}
    while True:
        for role in roles:
            if role.proc.returncode is not None:
                raise RuntimeError(f"{role.name} stopped at start (status {role.proc.returncode}):\n{role.tail()}")
        held = [r.assigned for r in ingest]
        if (all(r.joined.is_set() for r in roles) and set().union(*held) == everything
                and sum(len(h) for h in held) == partitions and all(held[:partitions])):
            return
        if loop.time() > deadline:
            raise RuntimeError("the role processes did not join their consumer groups within 120 s:\n"
                               + "\n".join(f"{r.name}: {r.tail(5)}" for r in roles))
        await asyncio.sleep(0.05)


async def _until_published(bus: Bus, roles: Sequence[Role], limit: float = 120.0) -> None:
    """Until the fetch topic has its first record."""
    reader: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bootstrap_servers=bus.bootstrap_servers, group_id=None, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(bus.topics.fetch, p) for p in range(bus.partitions)]
        deadline = time.monotonic() + limit
        while not any((await reader.end_offsets(partitions)).values()):
            for role in roles:
                if role.proc.returncode is not None:
                    raise RuntimeError(f"{role.name} stopped (status {role.proc.returncode}):\n{role.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no fetch job within {limit:.0f} s:\n{roles[-1].tail()}")
            await asyncio.sleep(0.01)
    finally:
        await reader.stop()


async def run_pipeline(services: Services, redis_url: str, config: Path, workers: int, total: int,
                       progress: Progress) -> tuple[PipelineRun, list[tuple[bytes, bytes]]]:
    """One run: roles started, joined, the scheduler started, until every item is archived; roles stopped. Returns
    the figures and the archived items (value, story id), the baseline's messages."""
    settings, bus, store = services.settings, services.bus, services.store
    env = role_env(settings, redis_url, config)
    label = f"{workers} ingest worker{'s' if workers > 1 else ''}"
    roles: list[Role] = []
    stop = asyncio.Event()
    sampler = LagSampler(bus)
    sampling: asyncio.Task[None] | None = None
    try:
        progress(f"pipeline, {label}: starting the roles", 0, total)
        roles.append(await start_role("indexer", "indexer", env, config))
        for n in range(workers):
            roles.append(await start_role(f"ingest-{n + 1}" if workers > 1 else "ingest", "ingest", env, config))
        await _until_joined(roles, bus.partitions, bus.topics.fetch)
        held = [len(r.assigned) for r in roles if r.name.startswith("ingest")]
        sampling = asyncio.create_task(sampler.run(stop), name="lag sampler")
        scheduler = await start_role("scheduler", "scheduler", env, config)
        roles.append(scheduler)
        progress(f"pipeline, {label}: waiting for the first fetch job", 0, total)
        await _until_published(bus, roles)
        # CPU counts from the first fetch job: the processes' start (imports, models) is not the pipeline's work
        meter = CpuMeter(services.redis, {r.proc.pid: r.name for r in roles})
        await meter.start()
        archived, last_change, last_count = 0, time.monotonic(), 0
        while archived < total:
            await asyncio.sleep(0.02)
            archived = await services.redis.zcard(store.keys.items_by_time)
            now = time.monotonic()
            if archived != last_count:
                last_count, last_change = archived, now
                progress(f"pipeline, {label}: archived", archived, total)
            for role in roles:
                if role.proc.returncode is not None:
                    raise RuntimeError(f"{role.name} stopped (status {role.proc.returncode}):\n{role.tail()}")
            if now - last_change > STALL_SECONDS:
                raise RuntimeError(f"pipeline stalled at {archived} of {total} items archived (lag: fetch jobs "
                                   f"{sampler.last['ingest']}, items {sampler.last['index']}):\n"
                                   + "\n".join(f"{r.name}: {r.tail(5)}" for r in roles))
        ended = time.time()
        cpu = await meter.stop()
        began = await first_timestamp(bus, bus.topics.fetch)
        if began is None:
            raise RuntimeError("no fetch job was found on the fetch topic")
        stop.set()
        await sampling
        # one more sample after the end: the groups' last commits
        progress(f"pipeline, {label}: stopping the roles", total, total)
    finally:
        stop.set()
        if sampling is not None and not sampling.done():
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
        await asyncio.gather(*(role.stop() for role in roles))
    ids = [_bytes(i) for i in await services.redis.zrange(store.keys.items_by_time, 0, -1)]
    messages: list[tuple[bytes, bytes]] = []
    for first in range(0, len(ids), 1000):
        chunk = ids[first:first + 1000]
        values = await services.redis.mget([store.keys.item(i.decode()) for i in chunk])
        messages += [(_bytes(v), item_id) for item_id, v in zip(chunk, values, strict=True) if v is not None]
    run = PipelineRun(workers, total, archived, max(ended - began, 1e-6), dict(sampler.max_lag), cpu, held)
    return run, messages


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _feedparser_rate(documents: Sequence[bytes]) -> float:
    """Entries/s of bare feedparser.parse on these documents."""
    started = time.perf_counter()
    entries = sum(len(feedparser.parse(document).entries) for document in documents)
    return entries / max(time.perf_counter() - started, 1e-9)


# --- the baseline ------------------------------------------------------------------------------------------

async def bare_round_trip(bus: Bus, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> float:
    """Seconds for bare aiokafka to produce `messages` (value, key) to `topic` and consume them all, at once, with the
    producer and fetch settings of ai-news's bus: from the first send to the last receipt."""
    producer: AIOKafkaProducer[bytes, bytes] = AIOKafkaProducer(
        bootstrap_servers=bus.bootstrap_servers, acks="all", linger_ms=5, enable_idempotence=False,
        max_request_size=bus.max_message_bytes + PRODUCER_OVERHEAD)
    consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bootstrap_servers=bus.bootstrap_servers, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=bus.fetch_max_wait_ms)
    await producer.start()
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(bus.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)

        async def consume() -> float:
            received = 0
            while received < len(messages):
                batch = await consumer.getmany(timeout_ms=500)
                received += sum(len(records) for records in batch.values())
            return time.perf_counter()

        receiving = asyncio.create_task(consume())
        started = time.perf_counter()
        futures = [await producer.send(topic, value, key=key) for value, key in messages]
        await asyncio.gather(*futures)
        ended = await asyncio.wait_for(receiving, 120)
        return ended - started
    finally:
        await consumer.stop()
        await producer.stop()


# --- the bench ---------------------------------------------------------------------------------------------

async def bench_pipeline(settings: Settings, feeds: int = 100, per_feed: int = 200, workers: Sequence[int] = (1, 2),
                         partitions: int = 6, progress: Progress = _quiet) -> PipelineBench:
    """Run the pipeline once per entry of `workers` (ingest workers), each under a fresh prefix, then the bare
    aiokafka round trip of the first run's items on the same broker; everything it made is removed at the end."""
    total = feeds * per_feed
    run_id = uuid.uuid4().hex[:8]
    base = settings.model_copy(update={"kafka_topic_prefix": f"ainews-pipe-{run_id}",
                                       "redis_key_prefix": f"ainews-pipe-{run_id}:", "kafka_partitions": partitions})
    progress("pipeline: starting Kafka and Redis, generating the feeds", 0, 0)
    documents = feed_documents(feeds, per_feed, datetime.now(UTC))
    parsing = await asyncio.to_thread(_feedparser_rate, list(documents.values())[:5])
    with tempfile.TemporaryDirectory(prefix="ai-news-pipeline-") as folder:
        async with serve_feeds(documents) as url, open_services(base) as outer:
            config = write_config(Path(folder), url, feeds, settings)
            redis_url = _redis_url_of(outer.redis)
            runs: list[PipelineRun] = []
            payloads: list[tuple[bytes, bytes]] = []
            try:
                for count in workers:
                    prefix = f"ainews-pipe-{run_id}-w{count}"
                    run_settings = base.model_copy(update={
                        "kafka_bootstrap_servers": outer.bus.bootstrap_servers, "redis_url": redis_url,
                        "ainews_embedded": "never", "kafka_topic_prefix": prefix, "redis_key_prefix": f"{prefix}:"})
                    async with open_services(run_settings, outer.taxonomy) as services:
                        try:
                            run, messages = await run_pipeline(services, redis_url, config, count, total, progress)
                        finally:
                            await clear_keys(services)
                            await services.bus.delete_topics()
                    runs.append(run)
                    payloads = payloads or messages
                progress("pipeline: bare aiokafka round trip", 0, 0)
                probe = f"{base.kafka_topic_prefix}.bench-round-trip"
                await outer.bus.ensure_topics([probe])
                bare = await bare_round_trip(outer.bus, probe, payloads)
            finally:
                await clear_keys(outer)
                await outer.bus.delete_topics([*outer.bus.topics.all(), f"{base.kafka_topic_prefix}.bench-round-trip"])
            broker = outer.kafka_description.split(" (")[0]
    size = sum(len(v) for v, _ in payloads) / len(payloads) if payloads else 0.0
    return PipelineBench(feeds, per_feed, partitions, os.cpu_count() or 1, broker, size, runs, len(payloads), bare,
                         base.kafka_topic_prefix, parsing)
