"""`ai-news bench slack`: how fast `/ai-news` is acknowledged, against a bare bolt app on the same machine.

Both apps are served over HTTP on 127.0.0.1 and get the same signed slash-command requests, many at a time. The
bare app's handler only acks; ai-news acks, then answers through the response URL (timed too). A small local
stand-in for the Slack Web API answers auth.test and receives the answers, so nothing leaves the machine. The
archive is seeded under a key prefix of its own in the given Redis, removed at the end.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from redis.asyncio import Redis
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.role import SlackRole
from bot.bus import Bus, TopicTable
from bot.delivery import Pacer
from bot.models import ClassifiedItem, Item
from bot.settings import Settings
from bot.sources import SourcesConfig
from bot.store import Keys, Store
from bot.taxonomy import Taxonomy

BENCH_TOKEN = "xoxb-bench-token"


@dataclass
class Sample:
    ack: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    elapsed: float = 0.0


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

    def report(self) -> str:
        def row(name: str, values: list[float], elapsed: float | None) -> str:
            rate = f"{len(values) / elapsed:8.0f}" if elapsed else "       -"
            return (f"{name:<30} {statistics.median(values) * 1000:8.2f} ms {percentile(values, 99) * 1000:8.2f} ms"
                    f" {rate}")

        bare_median, real_median = statistics.median(self.bare.ack), statistics.median(self.real.ack)
        bare_p99, real_p99 = percentile(self.bare.ack, 99), percentile(self.real.ack, 99)
        lines = [
            f"/ai-news {self.command}: {self.requests} signed requests per app, {self.concurrency} at a time, "
            "HTTP on 127.0.0.1",
            f"{'':<30} {'median':>11} {'p99':>11} {'req/s':>8}",
            row("bare bolt app (ack only)", self.bare.ack, self.bare.elapsed),
            row("ai-news: acknowledged", self.real.ack, self.real.elapsed),
            row("ai-news: answer delivered", self.real.answer, None),
            f"ack latency vs bare bolt: median x{real_median / bare_median:.2f}, p99 x{real_p99 / bare_p99:.2f}"
            f" ({len(self.real.answer)} of {self.requests} answers arrived)",
        ]
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


async def _load(url: str, secret: str, respond_base: str, command: str, count: int, concurrency: int,
                sent: dict[str, float]) -> tuple[list[float], float]:
    verifier = SignatureVerifier(secret)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker(http: aiohttp.ClientSession) -> None:
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

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return latencies, time.perf_counter() - began


async def bench_slack(redis: Redis, taxonomy: Taxonomy, sources: SourcesConfig, *, requests: int = 2000,
                      concurrency: int = 50, command: str = "regulation", rounds: int = 2) -> SlackBenchResult:
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
                for url in (bare_url, real_url):  # warm up: connections, bolt's auth.test, caches
                    await _load(url, secret, api_base, command, min(100, requests), concurrency, {})
                per_round = max(1, requests // rounds)
                for _ in range(rounds):
                    for url, sample, record in ((bare_url, bare, {}), (real_url, real, sent)):
                        latencies, elapsed = await _load(url, secret, api_base, command, per_round, concurrency,
                                                         record)
                        sample.ack += latencies
                        sample.elapsed += elapsed
                await stand_in.wait_for(set(sent), 30.0)
        real.answer = [stand_in.arrived[key] - started for key, started in sent.items() if key in stand_in.arrived]
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    return SlackBenchResult(command, per_round * rounds, concurrency, bare, real, f"{prefix}:")
