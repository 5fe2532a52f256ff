"""`ai-news bench discord`: how fast `/ai-news` is answered, against a bare discord.py handler on the same stand-in.

A small local stand-in for Discord serves what both clients need (login, `GET /gateway/bot`, command registration,
interaction callbacks and webhook edits) and a gateway WebSocket speaking the real protocol (hello, identify,
heartbeat, ready, guild create; zlib-stream). Two applications connect to it: ai-news's `discord` role (the real
client, interactions and Redis) and a bare `discord.Client` whose handler only responds. The stand-in sends both the
same INTERACTION_CREATE events, many at a time, and times each one from the event to the interaction's first
response (ai-news: the defer), and for ai-news also to the answer replacing the "thinking" message. Nothing leaves
the machine; the archive is seeded under a key prefix of its own in the given Redis, removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from aiohttp import WSMsgType, web
from pydantic import SecretStr
from redis.asyncio import Redis

from adapters.discord.client import endpoints
from adapters.discord.role import DiscordRole
from bot.bus import Bus, TopicTable
from bot.delivery import Pacer
from bot.models import ClassifiedItem, Item
from bot.settings import Settings
from bot.sources import SourcesConfig
from bot.store import Keys, Store
from bot.taxonomy import Taxonomy

AI_NEWS_APP, BARE_APP = "323456789012345678", "423456789012345678"
TOKENS = {AI_NEWS_APP: "MzIzNDU2Nzg5MDEyMzQ1Njc4.bench.ai-news", BARE_APP: "NDIzNDU2Nzg5MDEyMzQ1Njc4.bench.bare"}
GUILD, CHANNEL = "523456789012345678", "523456789012345679"


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


@dataclass
class Sample:
    first: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    elapsed: float = 0.0


@dataclass
class DiscordBenchResult:
    command: str
    interactions: int
    concurrency: int
    bare: Sample
    real: Sample
    key_prefix: str

    def report(self) -> str:
        def row(name: str, values: list[float], elapsed: float | None) -> str:
            rate = f"{len(values) / elapsed:8.0f}" if elapsed else "       -"
            return (f"{name:<36} {statistics.median(values) * 1000:8.2f} ms "
                    f"{percentile(values, 99) * 1000:8.2f} ms {rate}")

        bare_median, real_median = statistics.median(self.bare.first), statistics.median(self.real.first)
        bare_p99, real_p99 = percentile(self.bare.first, 99), percentile(self.real.first, 99)
        return "\n".join([
            f"/ai-news {self.command}: {self.interactions} interactions per client, {self.concurrency} at a time, "
            "gateway and REST on 127.0.0.1",
            f"{'':<36} {'median':>11} {'p99':>11} {'int/s':>8}",
            row("bare discord.py handler (responds)", self.bare.first, self.bare.elapsed),
            row("ai-news: first response (defer)", self.real.first, self.real.elapsed),
            row("ai-news: answer delivered", self.real.answer, None),
            f"first response vs bare discord.py: median x{real_median / bare_median:.2f}, "
            f"p99 x{real_p99 / bare_p99:.2f} ({len(self.real.answer)} of {self.interactions} answers arrived)",
        ])


def _user(user_id: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


class _StandIn:
    """Just enough of Discord for the two clients, with the timing of every interaction."""

    def __init__(self) -> None:
        self.base = ""
        self.sockets: dict[str, tuple[web.WebSocketResponse, Any]] = {}
        self.sequence = 0
        self.sent: dict[str, float] = {}
        self.first: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[None]] = {}
        self.identified = asyncio.Event()

    def app_of(self, request: web.Request) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bot ")
        return next((app for app, known in TOKENS.items() if known == token), "")

    async def me(self, request: web.Request) -> web.Response:
        app = self.app_of(request)
        return _json(_user(app, f"bench-{app}", bot=True)) if app else _json({"message": "401", "code": 0}, 401)

    async def application(self, request: web.Request) -> web.Response:
        app = self.app_of(request)
        return _json({"id": app, "name": "bench", "icon": None, "description": "", "bot_public": True,
                      "bot_require_code_grant": False, "verify_key": "00", "owner": _user("1", "owner"), "flags": 0})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return _json({"url": self.base.replace("http", "ws") + "/gateway", "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    async def register(self, request: web.Request) -> web.Response:
        body = await request.json()
        return _json({**body, "id": "1", "application_id": request.match_info["app"], "version": "1"})

    def _answered(self, interaction: str, final: bool) -> None:
        now = time.perf_counter()
        self.first.setdefault(interaction, now)
        if final:
            self.done.setdefault(interaction, now)
            waiter = self.waiters.get(interaction)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        interaction = request.match_info["interaction"]
        self._answered(interaction, final=body["type"] != 5)
        message = {"id": interaction, "channel_id": CHANNEL, "author": _user(AI_NEWS_APP, "bench", True),
                   "content": "", "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None, "tts": False,
                   "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
                   "pinned": False, "type": 20, "flags": (body.get("data") or {}).get("flags", 0), "components": []}
        return _json({"interaction": {"id": interaction, "type": 2, "response_message_id": interaction},
                      "resource": {"type": body["type"], "message": message}})

    async def edit(self, request: web.Request) -> web.Response:
        await request.read()
        interaction = request.match_info["token"].removeprefix("token-")
        self._answered(interaction, final=True)
        return _json({"id": interaction, "channel_id": CHANNEL, "author": _user(AI_NEWS_APP, "bench", True),
                      "content": "", "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
                      "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
                      "attachments": [], "embeds": [], "pinned": False, "type": 20, "flags": 0, "components": []})

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compressor = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        await self._send(ws, compressor, {"op": 10, "d": {"heartbeat_interval": 41250}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            if data["op"] == 1:
                await self._send(ws, compressor, {"op": 11})
            elif data["op"] == 2:
                app = next((a for a, token in TOKENS.items() if token == data["d"]["token"]), None)
                if app is None:
                    await ws.close(code=4004)
                    break
                self.sockets[app] = (ws, compressor)
                await self._dispatch(app, "READY", {
                    "v": 10, "user": _user(app, f"bench-{app}", bot=True), "guilds": [{"id": GUILD,
                                                                                      "unavailable": True}],
                    "session_id": uuid.uuid4().hex, "resume_gateway_url": self.base.replace("http", "ws") + "/gateway",
                    "shard": data["d"].get("shard") or [0, 1], "application": {"id": app, "flags": 0}})
                await self._dispatch(app, "GUILD_CREATE", {
                    "id": GUILD, "name": "bench", "owner_id": "1", "unavailable": False, "member_count": 1,
                    "roles": [{"id": GUILD, "name": "@everyone", "permissions": str(discord.Permissions.all().value),
                               "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                               "flags": 0}],
                    "channels": [{"id": CHANNEL, "type": 0, "guild_id": GUILD, "name": "bench", "position": 0,
                                  "permission_overwrites": [], "nsfw": False}],
                    "members": [{"user": _user(app, f"bench-{app}", True), "roles": [], "deaf": False, "mute": False,
                                 "flags": 0, "joined_at": "2025-01-01T00:00:00+00:00"}], "threads": []})
                if len(self.sockets) == len(TOKENS):
                    self.identified.set()
        return ws

    @staticmethod
    async def _send(ws: web.WebSocketResponse, compressor: Any, payload: dict[str, Any]) -> None:
        payload = {"s": None, "t": None, "d": None, **payload}
        text = json.dumps(payload)
        if compressor is not None:
            await ws.send_bytes(compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH))
        else:
            await ws.send_str(text)

    async def _dispatch(self, app: str, event: str, data: dict[str, Any]) -> None:
        ws, compressor = self.sockets[app]
        self.sequence += 1
        await self._send(ws, compressor, {"op": 0, "t": event, "s": self.sequence, "d": data})

    async def interact(self, app: str, subcommand: str, user: int) -> str:
        """Send `/ai-news <subcommand>` to an application's client; returns the interaction id."""
        interaction = f"{7_000_000_000_000_000 + len(self.sent)}"
        self.waiters[interaction] = asyncio.get_running_loop().create_future()
        self.sent[interaction] = time.perf_counter()
        await self._dispatch(app, "INTERACTION_CREATE", {
            "id": interaction, "application_id": app, "type": 2, "token": f"token-{interaction}", "version": 1,
            "data": {"id": "1", "name": "ai-news", "type": 1, "options": [{"type": 1, "name": subcommand}]},
            "guild_id": GUILD, "channel_id": CHANNEL, "channel": {"id": CHANNEL, "type": 0, "guild_id": GUILD,
                                                                  "name": "bench", "position": 0, "nsfw": False,
                                                                  "permission_overwrites": []},
            "member": {"user": _user(str(user), f"user{user}"), "roles": [], "permissions": "8", "flags": 0,
                       "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False},
            "app_permissions": "8", "locale": "en-US", "entitlements": [], "context": 0,
            "authorizing_integration_owners": {"0": GUILD}, "attachment_size_limit": 8_388_608})
        return interaction

    async def wait(self, interaction: str, limit: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.waiters[interaction]), limit)


@asynccontextmanager
async def _served(stand_in: _StandIn) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/api/v10/users/@me", stand_in.me)
    app.router.add_get("/api/v10/oauth2/applications/@me", stand_in.application)
    app.router.add_get("/api/v10/gateway/bot", stand_in.gateway_bot)
    app.router.add_post("/api/v10/applications/{app}/commands", stand_in.register)
    app.router.add_post("/api/v10/interactions/{interaction}/{token}/callback", stand_in.callback)
    app.router.add_patch("/api/v10/webhooks/{app}/{token}/messages/@original", stand_in.edit)
    app.router.add_get("/gateway", stand_in.gateway)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stand_in.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield stand_in.base
    finally:
        for ws, _ in stand_in.sockets.values():
            with suppress(Exception):
                await ws.close()
        await runner.cleanup()


class _Bare(discord.Client):
    """A bare discord.py handler: it only responds."""

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)


async def _seed(store: Store, topic: str, count: int) -> None:
    now = datetime.now(UTC)
    for n in range(count):
        item = Item(url=f"https://bench.example/{topic}/{n}", title=f"Bench story {n} about {topic}",
                    source="bench", source_name="Bench", published=now - timedelta(hours=n),
                    summary=f"Story {n} happened. It matters.")
        await store.archive(ClassifiedItem.from_item(item, topics=[topic]))


async def _load(stand_in: _StandIn, app: str, command: str, count: int, concurrency: int, first_user: int,
                sample: Sample | None) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    sent: list[str] = []

    async def worker() -> None:
        while True:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            interaction = await stand_in.interact(app, command, first_user + n)
            sent.append(interaction)
            await stand_in.wait(interaction, 30.0)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if sample is None:
        return
    sample.elapsed += time.perf_counter() - began
    sample.first += [stand_in.first[i] - stand_in.sent[i] for i in sent if i in stand_in.first]
    sample.answer += [stand_in.done[i] - stand_in.sent[i] for i in sent if i in stand_in.done]


async def bench_discord(redis: Redis, taxonomy: Taxonomy, sources: SourcesConfig, *, interactions: int = 2000,
                        concurrency: int = 50, command: str = "regulation", rounds: int = 2) -> DiscordBenchResult:
    """Response latency of ai-news's `/ai-news` against a bare discord.py handler's, same stand-in, same run."""
    if command not in taxonomy.slugs:
        raise ValueError(f"benchmark command must be a topic: {', '.join(taxonomy.slugs)}")
    prefix = f"ainews-discord-bench-{uuid.uuid4().hex[:8]}"
    store = Store(redis, Keys(f"{prefix}:"))
    stand_in = _StandIn()
    bare, real = Sample(), Sample()
    per_round = max(1, interactions // rounds)
    try:
        await _seed(store, command, 30)
        async with _served(stand_in) as base:
            settings = Settings(_env_file=None, discord_bot_token=SecretStr(TOKENS[AI_NEWS_APP]),
                                discord_application_id=AI_NEWS_APP, discord_api_base_url=f"{base}/api/v10",
                                discord_gateway_url=base.replace("http", "ws") + "/gateway",
                                command_rate_limit=1000, kafka_topic_prefix=prefix, redis_key_prefix=f"{prefix}:")
            role = DiscordRole(settings, Bus("127.0.0.1:9", TopicTable(prefix, taxonomy.slugs)), store, taxonomy,
                               sources, pacer=Pacer(0), guild_ready_timeout=0.05)
            intents = discord.Intents.none()
            intents.guilds = True
            with endpoints(settings.discord_api_base_url, settings.discord_gateway_url):
                async with role.serving():
                    bare_client = _Bare(intents=intents)  # a plain Client: it connects to the default gateway
                    await bare_client.login(TOKENS[BARE_APP])
                    connecting = asyncio.create_task(bare_client.connect())
                    try:
                        await asyncio.wait_for(stand_in.identified.wait(), 30)
                        await asyncio.wait_for(role.ready.wait(), 30)
                        user = 1_000_000
                        for app in (BARE_APP, AI_NEWS_APP):  # warm up: connections, caches
                            await _load(stand_in, app, command, min(100, interactions), concurrency, user, None)
                            user += 100
                        for _ in range(rounds):
                            for app, sample in ((BARE_APP, bare), (AI_NEWS_APP, real)):
                                await _load(stand_in, app, command, per_round, concurrency, user, sample)
                                user += per_round
                    finally:
                        await bare_client.close()
                        connecting.cancel()
                        await asyncio.gather(connecting, return_exceptions=True)
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    return DiscordBenchResult(command, per_round * rounds, concurrency, bare, real, f"{prefix}:")
