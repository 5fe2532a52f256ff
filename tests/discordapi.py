"""A local stand-in for Discord, served by aiohttp on 127.0.0.1: the REST API under `/api/v10` (what discord.py and
ai-news call, interaction callbacks and webhooks included) and a gateway WebSocket that speaks the real protocol
(hello, identify, heartbeat and its ack, ready, guild create, interaction create; zlib-stream when the client asks
for it).

It keeps servers (guilds), channels, threads and messages; works out the bot's permissions from roles and channel
overwrites and refuses what Discord would refuse (50001, 50013, 10003, 160004); enforces nonces as Discord does
(the same nonce again returns the first message); checks the command definition the way Discord's validation
does; records every call; and misbehaves on request: 429 with `retry_after` (per route or global), 5xx before or
after doing the work, a Discord error code, or a call that never answers (a process dying mid-call).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import WSMsgType, web

APPLICATION_ID = "223456789012345678"
BOT_ID = APPLICATION_ID  # a bot user has its application's id
BOT_TOKEN = "MjIzNDU2Nzg5MDEyMzQ1Njc4.GstandIn.bot-token-for-the-stand-in"
DISCORD_EPOCH_MS = 1_420_070_400_000
ALL = discord.Permissions.all().value
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content
GUILDS_INTENT = 1 << 0
NAME = re.compile(r"^[-_\w]{1,32}$")


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "username": "ai-news", "discriminator": "0", "global_name": "ai-news", "avatar": None,
            "bot": True, "flags": 0, "public_flags": 0}


def user(user_id: int, name: str = "ada") -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None,
            "bot": False, "public_flags": 0}


@dataclass
class Call:
    route: str
    method: str
    path: str
    params: dict[str, str]
    body: Any
    at: float


@dataclass
class Fault:
    """What a call on `route` does instead of (or after) its work. `when` picks calls by their JSON body."""

    route: str
    status: int = 500
    code: int = 0
    message: str = "stand-in fault"
    retry_after: float | None = None
    global_limit: bool = False
    times: int = 1
    store_first: bool = False
    hang: bool = False
    when: Callable[[Any], bool] | None = None


@dataclass
class Interaction:
    """One interaction sent over the gateway, and every answer ai-news gave to it."""

    id: str
    token: str
    kind: int
    sent_at: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    first_answer_at: float | None = None
    original: dict[str, Any] | None = None
    original_deleted: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)
    done_at: float | None = None

    @property
    def deferred(self) -> bool:
        return bool(self.callbacks) and self.callbacks[0]["type"] == 5

    @property
    def ephemeral(self) -> bool:
        """Whether what the user finally sees is only for them."""
        shown = self.shown
        return shown is not None and bool(int(shown.get("flags") or 0) & 64)

    @property
    def shown(self) -> dict[str, Any] | None:
        """The message the user finally sees (the original response as last edited, or the last follow-up)."""
        if self.followups:
            return self.followups[-1]
        if self.original is not None and not self.original_deleted and self.original.get("embeds"):
            return self.original
        return None

    @property
    def choices(self) -> list[dict[str, Any]]:
        for callback in self.callbacks:
            if callback["type"] == 8:
                return list(callback["data"]["choices"])
        return []


@dataclass
class Gateway:
    """One gateway connection."""

    ws: web.WebSocketResponse
    compress: str | None
    compressor: Any = None
    sequence: int = 0
    identified: dict[str, Any] | None = None
    heartbeats: int = 0


@dataclass
class DiscordAPI:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    guilds: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nonces: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    interactions: dict[str, Interaction] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    tokens: set[str] = field(default_factory=lambda: {BOT_TOKEN})
    gateways: list[Gateway] = field(default_factory=list)
    hung: asyncio.Event = field(default_factory=asyncio.Event)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    shards: int = 1
    _last_id: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # --- set-up ------------------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/gateway"

    def snowflake(self) -> str:
        value = max((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22, self._last_id + 1)
        self._last_id = value
        return str(value)

    def add_guild(self, name: str = "AI team", *, bot_permissions: discord.Permissions | None = None) -> str:
        """A server the bot is in: @everyone with the usual member permissions, and a role of the bot with the
        permissions of the invite (`bot_permissions`)."""
        from adapters.discord.client import PERMISSIONS

        guild_id = self.snowflake()
        everyone = discord.Permissions(view_channel=True, read_message_history=True, send_messages=True,
                                       send_messages_in_threads=True, use_application_commands=True)
        bot_role = self.snowflake()
        granted = bot_permissions if bot_permissions is not None else PERMISSIONS
        self.guilds[guild_id] = {
            "id": guild_id, "name": name, "owner_id": "999", "roles": [
                _role(guild_id, "@everyone", everyone.value, 0),
                _role(bot_role, "ai-news", granted.value, 1, managed=True)],
            "bot_roles": [bot_role], "channel_ids": []}
        return guild_id

    def add_channel(self, guild_id: str, name: str, kind: discord.ChannelType = discord.ChannelType.text,
                    overwrites: list[dict[str, Any]] | None = None) -> str:
        channel_id = self.snowflake()
        channel = {"id": channel_id, "type": kind.value, "guild_id": guild_id, "name": name, "position": 0,
                   "permission_overwrites": overwrites or [], "nsfw": False, "parent_id": None, "topic": None,
                   "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
        if kind in (discord.ChannelType.voice, discord.ChannelType.stage_voice):
            channel.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None, "video_quality_mode": 1})
        if kind is discord.ChannelType.forum:
            channel.update({"available_tags": [], "default_reaction_emoji": None, "default_sort_order": None,
                            "default_forum_layout": 0, "default_thread_rate_limit_per_user": 0})
        self.channels[channel_id] = channel
        self.messages[channel_id] = []
        self.guilds[guild_id]["channel_ids"].append(channel_id)
        return channel_id

    def deny(self, channel_id: str, *names: str) -> None:
        """Take permissions from the bot's role in a channel (Discord would send CHANNEL_UPDATE; this does not,
        so the client's cache still has the old ones)."""
        channel = self.channels[channel_id]
        guild = self.guilds[channel["guild_id"]]
        denied = discord.Permissions(**dict.fromkeys(names, True)).value
        channel["permission_overwrites"].append({"id": guild["bot_roles"][0], "type": 0, "allow": "0",
                                                 "deny": str(denied)})

    def fault(self, route: str, **kwargs: Any) -> Fault:
        fault = Fault(route, **kwargs)
        self.faults.append(fault)
        return fault

    def called(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    def posts(self, channel_id: str) -> list[dict[str, Any]]:
        """The messages of a channel or thread in order."""
        return list(self.messages.get(channel_id, []))

    def threads_of(self, channel_id: str) -> list[dict[str, Any]]:
        return [c for c in self.channels.values() if c.get("parent_id") == channel_id and c["type"] in (10, 11, 12)]

    async def wait_for(self, condition: Callable[[], bool], limit: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout=limit)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- permissions, as Discord computes them -------------------------------------------------------------------

    def bot_permissions(self, channel_id: str) -> discord.Permissions:
        channel = self.channels[channel_id]
        if channel["type"] in (10, 11, 12):
            channel = self.channels[channel["parent_id"]]
        guild = self.guilds[channel["guild_id"]]
        roles = {r["id"]: int(r["permissions"]) for r in guild["roles"]}
        value = roles[guild["id"]]
        for role in guild["bot_roles"]:
            value |= roles[role]
        if value & discord.Permissions(administrator=True).value:
            return discord.Permissions.all()
        for overwrite in channel["permission_overwrites"]:
            if overwrite["id"] == guild["id"] or overwrite["id"] in guild["bot_roles"] or overwrite["id"] == BOT_ID:
                value = (value & ~int(overwrite["deny"])) | int(overwrite["allow"])
        return discord.Permissions(value)

    def _refuse(self, channel_id: str, *needed: str) -> web.Response | None:
        if channel_id not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        permissions = self.bot_permissions(channel_id)
        if not permissions.view_channel:
            return _error(403, 50001, "Missing Access")
        if any(not getattr(permissions, name) for name in needed):
            return _error(403, 50013, "Missing Permissions")
        return None

    # --- REST ------------------------------------------------------------------------------------------------------

    ROUTES = (
        ("GET", "/users/@me", "me"),
        ("GET", "/oauth2/applications/@me", "application"),
        ("GET", "/gateway/bot", "gateway_bot"),
        ("POST", "/applications/{app}/commands", "register"),
        ("GET", "/applications/{app}/commands", "commands"),
        ("GET", "/channels/{channel}", "channel"),
        ("POST", "/channels/{channel}/messages", "send"),
        ("GET", "/channels/{channel}/messages", "history"),
        ("GET", "/channels/{channel}/messages/{message}", "message"),
        ("PATCH", "/channels/{channel}/messages/{message}", "edit"),
        ("POST", "/channels/{channel}/messages/{message}/threads", "thread"),
        ("POST", "/channels/{channel}/threads", "forum_post"),
        ("GET", "/channels/{channel}/threads/archived/public", "archived"),
        ("GET", "/guilds/{guild}/threads/active", "active_threads"),
        ("POST", "/interactions/{interaction}/{token}/callback", "callback"),
        ("PATCH", "/webhooks/{app}/{token}/messages/@original", "edit_original"),
        ("DELETE", "/webhooks/{app}/{token}/messages/@original", "delete_original"),
        ("POST", "/webhooks/{app}/{token}", "followup"),
    )

    def routes(self, app: web.Application) -> None:
        for method, path, name in self.ROUTES:
            app.router.add_route(method, "/api/v10" + path, self._handler(name))
        app.router.add_get("/gateway", self.gateway)

    def _handler(self, name: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            body: Any = None
            if request.can_read_body:
                raw = await request.read()
                body = json.loads(raw) if raw else None
            self.calls.append(Call(name, request.method, request.path, dict(request.query), body, time.monotonic()))
            await self._notify()
            webhook = name in ("callback", "edit_original", "delete_original", "followup")
            if not webhook:
                auth = request.headers.get("Authorization", "")
                if not auth.startswith("Bot ") or auth.removeprefix("Bot ") not in self.tokens:
                    return _error(401, 0, "401: Unauthorized")
            fault = self._take_fault(name, body)
            if fault is not None and not fault.store_first:
                return await self._fault_response(fault)
            response: web.StreamResponse = await getattr(self, "r_" + name)(request, body)
            await self._notify()
            if fault is not None:
                return await self._fault_response(fault)
            response.headers.update(_bucket_headers(name))
            return response

        return handle

    def _take_fault(self, route: str, body: Any) -> Fault | None:
        for fault in self.faults:
            if fault.route == route and fault.times > 0 and (fault.when is None or fault.when(body)):
                fault.times -= 1
                return fault
        return None

    async def _fault_response(self, fault: Fault) -> web.Response:
        if fault.hang:
            self.hung.set()
            await self.closing.wait()
        if fault.status == 429:
            retry = fault.retry_after if fault.retry_after is not None else 1.0
            headers = {"Retry-After": str(max(1, round(retry))), "Via": "1.1 google",
                       "X-RateLimit-Scope": "global" if fault.global_limit else "user"}
            if fault.global_limit:
                headers["X-RateLimit-Global"] = "true"
            body = {"message": "You are being rate limited.", "retry_after": retry, "global": fault.global_limit,
                    "code": 0}
            return _json(body, status=429, headers=headers)
        if fault.status >= 500:
            return web.Response(status=fault.status, text="upstream trouble")
        return _error(fault.status, fault.code, fault.message)

    async def r_me(self, request: web.Request, body: Any) -> web.Response:
        return _json({**bot_user(), "verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def r_application(self, request: web.Request, body: Any) -> web.Response:
        return _json({"id": APPLICATION_ID, "name": "ai-news", "icon": None, "description": "",
                                  "bot_public": True, "bot_require_code_grant": False, "verify_key": "00",
                                  "owner": user(999, "owner"), "flags": 0, "team": None, "summary": "",
                                  "bot": bot_user()})

    async def r_gateway_bot(self, request: web.Request, body: Any) -> web.Response:
        return _json({"url": self.gateway_url, "shards": self.shards, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    async def r_register(self, request: web.Request, body: Any) -> web.Response:
        if request.match_info["app"] != APPLICATION_ID:
            return _error(403, 50001, "Missing Access")
        problems = validate_command(body)
        if problems:
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        command = {**body, "id": self.snowflake(), "application_id": APPLICATION_ID, "version": self.snowflake()}
        self.commands = [c for c in self.commands if c["name"] != body["name"]] + [command]
        return _json(command)

    async def r_commands(self, request: web.Request, body: Any) -> web.Response:
        return _json(self.commands)

    async def r_channel(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id)
        return refused or _json(self.channels[channel_id])

    def _message(self, channel_id: str, body: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
        channel = self.channels[channel_id]
        guild_id = channel.get("guild_id")
        message = {"id": message_id or self.snowflake(), "channel_id": channel_id, "guild_id": guild_id,
                   "author": bot_user(), "content": body.get("content") or "",
                   "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None, "tts": False,
                   "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                   "embeds": [{**e, "type": "rich"} for e in body.get("embeds") or []], "pinned": False, "type": 0,
                   "flags": int(body.get("flags") or 0), "components": [],
                   "allowed_mentions": body.get("allowed_mentions")}
        message["pings"] = pings(message)
        return message

    async def r_send(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        channel = self.channels.get(channel_id)
        thread = channel is not None and channel["type"] in (10, 11, 12)
        refused = self._refuse(channel_id, "send_messages_in_threads" if thread else "send_messages")
        if refused:
            return refused
        assert channel is not None
        if channel["type"] == discord.ChannelType.forum.value:
            return _error(400, 50008, "Cannot send messages in a non-text channel")
        if thread and channel.get("thread_metadata", {}).get("locked"):
            return _error(403, 50083, "Operation cannot be performed on an archived thread")
        problems = embed_problems(body)
        if problems:
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        nonce = body.get("nonce")
        key = (channel_id, BOT_ID, str(nonce))
        if nonce is not None and body.get("enforce_nonce") and key in self.nonces:
            return _json(_visible(self.nonces[key]))
        message = self._message(channel_id, body)
        self.messages[channel_id].append(message)
        if nonce is not None:
            self.nonces[key] = message
        if thread:
            channel["message_count"] = channel.get("message_count", 0) + 1
        return _json({**_visible(message), "nonce": nonce})

    async def r_history(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id, "read_message_history")
        if refused:
            return refused
        after = int(request.query.get("after", 0))
        limit = min(100, int(request.query.get("limit", 50)))
        found = [m for m in self.messages[channel_id] if int(m["id"]) > after][:limit]
        return _json([_visible(m) for m in reversed(found)])  # newest first, as Discord

    async def r_message(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id, "read_message_history")
        if refused:
            return refused
        for message in self.messages[channel_id]:
            if message["id"] == request.match_info["message"]:
                return _json(_visible(message))
        return _error(404, 10008, "Unknown Message")

    async def r_edit(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id)
        if refused:
            return refused
        for message in self.messages[channel_id]:
            if message["id"] == request.match_info["message"]:
                break
        else:
            return _error(404, 10008, "Unknown Message")
        if message["author"]["id"] != BOT_ID:
            return _error(403, 50005, "Cannot edit a message authored by another user")
        problems = embed_problems(body)
        if problems:
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        if "embeds" in body:
            message["embeds"] = [{**e, "type": "rich"} for e in body["embeds"]]
        if "allowed_mentions" in body:
            message["allowed_mentions"] = body["allowed_mentions"]
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        message["edits"] = message.get("edits", 0) + 1
        message["pings"] = pings(message)
        return _json(_visible(message))

    def _thread(self, parent: dict[str, Any], thread_id: str, name: str, kind: int) -> dict[str, Any]:
        thread = {"id": thread_id, "type": kind, "guild_id": parent["guild_id"], "parent_id": parent["id"],
                  "owner_id": BOT_ID, "name": name, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
                  "last_message_id": None, "flags": 0, "total_message_sent": 0,
                  "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "locked": False,
                                      "archive_timestamp": datetime.now(UTC).isoformat(), "create_timestamp":
                                      datetime.now(UTC).isoformat()}}
        self.channels[thread_id] = thread
        self.messages[thread_id] = []
        return thread

    async def r_thread(self, request: web.Request, body: Any) -> web.Response:
        channel_id, message_id = request.match_info["channel"], request.match_info["message"]
        refused = self._refuse(channel_id, "create_public_threads")
        if refused:
            return refused
        if not any(m["id"] == message_id for m in self.messages[channel_id]):
            return _error(404, 10008, "Unknown Message")
        if message_id in self.channels:
            return _error(400, 160004, "A thread has already been created for this message")
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return _error(400, 50035, "Invalid Form Body: name")
        parent = self.channels[channel_id]
        kind = 10 if parent["type"] == discord.ChannelType.news.value else 11
        return _json(self._thread(parent, message_id, name, kind))

    async def r_forum_post(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id, "send_messages")
        if refused:
            return refused
        parent = self.channels[channel_id]
        if parent["type"] != discord.ChannelType.forum.value:
            return _error(400, 50024, "Cannot execute action on this channel type")
        name = str(body.get("name") or "")
        problems = embed_problems(body.get("message") or {})
        if not 1 <= len(name) <= 100 or not (body.get("message") or {}).get("embeds") or problems:
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems or ["name or message"]))
        thread_id = self.snowflake()
        thread = self._thread(parent, thread_id, name, 11)
        starter = self._message(thread_id, body["message"], message_id=thread_id)
        self.messages[thread_id].append(starter)
        return _json({**thread, "message": _visible(starter)})

    async def r_archived(self, request: web.Request, body: Any) -> web.Response:
        channel_id = request.match_info["channel"]
        refused = self._refuse(channel_id, "read_message_history")
        if refused:
            return refused
        threads = [t for t in self.threads_of(channel_id) if t["thread_metadata"]["archived"]]
        return _json({"threads": threads, "members": [], "has_more": False})

    async def r_active_threads(self, request: web.Request, body: Any) -> web.Response:
        guild_id = request.match_info["guild"]
        threads = [c for c in self.channels.values() if c.get("guild_id") == guild_id and c["type"] in (10, 11, 12)
                   and not c["thread_metadata"]["archived"]]
        return _json({"threads": threads, "members": []})

    # --- interactions ----------------------------------------------------------------------------------------------

    def _interaction(self, request: web.Request) -> Interaction | None:
        for interaction in self.interactions.values():
            if interaction.token == request.match_info["token"]:
                return interaction
        return None

    async def r_callback(self, request: web.Request, body: Any) -> web.Response:
        interaction = self.interactions.get(request.match_info["interaction"])
        if interaction is None or interaction.token != request.match_info["token"]:
            return _error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        now = time.perf_counter()
        if now - interaction.sent_at > 3.0:
            return _error(404, 10062, "Unknown interaction")  # Discord gives 3 s for the first answer
        kind, data = body["type"], body.get("data") or {}
        problems = embed_problems(data)
        if problems:
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        interaction.callbacks.append(body)
        interaction.first_answer_at = now
        result: dict[str, Any] = {"interaction": {"id": interaction.id, "type": interaction.kind}}
        if kind in (4, 5):
            message = {**self._interaction_message(data), "interaction_loading": kind == 5}
            interaction.original = message
            if kind == 4:
                interaction.done_at = now
            result["interaction"].update({"response_message_id": message["id"], "response_message_loading":
                                          kind == 5, "response_message_ephemeral": bool(message["flags"] & 64)})
            result["resource"] = {"type": kind, "message": message}
        elif kind == 8:
            interaction.done_at = now
        return _json(result)

    def _interaction_message(self, data: dict[str, Any], flags: int | None = None) -> dict[str, Any]:
        return {"id": self.snowflake(), "channel_id": "0", "author": bot_user(), "content": data.get("content") or "",
                "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None, "tts": False,
                "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
                "embeds": list(data.get("embeds") or []), "pinned": False, "type": 20,
                "flags": int(data.get("flags") or 0) if flags is None else flags, "components": [],
                "allowed_mentions": data.get("allowed_mentions")}

    async def r_edit_original(self, request: web.Request, body: Any) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or interaction.original is None or interaction.original_deleted:
            return _error(404, 10008, "Unknown Message")
        if embed_problems(body):
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(embed_problems(body)))
        interaction.original.update({k: v for k, v in body.items() if k in ("embeds", "content", "allowed_mentions")})
        interaction.original["interaction_loading"] = False
        interaction.done_at = time.perf_counter()
        return _json(interaction.original)

    async def r_delete_original(self, request: web.Request, body: Any) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or interaction.original is None:
            return _error(404, 10008, "Unknown Message")
        interaction.original_deleted = True
        return web.Response(status=204)

    async def r_followup(self, request: web.Request, body: Any) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or not interaction.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        if embed_problems(body):
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(embed_problems(body)))
        message = self._interaction_message(body)
        interaction.followups.append(message)
        interaction.done_at = time.perf_counter()
        return _json(message)

    async def interact(self, guild_id: str, channel_id: str, options: list[dict[str, Any]], *,
                       user_id: int = 4242, member_permissions: discord.Permissions | None = None,
                       autocomplete: bool = False) -> Interaction:
        """Send `/ai-news` with these options (a subcommand and its values) over the gateway, as Discord does when
        a user runs it (or types into an autocompleting option)."""
        interaction_id = self.snowflake()
        token = f"interaction-token-{interaction_id}"
        channel = self.channels[channel_id]
        perms = member_permissions if member_permissions is not None else discord.Permissions(
            view_channel=True, send_messages=True, read_message_history=True, use_application_commands=True)
        command = next((c for c in self.commands if c["name"] == "ai-news"), {"id": "0"})
        payload = {
            "id": interaction_id, "application_id": APPLICATION_ID, "type": 4 if autocomplete else 2,
            "data": {"id": command["id"], "name": "ai-news", "type": 1, "options": options},
            "guild_id": guild_id, "channel_id": channel_id, "channel": {**channel},
            "member": {"user": user(user_id), "roles": [], "joined_at": "2025-01-01T00:00:00+00:00",
                       "permissions": str(perms.value), "deaf": False, "mute": False, "flags": 0, "nick": None,
                       "avatar": None, "pending": False, "premium_since": None},
            "token": token, "version": 1, "app_permissions": str(self.bot_permissions(channel_id).value),
            "locale": "en-US", "guild_locale": "en-US", "entitlements": [], "context": 0,
            "authorizing_integration_owners": {"0": guild_id}, "attachment_size_limit": 8_388_608}
        interaction = Interaction(interaction_id, token, payload["type"], time.perf_counter())
        self.interactions[interaction_id] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def answered(self, interaction: Interaction, limit: float = 10.0) -> Interaction:
        """Wait until ai-news has answered the interaction (not only deferred it)."""
        await self.wait_for(lambda: interaction.done_at is not None, limit)
        return interaction

    # --- the gateway -----------------------------------------------------------------------------------------------

    async def revoke(self, token: str = BOT_TOKEN) -> None:
        """The token is reset on the developer portal: Discord closes its gateway sessions (4004)."""
        self.tokens.discard(token)
        for connection in self.gateways:
            if connection.identified is not None and connection.identified.get("token") == token:
                await connection.ws.close(code=4004, message=b"Authentication failed.")

    @property
    def connected(self) -> bool:
        return any(g.identified is not None and not g.ws.closed for g in self.gateways)

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            await ws.close(code=4000, message=b"unsupported compression")
            return ws
        connection = Gateway(ws, compress, zlib.compressobj() if compress else None)
        self.gateways.append(connection)
        await self._send(connection, {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            data = json.loads(frame.data)
            op = data.get("op")
            if op == 1:
                connection.heartbeats += 1
                await self._send(connection, {"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                await self._identify(connection, data["d"])
            elif op == 6:  # resume: this stand-in keeps no sessions, so the client identifies again
                await self._send(connection, {"op": 9, "d": False, "s": None, "t": None})
            await self._notify()
        return ws

    async def _identify(self, connection: Gateway, identify: dict[str, Any]) -> None:
        if identify.get("token") not in self.tokens:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(identify.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        connection.identified = identify
        shard = identify.get("shard") or [0, 1]
        guilds = [g for g in self.guilds if (int(g) >> 22) % shard[1] == shard[0]]
        await self._dispatch(connection, "READY", {
            "v": 10, "user": bot_user(), "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "session_id": f"session-{len(self.gateways)}", "resume_gateway_url": self.gateway_url,
            "shard": shard, "application": {"id": APPLICATION_ID, "flags": 0}})
        if intents & GUILDS_INTENT:
            for guild_id in guilds:
                await self._dispatch(connection, "GUILD_CREATE", self.guild_payload(guild_id))

    def guild_payload(self, guild_id: str) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        channels = [self.channels[c] for c in guild["channel_ids"]]
        threads = [c for c in self.channels.values() if c.get("guild_id") == guild_id and c["type"] in (10, 11, 12)]
        member = {"user": bot_user(), "roles": guild["bot_roles"], "joined_at": "2025-01-01T00:00:00+00:00",
                  "deaf": False, "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False}
        return {"id": guild_id, "name": guild["name"], "owner_id": guild["owner_id"], "roles": guild["roles"],
                "channels": channels, "threads": threads, "members": [member], "member_count": 2, "large": False,
                "unavailable": False, "features": [], "emojis": [], "stickers": [], "voice_states": [],
                "presences": [], "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
                "joined_at": "2025-01-01T00:00:00+00:00", "verification_level": 0, "premium_tier": 0,
                "preferred_locale": "en-US", "system_channel_flags": 0, "nsfw_level": 0, "mfa_level": 0}

    async def _send(self, connection: Gateway, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        if connection.compressor is not None:
            data = connection.compressor.compress(text.encode()) + connection.compressor.flush(zlib.Z_SYNC_FLUSH)
            await connection.ws.send_bytes(data)
        else:
            await connection.ws.send_str(text)

    async def _dispatch(self, connection: Gateway, event: str, data: dict[str, Any]) -> None:
        connection.sequence += 1
        await self._send(connection, {"op": 0, "t": event, "s": connection.sequence, "d": data})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to every identified connection (one shard here)."""
        live = [g for g in self.gateways if g.identified is not None and not g.ws.closed]
        if not live:
            raise AssertionError("no gateway connection to send the event on")
        for connection in live:
            await self._dispatch(connection, event, data)


def _role(role_id: str, name: str, permissions: int, position: int, *, managed: bool = False) -> dict[str, Any]:
    return {"id": role_id, "name": name, "permissions": str(permissions), "position": position, "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None}, "hoist": False,
            "managed": managed, "mentionable": False, "flags": 0, "icon": None, "unicode_emoji": None}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it (discord.py reads a body as JSON only with exactly this content type)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={**(headers or {}), "Content-Type": "application/json"})


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _visible(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("allowed_mentions", "pings")}


def _bucket_headers(route: str) -> dict[str, str]:
    return {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "49", "X-RateLimit-Reset-After": "1.0",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}", "X-RateLimit-Bucket": f"bucket-{route}"}


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def pings(message: dict[str, Any]) -> list[str]:
    """Who Discord would notify for this message: mentions in its content that its allowed_mentions permit (text
    in embeds never notifies)."""
    content = message.get("content") or ""
    allowed = message.get("allowed_mentions")
    parse = set(allowed.get("parse", [])) if isinstance(allowed, dict) else {"everyone", "users", "roles"}
    users = set(allowed.get("users", [])) if isinstance(allowed, dict) else set()
    roles = set(allowed.get("roles", [])) if isinstance(allowed, dict) else set()
    found = []
    if "everyone" in parse and re.search(r"@(everyone|here)\b", content):
        found.append("@everyone")
    found += [f"user:{u}" for u in _USER_MENTION.findall(content) if "users" in parse or u in users]
    found += [f"role:{r}" for r in _ROLE_MENTION.findall(content) if "roles" in parse or r in roles]
    return found


def embed_problems(message: dict[str, Any]) -> list[str]:
    """What Discord's embed limits refuse in a message."""
    embeds = message.get("embeds") or []
    problems = [f"{len(embeds)} embeds (at most 10)"] if len(embeds) > 10 else []
    total = 0
    for n, embed in enumerate(embeds):
        limits = {"title": 256, "description": 4096}
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                problems.append(f"embeds[{n}].{key}: more than {limit} characters")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"embeds[{n}].fields: more than 25")
        for item in fields:
            if not 1 <= len(item["name"]) <= 256 or not 1 <= len(item["value"]) <= 1024:
                problems.append(f"embeds[{n}].fields: a name or value out of bounds")
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            problems.append(f"embeds[{n}].footer: more than 2048 characters")
        if len((embed.get("author") or {}).get("name") or "") > 256:
            problems.append(f"embeds[{n}].author: more than 256 characters")
        total += sum(len(embed.get(k) or "") for k in limits) + sum(
            len(f["name"]) + len(f["value"]) for f in fields) + len((embed.get("footer") or {}).get("text") or "") + \
            len((embed.get("author") or {}).get("name") or "")
    if total > 6000:
        problems.append(f"{total} characters in the embeds (at most 6000)")
    return problems


def validate_command(command: Any) -> list[str]:
    """What Discord's API would refuse in an application command (the rules ai-news's definition meets)."""
    problems: list[str] = []

    def check(option: dict[str, Any], where: str, depth: int) -> None:
        name = str(option.get("name", ""))
        if not NAME.match(name) or name != name.lower():
            problems.append(f"{where}.name {name!r} is not a valid command name")
        description = str(option.get("description", ""))
        if not 1 <= len(description) <= 100:
            problems.append(f"{where}.description must be 1 to 100 characters ({len(description)})")
        children = option.get("options") or []
        if len(children) > 25:
            problems.append(f"{where}.options: at most 25 ({len(children)})")
        names = [str(c.get("name")) for c in children]
        if len(set(names)) != len(names):
            problems.append(f"{where}.options: duplicate names")
        seen_optional = False
        for index, child in enumerate(children):
            if child.get("type") in (1, 2):
                if depth >= 2:
                    problems.append(f"{where}.options[{index}]: subcommands nest at most two deep")
                check(child, f"{where}.options[{index}]", depth + 1)
                continue
            if child.get("required"):
                if seen_optional:
                    problems.append(f"{where}.options[{index}]: required options must come first")
            else:
                seen_optional = True
            check({**child, "options": []}, f"{where}.options[{index}]", depth + 1)
            if child.get("autocomplete") and child.get("choices"):
                problems.append(f"{where}.options[{index}]: autocomplete and choices exclude each other")
        if any(c.get("type") in (1, 2) for c in children) and any(c.get("type") not in (1, 2) for c in children):
            problems.append(f"{where}.options: subcommands cannot be mixed with other options")

    if not isinstance(command, dict):
        return ["not an object"]
    check(command, "command", 0)
    return problems


@asynccontextmanager
async def discord_api() -> AsyncIterator[DiscordAPI]:
    api = DiscordAPI()
    app = web.Application()
    api.routes(app)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield api
    finally:
        api.closing.set()  # calls held open ("hang") end now
        for connection in api.gateways:
            with suppress(Exception):
                await connection.ws.close()
        await runner.cleanup()


# --- the Discord role against the stand-in -----------------------------------------------------------------------

def role_settings(settings: Any, api: DiscordAPI, **changes: Any) -> Any:
    """The test settings (a Settings) with the bot token, application id and this stand-in's URLs."""
    from pydantic import SecretStr

    values: dict[str, Any] = {"discord_bot_token": SecretStr(BOT_TOKEN), "discord_application_id": APPLICATION_ID,
                              "discord_api_base_url": api.api_url, "discord_gateway_url": api.gateway_url,
                              "discord_post_interval": 0.0}
    values.update(changes)
    return settings.model_copy(update=values)


def make_role(settings: Any, store: Any, taxonomy: Any, *, bus: Any = None, clock: Any = None,
              sources: Any = None) -> Any:
    """The real Discord role (discord.py client and all), with a short wait for the servers of READY."""
    from adapters.discord.role import DiscordRole
    from bot.bus import Bus, TopicTable
    from bot.delivery import Pacer
    from bot.sources import Source, SourcesConfig

    if bus is None:  # never started: these tests use no Kafka
        bus = Bus("127.0.0.1:9", TopicTable(settings.kafka_topic_prefix, taxonomy.slugs))
    if sources is None:
        sources = SourcesConfig(sources=(
            Source(id="lab-blog", name="Lab blog", url="https://example.com/feed.xml"),
            Source(id="policy-news", name="Policy news", url="https://example.org/rss")))
    return DiscordRole(settings, bus, store, taxonomy, sources, pacer=Pacer(0), clock=clock,
                       guild_ready_timeout=0.05)


@asynccontextmanager
async def serving(settings: Any, store: Any, taxonomy: Any, **options: Any) -> AsyncIterator[Any]:
    """The real Discord role, logged in and connected to the stand-in's gateway until the block ends."""
    role = make_role(settings, store, taxonomy, **options)
    async with role.serving():
        await asyncio.wait_for(role.ready.wait(), 10)
        yield role


def embed_text(message: dict[str, Any] | None) -> str:
    """Every text of a message's embeds, for assertions."""
    if message is None:
        return ""
    found: list[str] = []
    for embed in message.get("embeds") or []:
        for key in ("title", "description"):
            if embed.get(key):
                found.append(str(embed[key]))
        for name in ("author", "footer"):
            if embed.get(name):
                found.append(str(embed[name].get("name") or embed[name].get("text") or ""))
        for item in embed.get("fields") or []:
            found += [str(item["name"]), str(item["value"])]
    return "\n".join(found)
