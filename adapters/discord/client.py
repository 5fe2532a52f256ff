"""The discord.py client of the `discord` role, where it connects, and the few REST calls ai-news makes.

discord.py does the work at the edges: REST with its per-route rate-limit buckets, the global limit and 429
`retry_after`; the gateway with heartbeats, resumes and zlib-stream; sharding (`AutoShardedClient` asks
`GET /gateway/bot` how many shards and where, so one token serves every server that invited the bot).

Intents: only `guilds` (no privileged intent): the GUILD_CREATE events fill the cache of channels, roles and the
bot's own member, which says a channel's type and what the bot may do there. Slash commands arrive as interactions
whatever the intents. Nothing here reads message content.

Where it connects: `DISCORD_API_BASE_URL` (REST, and with it interaction callbacks and webhooks, which discord.py
sends to the same base) and `DISCORD_GATEWAY_URL`. discord.py keeps both as class attributes (`Route.BASE`,
`DiscordWebSocket.DEFAULT_GATEWAY`), so they are set for the whole process while the role runs (`endpoints`).

Repeats: discord.py retries a 5xx answer by itself. That is safe for a message posted with a nonce and
`enforce_nonce` (Discord returns the message it already has) and for a thread started from a message (Discord
refuses a second one); it is not for a forum post, which has no nonce. Requests made with `NOT_REPEATABLE` are
therefore cut short on a 5xx (`NotRepeated`), and the delivery looks the post up before trying again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route

if TYPE_CHECKING:  # discord.types modules import each other in a cycle: only for type checking
    from discord.types.channel import Channel as ChannelPayload
    from discord.types.message import Message as MessagePayload
    from discord.types.threads import Thread as ThreadPayload

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
SCOPES = ("bot", "applications.commands")


def intents() -> discord.Intents:
    """The fewest intents that work: guilds (channels, roles and the bot's member in the cache). Not privileged."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


# Exactly what the bot uses: see a channel, post the root (forum: the post), start the thread and post in it,
# embeds, and read back what it posted (to find a part it may have posted before a crash).
PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                                  create_public_threads=True, embed_links=True, read_message_history=True)


def invite_url(application_id: str | int) -> str:
    """The install URL: the bot and its slash commands, with exactly the permissions it uses."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


def permission_name(name: str) -> str:
    """'create_public_threads' -> 'Create Public Threads', as Discord's settings show it."""
    return {"view_channel": "View Channel", "embed_links": "Embed Links"}.get(
        name, name.replace("_", " ").title())


@contextmanager
def endpoints(api_base_url: str | None, gateway_url: str | None) -> Iterator[None]:
    """discord.py's REST base and default gateway for the time of the block (process-wide in discord.py)."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = (api_base_url or DEFAULT_API_BASE_URL).rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


# --- requests that must not be repeated ------------------------------------------------------------------------

class NotRepeated(Exception):
    """A request that must not be repeated got a server error: Discord may have done it. Look before retrying."""

    def __init__(self, status: int) -> None:
        super().__init__(f"Discord answered {status}; not repeated, as it may have been done")
        self.status = status


NOT_REPEATABLE = SimpleNamespace(repeatable=False)


async def _on_request_end(session: aiohttp.ClientSession, context: SimpleNamespace,
                          params: aiohttp.TraceRequestEndParams) -> None:
    marker = getattr(context, "trace_request_ctx", None)
    if marker is NOT_REPEATABLE and params.response.status >= 500:
        raise NotRepeated(params.response.status)


def request_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_on_request_end)
    return trace


# --- the client ------------------------------------------------------------------------------------------------

class Client(discord.AutoShardedClient):
    """The role's discord.py client: interactions go to `on_interaction_received`; a failing event is logged and
    never stops the bot (discord.py's `on_error`)."""

    def __init__(self, *, on_interaction_received: Callable[[discord.Interaction], Awaitable[None]],
                 gateway_url: str | None = None, guild_ready_timeout: float = 2.0) -> None:
        # ai-news never joins voice: discord.py's warnings about missing voice libraries are noise here.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents(), allowed_mentions=discord.AllowedMentions.none(),
                         member_cache_flags=discord.MemberCacheFlags.none(), max_messages=None,
                         chunk_guilds_at_startup=False, guild_ready_timeout=guild_ready_timeout,
                         http_trace=request_trace())
        self._on_interaction_received = on_interaction_received
        self._gateway_url = yarl.URL(gateway_url) if gateway_url else None
        self.connected = False

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *, initial: bool = False) -> None:
        # DISCORD_GATEWAY_URL wins over the URL that GET /gateway/bot names.
        await super().launch_shard(self._gateway_url or gateway, shard_id, initial=initial)

    async def on_ready(self) -> None:
        self.connected = True
        log.info("Discord gateway: ready as %s in %d server(s)", self.user, len(self.guilds))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self._on_interaction_received(interaction)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py calls this from the handler of the event's exception, so the traceback is at hand.
        log.error("Discord event %s failed; the bot goes on", event_method, exc_info=sys.exc_info())


# --- REST --------------------------------------------------------------------------------------------------------

@dataclass
class API:
    """The REST calls of the adapter, with raw payloads, through discord.py's HTTP client and its rate limits."""

    http: HTTPClient

    async def channel(self, channel_id: int) -> ChannelPayload:
        return cast("ChannelPayload", await self.http.request(
            Route("GET", "/channels/{channel_id}", channel_id=channel_id)))

    async def send(self, channel_id: int, payload: dict[str, Any], nonce: str) -> MessagePayload:
        """Post a message with a nonce Discord enforces: posting it again returns the message it has already."""
        body = {**payload, "nonce": nonce, "enforce_nonce": True}
        return cast("MessagePayload", await self.http.request(
            Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id), json=body))

    async def edit(self, channel_id: int, message_id: int, payload: dict[str, Any]) -> MessagePayload:
        """Replace a message's embeds (and allowed mentions); repeating it changes nothing more."""
        return cast("MessagePayload", await self.http.request(
            Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                  message_id=message_id), json=payload))

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> ThreadPayload:
        """A public thread started from a message (its id is the message's)."""
        return cast("ThreadPayload", await self.http.request(
            Route("POST", "/channels/{channel_id}/messages/{message_id}/threads", channel_id=channel_id,
                  message_id=message_id),
            json={"name": name, "auto_archive_duration": 1440}))

    async def start_forum_post(self, channel_id: int, name: str, message: dict[str, Any]) -> ThreadPayload:
        """A forum post (a thread whose starter message has the same id). Not repeated after a 5xx."""
        return cast("ThreadPayload", await self.http.request(
            Route("POST", "/channels/{channel_id}/threads", channel_id=channel_id),
            json={"name": name, "auto_archive_duration": 1440, "message": message},
            trace_request_ctx=NOT_REPEATABLE))

    async def messages(self, channel_id: int, *, after: int, limit: int = 100) -> list[MessagePayload]:
        """Messages after an id, oldest first."""
        found = await self.http.request(Route("GET", "/channels/{channel_id}/messages", channel_id=channel_id),
                                        params={"after": after, "limit": limit})
        return sorted(cast("list[MessagePayload]", found), key=lambda m: int(m["id"]))

    async def message(self, channel_id: int, message_id: int) -> MessagePayload:
        return cast("MessagePayload", await self.http.request(
            Route("GET", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                  message_id=message_id)))

    async def active_threads(self, guild_id: int) -> list[ThreadPayload]:
        data = await self.http.request(Route("GET", "/guilds/{guild_id}/threads/active", guild_id=guild_id))
        return list(data.get("threads", []))

    async def archived_threads(self, channel_id: int) -> list[ThreadPayload]:
        data = await self.http.request(
            Route("GET", "/channels/{channel_id}/threads/archived/public", channel_id=channel_id),
            params={"limit": 50})
        return list(data.get("threads", []))
