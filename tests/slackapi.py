"""A local stand-in for the Slack Web API (and response URLs, and the Socket Mode WebSocket), served by aiohttp on
127.0.0.1. It keeps the messages posted per channel (with threads and metadata), records every call, and
misbehaves on request: 429 with Retry-After, 5xx, Slack errors, a failure after the message was stored, or a
call that never answers (a process dying mid-call)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float


@dataclass
class Fault:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1
    store_first: bool = False
    hang: bool = False
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class SlackAPI:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    views: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=lambda: {BOT_TOKEN: TEAM})
    joined: set[str] = field(default_factory=set)
    history_needs_membership: bool = False
    metadata_hidden: bool = False
    respond_delay: float = 0.0
    oauth_code: str = "good-code"
    oauth_team: str = "T0002"
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _last_ts: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self) -> str:
        return f"{self.base}/respond/{uuid.uuid4().hex}"

    def fault(self, method: str, **kwargs: Any) -> Fault:
        fault = Fault(method, **kwargs)
        self.faults.append(fault)
        return fault

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def thread(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages in posting order."""
        return list(self.messages.get(channel, []))

    async def wait_for(self, condition: Callable[[], bool], limit: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout=limit)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and (fault.when is None or fault.when(params)):
                fault.times -= 1
                return fault
        return None

    # --- the API --------------------------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                params.update(json.loads(raw or b"{}"))
            else:
                params.update(dict(parse_qsl(raw.decode())))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        self.calls.append(Call(method, params, token, time.monotonic()))
        await self._notify()
        fault = self._take_fault(method, params)
        if fault is not None and not fault.store_first:
            if fault.hang:
                self.hung.set()
                await self.closing.wait()
            return self._fault_response(fault)
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if method not in ("apps.connections.open", "oauth.v2.access") and token not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        result: dict[str, Any] = await handler(params, token)
        await self._notify()
        if fault is not None:
            if fault.hang:
                self.hung.set()
                await self.closing.wait()
            return self._fault_response(fault)
        return web.json_response(result)

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.status >= 500:
            return web.Response(status=fault.status, text="upstream trouble", headers=headers)
        body = {"ok": False, "error": fault.error or ("ratelimited" if fault.status == 429 else "fatal_error")}
        return web.json_response(body, status=fault.status, headers=headers)

    def _next_ts(self) -> str:
        # Like Slack's: the epoch time of the post, in microseconds, unique and increasing.
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    async def m_auth_test(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self.tokens.get(token or "", TEAM)
        return {"ok": True, "url": f"https://{team.lower()}.example.slack.com/", "team": f"Team {team}",
                "user": "ai-news", "team_id": team, "user_id": "U0BOT", "bot_id": "B0BOT",
                "is_enterprise_install": False}

    async def m_chat_postMessage(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params["channel"]
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = {"type": "message", "ts": self._next_ts(), "text": params.get("text", ""), "blocks": blocks,
                   "thread_ts": params.get("thread_ts"), "metadata": metadata, "bot_id": "B0BOT",
                   "params": params, "token": token}
        if message["thread_ts"] is None:
            message.pop("thread_ts")
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"],
                "message": {k: v for k, v in message.items() if k not in ("params", "token", "update_params")}}

    async def m_chat_update(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel, ts = params["channel"], params["ts"]
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                break
        else:
            return {"ok": False, "error": "message_not_found"}
        blocks = params.get("blocks")
        metadata = params.get("metadata")
        message.update({"text": params.get("text", ""), "blocks": json.loads(blocks) if isinstance(blocks, str)
                        else blocks, "edited": message.get("edited", 0) + 1,
                        "update_params": params})
        if metadata is not None:
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}

    def _visible(self, message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
        shown = {k: v for k, v in message.items() if k not in ("params", "token", "metadata", "update_params")}
        if with_metadata and message.get("metadata") and not self.metadata_hidden:
            shown["metadata"] = message["metadata"]
        return shown

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        limit = int(params.get("limit") or 100)
        start = int(params.get("cursor") or 0)
        page = items[start:start + limit]
        more = start + limit < len(items)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    async def m_conversations_history(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel = params["channel"]
        if self.history_needs_membership and channel not in self.joined:
            return {"ok": False, "error": "not_in_channel"}
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        top = [self._visible(m, with_metadata) for m in reversed(self.messages.get(channel, []))
               if "thread_ts" not in m and float(m["ts"]) >= oldest]
        return self._page(top, params)

    async def m_conversations_replies(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        channel, root = params["channel"], params["ts"]
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        thread = [self._visible(m, with_metadata) for m in self.messages.get(channel, [])
                  if m["ts"] == root or m.get("thread_ts") == root]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(thread, params)

    async def m_conversations_join(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        self.joined.add(params["channel"])
        return {"ok": True, "channel": {"id": params["channel"]}}

    async def m_chat_getPermalink(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        ts = params["message_ts"].replace(".", "")
        return {"ok": True, "channel": params["channel"],
                "permalink": f"https://example.slack.com/archives/{params['channel']}/p{ts}"}

    async def m_views_publish(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        view = params["view"]
        self.views.append({"user_id": params["user_id"], "view": json.loads(view) if isinstance(view, str) else view,
                           "token": token})
        return {"ok": True, "view": {"id": "V1"}}

    async def m_apps_connections_open(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if token != APP_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}

    async def m_oauth_v2_access(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if params.get("code") != self.oauth_code:
            return {"ok": False, "error": "invalid_code"}
        bot_token = f"xoxb-{self.oauth_team}-installed"
        self.tokens[bot_token] = self.oauth_team
        return {"ok": True, "app_id": "A0APP", "access_token": bot_token, "token_type": "bot",
                "scope": "commands,chat:write", "bot_user_id": "U0BOT2",
                "team": {"id": self.oauth_team, "name": "Second Team"}, "enterprise": None,
                "authed_user": {"id": "U0ADMIN"}, "is_enterprise_install": False}

    # --- response URLs ----------------------------------------------------------------------------------------

    async def respond(self, request: web.Request) -> web.Response:
        if self.respond_delay:
            await asyncio.sleep(self.respond_delay)
        body = await request.json()
        self.responses.setdefault(request.match_info["id"], []).append(body)
        await self._notify()
        return web.Response(text="ok")

    def answers(self) -> list[dict[str, Any]]:
        return [body for bodies in self.responses.values() for body in bodies]

    # --- Socket Mode --------------------------------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "debug_info": {"host": "local"}, "connection_info": {"app_id": "A0APP"}}))
        await self._notify()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.socket_acks[data["envelope_id"]] = data
                    await self._notify()
        return ws

    @property
    def socket_connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        live = [ws for ws in self._sockets if not ws.closed]
        await live[-1].send_str(json.dumps(envelope))


@asynccontextmanager
async def slack_api() -> AsyncIterator[SlackAPI]:
    api = SlackAPI()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", api.api)
    app.router.add_post("/respond/{id}", api.respond)
    app.router.add_get("/socket", api.socket)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield api
    finally:
        api.closing.set()  # calls held open ("hang") end now
        for ws in api._sockets:
            with suppress(Exception):
                await ws.close()
        await runner.cleanup()


# --- signed requests ---------------------------------------------------------------------------------------

def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request body: its timestamp and v0 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def hmac_signature(body: str, secret: str, timestamp: str) -> str:
    """The same signature computed by hand (what SignatureVerifier does), for the tests of the tests."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def command_form(text: str, *, response_url: str, channel: str = "C0456", user: str = "U0789",
                 team: str = TEAM) -> dict[str, str]:
    return {"token": "legacy", "team_id": team, "team_domain": "example", "channel_id": channel,
            "channel_name": "ai", "user_id": user, "user_name": "ada", "command": "/ai-news", "text": text,
            "api_app_id": "A0APP", "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": f"1.2.{uuid.uuid4().hex}"}


def signed_command(text: str, *, response_url: str, secret: str = SIGNING_SECRET, timestamp: int | None = None,
                   **fields: str) -> tuple[str, dict[str, str]]:
    body = urlencode(command_form(text, response_url=response_url, **fields))
    headers = {**sign(body, secret, timestamp), "Content-Type": "application/x-www-form-urlencoded"}
    return body, headers


# --- the Slack role against the stand-in -------------------------------------------------------------------

def role_settings(settings: Any, api: SlackAPI, **changes: Any) -> Any:
    """The test settings (a Settings) with a bot token, signing secret and this stand-in's API URL."""
    from pydantic import SecretStr

    values: dict[str, Any] = {"slack_bot_token": SecretStr(BOT_TOKEN),
                              "slack_signing_secret": SecretStr(SIGNING_SECRET),
                              "slack_api_base_url": api.api_url, "slack_post_interval": 0.0}
    values.update(changes)
    return settings.model_copy(update=values)


def make_role(settings: Any, store: Any, taxonomy: Any, *, bus: Any = None, clock: Any = None,
              sources: Any = None) -> Any:
    """The real Slack role, to serve HTTP on a free port of 127.0.0.1 (and Socket Mode if configured)."""
    from adapters.slack.delivery import Pacer
    from adapters.slack.role import SlackRole
    from bot.bus import Bus, TopicTable
    from bot.sources import Source, SourcesConfig

    if bus is None:  # never started: these tests use no Kafka
        bus = Bus("127.0.0.1:9", TopicTable(settings.kafka_topic_prefix, taxonomy.slugs))
    if sources is None:
        sources = SourcesConfig(sources=(
            Source(id="lab-blog", name="Lab blog", url="https://example.com/feed.xml"),
            Source(id="policy-news", name="Policy news", url="https://example.org/rss"),
            Source(id="old-blog", name="Old blog", url="https://example.net/rss", enabled=False)))
    return SlackRole(settings, bus, store, taxonomy, sources, http_host="127.0.0.1", http_port=0, pacer=Pacer(0),
                     clock=clock)


@asynccontextmanager
async def serving(settings: Any, store: Any, taxonomy: Any, **options: Any) -> AsyncIterator[Any]:
    """The real Slack role, serving until the block ends."""
    role = make_role(settings, store, taxonomy, **options)
    async with role.serving():
        yield role


# --- asking the app ------------------------------------------------------------------------------------------

async def post(role: Any, body: str, headers: dict[str, str]) -> tuple[int, float]:
    url = f"http://127.0.0.1:{role.bound_port}/slack/events"
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status, time.perf_counter() - started


async def ask(role: Any, api: SlackAPI, text: str, **fields: str) -> dict[str, Any]:
    """Send `/ai-news text` signed; wait for the answer at the response URL and return it."""
    before = len(api.answers())
    body, headers = signed_command(text, response_url=api.response_url(), **fields)
    status, _ = await post(role, body, headers)
    assert status == 200
    await api.wait_for(lambda: len(api.answers()) > before)
    return api.answers()[-1]


def all_text(answer: dict[str, Any]) -> str:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "text" and isinstance(inner, str):
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(answer["blocks"])
    return "\n".join(found)
