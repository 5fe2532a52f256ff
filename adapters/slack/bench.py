"""`ai-news bench slack`: how fast `/ai-news` is acknowledged, against a bare bolt app on the same machine; and
`ai-news bench alerts`: how fast an item published to Kafka becomes an alert in every subscribed Slack channel.

Both apps are served the same way (bolt's aiohttp app on 127.0.0.1, in this process) and get the same signed
slash-command requests from the same load generator, many at a time, in alternating rounds. The bare app's handler
only acks; ai-news acks, then answers through the response URL (timed too, and waited for before the next round, so
that its answering never overlaps the bare app's round). A small local stand-in for the Slack Web API answers
auth.test and receives the answers, so nothing leaves the machine. The archive is seeded under a key prefix of its
own in the given Redis, removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.role import SlackRole
from bot.bus import Bus, TopicTable
from bot.delivery import Pacer
from bot.models import ClassifiedItem, Item, stable_id
from bot.settings import Settings
from bot.sources import SourcesConfig
from bot.store import Keys, Store
from bot.taxonomy import Taxonomy

BENCH_TOKEN = "xoxb-bench-token"


@dataclass
class Sample:
    ack: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    elapsed: float = 0.0  # sending the requests, every ack received
    answering: float = 0.0  # from the first request of a round to its last answer, summed over the rounds


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[index]


@dataclass
class SlackBenchResult:
    command: str
    requests: int
    concurrency: int
    bare: Sample
    real: Sample
    key_prefix: str
    rounds: int = 1

    def report(self) -> str:
        def ms(value: float) -> str:
            return f"{value * 1000:10.2f} ms"

        def row(figure: str, ours: float, bare: float | None, unit: Callable[[float], str]) -> str:
            ratio = f"x{ours / bare:.2f}" if bare else "-"
            return f"{figure:<26} {unit(ours):>14} {unit(bare) if bare else '-':>14} {ratio:>8}"

        def rate(value: float) -> str:
            return f"{value:10.0f}"

        real, bare = self.real, self.bare
        bare_median, real_median = statistics.median(bare.ack), statistics.median(real.ack)
        bare_p99, real_p99 = percentile(bare.ack, 99), percentile(real.ack, 99)
        lines = [
            f"/ai-news {self.command}: {self.requests} signed requests per app, {self.concurrency} at a time, in "
            f"{self.rounds} alternating rounds, HTTP on 127.0.0.1",
            "(both apps served alike: bolt's aiohttp app, signatures checked, one load generator; the bare app only "
            "acks, ai-news also answers, and its answers of a round arrive before the next round starts)",
            f"{'':<26} {'ai-news':>14} {'bare bolt':>14} {'ratio':>8}",
            row("ack median", real_median, bare_median, ms),
            row("ack p99", real_p99, bare_p99, ms),
            row("acks per second", len(real.ack) / real.elapsed, len(bare.ack) / bare.elapsed, rate),
        ]
        if real.answer:
            lines += [row("answer delivered median", statistics.median(real.answer), None, ms),
                      row("answer delivered p99", percentile(real.answer, 99), None, ms),
                      row("answers per second", len(real.answer) / real.answering if real.answering else 0.0, None,
                          rate)]
        lines.append(f"ack latency vs bare bolt: median x{real_median / bare_median:.2f}, p99 "
                     f"x{real_p99 / bare_p99:.2f} ({len(real.answer)} of {self.requests} answers arrived)")
        return "\n".join(lines)


class _StandIn:
    """auth.test for the apps' authorization, and a sink for the answers sent to response URLs."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Condition()

    async def wait_for(self, keys: set[str], limit: float) -> None:
        """Until every answer of `keys` arrived, or `limit` seconds."""
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: keys <= self.arrived.keys()), limit)
            except TimeoutError:
                return

    async def auth_test(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "team_id": "T0BENCH", "user_id": "U0BOT", "bot_id": "B0BOT",
                                  "team": "bench", "user": "ai-news", "url": "https://bench.example/"})

    async def respond(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrived[request.match_info["id"]] = time.perf_counter()
        async with self.changed:
            self.changed.notify_all()
        return web.Response(text="ok")


@asynccontextmanager
async def _served(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _client(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


def _bare_app(api_url: str, secret: str) -> AsyncApp:
    app = AsyncApp(client=AsyncWebClient(token=BENCH_TOKEN, base_url=api_url), signing_secret=secret,
                   name="bare-bench")

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    app.command("/ai-news")(ack_only)
    return app


async def _seed(store: Store, topic: str, count: int) -> None:
    now = datetime.now(UTC)
    for n in range(count):
        item = Item(url=f"https://bench.example/{topic}/{n}", title=f"Bench story {n} about {topic}",
                    source="bench", source_name="Bench", published=now - timedelta(hours=n),
                    summary=f"Story {n} happened. It matters.")
        await store.archive(ClassifiedItem.from_item(item, topics=[topic]))


async def _load(http: aiohttp.ClientSession, url: str, secret: str, respond_base: str, command: str, count: int,
                concurrency: int, sent: dict[str, float]) -> tuple[list[float], float]:
    """`count` signed commands to `url`, `concurrency` at a time, over the connections `http` keeps open."""
    verifier = SignatureVerifier(secret)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker() -> None:
        while True:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            answer_id = uuid.uuid4().hex
            body = urlencode({"team_id": "T0BENCH", "channel_id": "C0BENCH", "user_id": f"U{n:07d}",
                              "command": "/ai-news", "text": command, "api_app_id": "A0BENCH",
                              "response_url": f"{respond_base}/respond/{answer_id}", "trigger_id": f"{n}.{answer_id}"})
            stamp = str(int(time.time()))
            headers = {"X-Slack-Request-Timestamp": stamp, "Content-Type": "application/x-www-form-urlencoded",
                       "X-Slack-Signature": str(verifier.generate_signature(timestamp=stamp, body=body))}
            started = time.perf_counter()
            sent[answer_id] = started
            async with http.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"the app answered {response.status} to a signed command")
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began


async def bench_slack(redis: Redis, taxonomy: Taxonomy, sources: SourcesConfig, *, requests: int = 2000,
                      concurrency: int = 50, command: str = "regulation", rounds: int = 10) -> SlackBenchResult:
    """Ack latency of ai-news's `/ai-news` against a bare bolt app's, same machine, same run."""
    if command.split()[0] not in taxonomy.slugs:
        raise ValueError(f"benchmark command must start with a topic: {', '.join(taxonomy.slugs)}")
    secret = secrets.token_hex(16)
    prefix = f"ainews-slack-bench-{uuid.uuid4().hex[:8]}"
    store = Store(redis, Keys(f"{prefix}:"))
    stand_in = _StandIn()
    api = web.Application()
    api.router.add_route("*", "/api/auth.test", stand_in.auth_test)
    api.router.add_post("/respond/{id}", stand_in.respond)
    settings = Settings(_env_file=None, slack_bot_token=SecretStr(BENCH_TOKEN),
                        slack_signing_secret=SecretStr(secret), command_rate_limit=1000,
                        kafka_topic_prefix=prefix, redis_key_prefix=f"{prefix}:")
    bare, real = Sample(), Sample()
    sent: dict[str, float] = {}
    try:
        await _seed(store, command.split()[0], 30)
        async with _served(api) as api_base:
            settings = settings.model_copy(update={"slack_api_base_url": f"{api_base}/api/"})
            role = SlackRole(settings, Bus("127.0.0.1:9", TopicTable(prefix, taxonomy.slugs)), store, taxonomy,
                             sources, http_host="127.0.0.1", http_port=0, pacer=Pacer(0))
            async with role.serving(), _served(_bare_app(f"{api_base}/api/", secret).web_app()) as bare_base:
                real_url = f"http://127.0.0.1:{role.bound_port}/slack/events"
                bare_url = f"{bare_base}/slack/events"
                # one client per app, its connections kept open from the warm-up on (as Slack's are)
                async with _client(concurrency) as bare_http, _client(concurrency) as real_http:
                    apps = ((bare_url, bare_http, bare), (real_url, real_http, real))
                    for url, http, _ in apps:  # warm up: connections, bolt's auth.test, caches
                        warm: dict[str, float] = {}
                        await _load(http, url, secret, api_base, command, min(100, requests), concurrency, warm)
                        await stand_in.wait_for(set(warm) if url == real_url else set(), 30.0)
                    per_round = max(1, requests // rounds)
                    for _ in range(rounds):
                        for url, http, sample in apps:
                            record: dict[str, float] = {}
                            began = time.perf_counter()
                            latencies, elapsed = await _load(http, url, secret, api_base, command, per_round,
                                                             concurrency, record)
                            sample.ack += latencies
                            sample.elapsed += elapsed
                            if sample is real:  # its answers, before the next round: they must not slow the bare app
                                await stand_in.wait_for(set(record), 30.0)
                                sample.answering += max((stand_in.arrived.get(key, began) for key in record),
                                                        default=began) - began
                                sent.update(record)
        real.answer = [stand_in.arrived[key] - started for key, started in sent.items() if key in stand_in.arrived]
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    return SlackBenchResult(command, per_round * rounds, concurrency, bare, real, f"{prefix}:", rounds)


# --- `ai-news bench alerts` ------------------------------------------------------------------------------------

AlerterRunner = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class AlertSink:
    """A stand-in Slack Web API for alerts: auth.test, chat.postMessage (each post timed by the alert id in its
    metadata), chat.update, conversations.history (empty) and chat.getPermalink."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.posts = 0
        self.updates = 0
        self.changed = asyncio.Condition()

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            params = json.loads(raw or b"{}") if request.content_type == "application/json" else dict(
                parse_qsl(raw.decode()))
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": "T0BENCH", "user_id": "U0BOT", "bot_id": "B0BOT"})
        if method == "chat.postMessage":
            arrived = time.perf_counter()
            metadata = params.get("metadata")
            metadata = json.loads(metadata) if isinstance(metadata, str) else metadata or {}
            alert = str((metadata.get("event_payload") or {}).get("alert_id") or "")
            self.posts += 1
            self.arrived.setdefault(alert, arrived)
            async with self.changed:
                self.changed.notify_all()
            return web.json_response({"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}"})
        if method == "chat.update":
            self.updates += 1
            return web.json_response({"ok": True, "channel": params.get("channel"), "ts": params.get("ts")})
        if method == "conversations.history":
            return web.json_response({"ok": True, "messages": [], "has_more": False})
        if method == "chat.getPermalink":
            return web.json_response({"ok": True, "permalink": "https://bench.example/archives/C/p1"})
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    async def wait_for(self, keys: Iterable[str], limit: float) -> bool:
        wanted = set(keys)
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: wanted <= self.arrived.keys()), limit)
            except TimeoutError:
                return False
        return True


@dataclass
class AlertBenchResult:
    channels: int
    partitions: int
    paced: list[float]
    burst: list[float]
    burst_items: int
    burst_alerts: int
    burst_seconds: float
    kafka: list[float]
    kafka_messages: int
    kafka_seconds: float
    missing: int
    post_interval: float = 0.0

    def report(self) -> str:
        def row(name: str, values: list[float], rate: str) -> str:
            return (f"{name:<46} {statistics.median(values) * 1000:9.1f} ms {percentile(values, 95) * 1000:9.1f} ms"
                    f" {rate:>9}")

        burst_rate = f"{self.burst_alerts / self.burst_seconds:.0f}" if self.burst_seconds else "-"
        kafka_rate = f"{self.kafka_messages / self.kafka_seconds:.0f}" if self.kafka_seconds else "-"
        lines = [
            f"topic alerts: items published to Kafka ({self.partitions} partitions), {self.channels} channels "
            "subscribed, alerter and Slack role on one machine, a stand-in Slack API on 127.0.0.1",
            f"(one at a time: posts to a channel {self.post_interval:g} s apart as SLACK_POST_INTERVAL says; at once: "
            "not spaced, and the hourly limit off for both)",
            f"{'':<46} {'median':>12} {'p95':>12} {'per s':>9}",
            row("publish -> alert posted, items one at a time", self.paced, "-"),
            row(f"publish -> alert posted, {self.burst_items} items at once", self.burst, f"{burst_rate} alerts"),
            row("bare aiokafka produce -> consume", self.kafka, f"{kafka_rate} msgs"),
            f"p95 one at a time vs bare aiokafka: x{percentile(self.paced, 95) / percentile(self.kafka, 95):.1f}; "
            f"{len(self.paced) + len(self.burst)} alerts timed, {self.missing} missing",
        ]
        return "\n".join(lines)


def _bench_item(n: int, run: str) -> ClassifiedItem:
    item = Item(url=f"https://bench.example/{run}/{n}", title=f"Humanoid robot maker ships model {n}",
                source="bench", source_name="Bench", published=datetime.now(UTC),
                summary=f"A robotics company shipped its model {n}. It matters.")
    return ClassifiedItem.from_item(item, topics=["robotics"], importance=0.8, about_ai=True,
                                    story_id=f"{run}-{n}")


async def _round_trips(bus: Bus, topic: str, count: int, burst: int) -> tuple[list[float], int, float]:
    """Bare aiokafka on the same broker, with the producer and fetch settings of ai-news's bus: each message timed
    from send to receipt, one at a time; then a burst."""
    bootstrap = bus.bootstrap_servers
    producer: AIOKafkaProducer[bytes, bytes] = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                                                linger_ms=5, enable_idempotence=False)
    consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                                                enable_auto_commit=False,
                                                                fetch_max_wait_ms=bus.fetch_max_wait_ms)
    await producer.start()
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_end()
        latencies: list[float] = []
        for n in range(count):
            started = time.perf_counter()
            await producer.send_and_wait(topic, f"round-trip {n}".encode(), key=str(n).encode())
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                if any(r.value == f"round-trip {n}".encode() for records in batch.values() for r in records):
                    break
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*[await producer.send(topic, b"burst", key=str(n).encode()) for n in range(burst)])
        received = 0
        while received < burst:
            batch = await consumer.getmany(timeout_ms=1000)
            received += sum(len(records) for records in batch.values())
        return latencies, burst, time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def bench_alerts(bus: Bus, store: Store, taxonomy: Taxonomy, settings: Settings, alerter: AlerterRunner, *,
                       channels: int = 100, items: int = 20, burst: int = 10) -> AlertBenchResult:
    """Items published to Kafka with `channels` channels subscribed to their topic: the time from publishing an item
    to each channel's alert reaching the stand-in Slack API, one item at a time and in a burst; against a bare
    aiokafka produce-consume round trip on the same broker. `alerter` runs the alerter role (the composition root
    builds it); the Slack role is the real one."""
    run = uuid.uuid4().hex[:8]
    names = [f"slack:C{n:07d}" for n in range(channels)]
    for name in names:
        await store.subscribe(name, "robotics", 0.5)
    sink = AlertSink()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", sink.api)
    stop = asyncio.Event()
    async with _served(app) as base:
        role_settings = settings.model_copy(update={
            "slack_bot_token": SecretStr(BENCH_TOKEN), "slack_signing_secret": SecretStr(secrets.token_hex(8)),
            "slack_app_token": None, "slack_client_id": None, "slack_api_base_url": f"{base}/api/"})
        role = SlackRole(role_settings, bus, store, taxonomy, SourcesConfig(), http_host="127.0.0.1", http_port=0,
                         pacer=Pacer(settings.slack_post_interval))
        tasks = [asyncio.create_task(alerter(stop)), asyncio.create_task(role.run(stop))]
        try:
            async def publish(batch: list[ClassifiedItem]) -> tuple[dict[str, float], list[str]]:
                sent: dict[str, float] = {}
                for item in batch:
                    sent[item.story_id] = time.perf_counter()
                    await bus.publish(bus.topics.items("robotics"), item, key=item.story_id)
                keys = [stable_id("alert", name, story) for story in sent for name in names]
                return sent, keys

            def timed(sent: dict[str, float]) -> list[float]:
                return [sink.arrived[stable_id("alert", name, story)] - at for story, at in sent.items()
                        for name in names if stable_id("alert", name, story) in sink.arrived]

            # warm up (the consumer groups join, connections open): one item, every channel's alert
            _, keys = await publish([_bench_item(-1, run)])
            if not await sink.wait_for(keys, 60):
                raise RuntimeError("the warm-up alerts did not arrive within 60 s")
            paced: list[float] = []
            for n in range(items):
                await asyncio.sleep(settings.slack_post_interval)  # so that the pacer never holds a post back
                sent, keys = await publish([_bench_item(n, run)])
                await sink.wait_for(keys, 30)
                paced += timed(sent)
            # the burst gives each channel `burst` alerts at once: posts to one channel are not spaced for it (the
            # pacer would, by SLACK_POST_INTERVAL), so it measures the pipeline, not the pacing
            role.pacer.interval = 0.0
            began = time.perf_counter()
            sent, keys = await publish([_bench_item(items + n, run) for n in range(burst)])
            await sink.wait_for(keys, 120)
            burst_times = timed(sent)
            burst_seconds = max((sink.arrived[k] for k in keys if k in sink.arrived), default=began) - began
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    probe = f"{bus.topics.prefix}.bench-round-trip"
    await bus.ensure_topics([probe])
    kafka, kafka_messages, kafka_seconds = await _round_trips(bus, probe, max(items, 20),
                                                              burst * channels)
    return AlertBenchResult(channels, bus.partitions, paced, burst_times, burst, len(burst_times), burst_seconds, kafka,
                            kafka_messages, kafka_seconds, len(names) * (items + burst) - len(paced) - len(burst_times),
                            settings.slack_post_interval)
