"""Posting a Briefing to Discord, exactly once, through the shared delivery mechanism (`bot.delivery`).

The channel's type decides the shape (no configuration):
- a text or announcement channel gets the root message (the root embed), then a public thread started from it,
  named from the title and date, with one message per section, then the outlook and the sources;
- a forum channel gets one forum post per edition: its starter message is the root, the rest are replies in it.

`bot.delivery` keeps the ledger (`Keys.delivery("discord", edition_id)`: `pending:<n>`, `id:<n>`, `done`; here also
`thread` and `guild`), the per-edition lock and the pacing. This module only translates:
- every message goes out with no allowed mentions (the embeds are rendered with mentions neutralised, too) and a
  nonce derived from the edition and part, with `enforce_nonce`: posting a part again within Discord's nonce window
  returns the message already there;
- a part left pending by a crash is looked up before it is posted again: a root in the channel's history since
  the claim, a forum post among the forum's threads, a reply in the thread after the part before it; each is
  matched as a message of the bot with the same embeds. A half-posted thread is completed, never restarted;
- the thread is started from the recorded root (Discord refuses a second thread on a message, and the thread's id
  is the root's, so a thread made before a crash is found by its id);
- errors: 429 is waited out by discord.py; 5xx is repeated by discord.py only where a repeat cannot double-post (a
  message with a nonce, a thread from a message; a forum post is not repeated but looked up); what cannot succeed
  (Missing Access 50001, Missing Permissions 50013, Unknown Channel 10003, ...) goes to the dead-letter topic with
  the fix, e.g. "give the bot Create Public Threads in #news". When the cache says a permission is missing, the
  delivery stops before posting anything.

Alerts and digests (`AlertDelivery`) and sources' changes of health (`OpsDelivery`, to a Discord OPS_CHANNEL) go
through the same ledger as one message each (in a forum channel, a post named after the story); a higher revision of
an alert already posted edits that message in place (`PATCH`; a message deleted meanwhile is left alone).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord
from aiokafka import ConsumerRecord

from adapters.discord.channels import PLATFORM, DiscordChannel, parse_channel
from adapters.discord.client import API, NotRepeated, permission_name
from adapters.discord.render import (
    DiscordMessage,
    alert_name,
    render_alert,
    render_briefing,
    render_digest,
    render_health,
)
from bot.bus import PermanentError
from bot.delivery import Deliveries, DeliveryResult, Ledger, Pacer, api_failure, unreachable
from bot.models import Alert, AlertDigest, Briefing, HealthEvent, stable_id
from bot.store import Store

if TYPE_CHECKING:  # discord.types modules import each other in a cycle: only for type checking
    from discord.types.message import Message as MessagePayload
    from discord.types.threads import Thread as ThreadPayload

log = logging.getLogger(__name__)

# How far before a pending claim the history is searched (clock differences between hosts and Discord).
CLOCK_MARGIN = 300.0
MAX_PAGES = 20
NONCE_CHARS = 25  # Discord's limit
THREAD_ALREADY_CREATED = 160004
WEB = "https://discord.com/channels"

Kind = Literal["text", "forum"]
Step = Literal["look", "post", "thread", "reply", "forum", "read"]

# What each step needs, named as Discord's settings name the permissions.
NEEDS: dict[Step, tuple[str, ...]] = {
    "look": ("view_channel",),
    "post": ("view_channel", "send_messages", "embed_links"),
    "thread": ("create_public_threads",),
    "reply": ("send_messages_in_threads", "embed_links"),
    "forum": ("view_channel", "send_messages", "embed_links"),
    "read": ("read_message_history",),
}
KIND_NEEDS: dict[Kind, tuple[str, ...]] = {
    "text": ("view_channel", "send_messages", "embed_links", "read_message_history", "create_public_threads",
             "send_messages_in_threads"),
    "forum": ("view_channel", "send_messages", "embed_links", "read_message_history", "send_messages_in_threads"),
}
# Alerts and health messages are single messages (a forum gets a post): no thread to start.
ALERT_NEEDS: dict[Kind, tuple[str, ...]] = {
    "text": ("view_channel", "send_messages", "embed_links", "read_message_history"),
    "forum": ("view_channel", "send_messages", "embed_links", "read_message_history"),
}
# A health event older than this is not posted (a first start reads the health topic from its beginning).
HEALTH_MAX_AGE = timedelta(days=1)
UNKNOWN_MESSAGE = 10008
TEXT_TYPES = frozenset({discord.ChannelType.text.value, discord.ChannelType.news.value})
FORUM_TYPES = frozenset({discord.ChannelType.forum.value})
THREAD_TYPES = frozenset({discord.ChannelType.news_thread.value, discord.ChannelType.public_thread.value,
                          discord.ChannelType.private_thread.value})
INVITE = "(or invite it again with the link of `ai-news discord invite`)"


def nonce(edition: str, part: int) -> str:
    """The same for every attempt at one part, different for every part and edition."""
    return hashlib.sha256(f"{edition}:{part}".encode()).hexdigest()[:NONCE_CHARS]


def fingerprint(embeds: Sequence[Any]) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """What identifies a message of a briefing: the title, description and fields of each embed."""
    return tuple((str(e.get("title") or ""), str(e.get("description") or ""),
                  tuple((str(f.get("name", "")), str(f.get("value", ""))) for f in e.get("fields") or ()))
                 for e in embeds)


def snowflake_at(moment: float) -> int:
    """The smallest message id Discord could give at that time (for `after=`)."""
    return max(0, discord.utils.time_snowflake(datetime.fromtimestamp(max(moment, 1_420_070_400), UTC)))


@dataclass(frozen=True)
class Target:
    """A channel ai-news posts into, as Discord describes it."""

    channel_id: int
    guild_id: int
    kind: Kind
    label: str  # "#news"
    permissions: discord.Permissions | None = None  # the bot's, when the gateway cache knows them

    @property
    def where(self) -> str:
        return f"{self.label} ({self.channel_id})"


def discord_failure(exc: Exception, what: str, *, where: str, step: Step,
                    permissions: discord.Permissions | None = None) -> Exception:
    """A failed call as the bus sees it: transient (retry later) or permanent (dead-letter), with the fix."""
    if isinstance(exc, NotRepeated):
        return api_failure("Discord", what, status=exc.status, error="(the post is looked up before it is retried)")
    if isinstance(exc, discord.RateLimited):
        return api_failure("Discord", what, status=429, error=f"rate limited for {exc.retry_after:.0f}s")
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return unreachable(what, exc)
    if not isinstance(exc, discord.HTTPException):
        return exc
    code, status = exc.code, exc.status
    error = f"{exc.text or exc.response.reason} ({code})" if code else str(exc.text or exc.response.reason)
    if status == 429 or status >= 500:
        return api_failure("Discord", what, status=status, error=error)
    hint = ""
    if code == 50001:
        hint = f"the bot cannot see {where}: give it View Channel and Read Message History there {INVITE}"
    elif code == 50013:
        needed = NEEDS[step]
        missing = [p for p in needed if permissions is not None and not getattr(permissions, p)] or list(needed)
        hint = f"give the bot {_names(missing)} in {where}"
    elif code == 10003:
        hint = ("check the channel id (Copy Channel ID with Developer Mode on) and that the bot is in that server "
                + INVITE)
    elif code == 10008:
        hint = f"the briefing's first message in {where} was deleted"
    elif code in (50083, 160005):
        hint = f"the briefing's thread in {where} is locked or archived: unlock it"
    elif status == 401:
        hint = "DISCORD_BOT_TOKEN was refused: reset the token on the developer portal's Bot page"
    return api_failure("Discord", what, status=status, error=error, hint=hint, transient=False)


def _names(permissions: Sequence[str]) -> str:
    names = [permission_name(p) for p in permissions]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class BriefingDelivery:
    """Posts briefings whose channel is `discord:...` as a thread or a forum post. One per process."""

    def __init__(self, client: discord.Client, store: Store, pacer: Pacer, *, api: API | None = None,
                 owner: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.api = api or API(client.http)
        self.store = store
        self.deliveries = Deliveries(store, PLATFORM, pacer, owner=owner, clock=clock)

    async def handle(self, briefing: Briefing, record: ConsumerRecord[bytes, bytes]) -> None:
        """The consumer's handler: Discord briefings are delivered, the other platforms' skipped."""
        if not briefing.channel.startswith(f"{PLATFORM}:"):
            return
        result = await self.deliver(briefing)
        log.info("edition %s in %s: %s (topic=%s partition=%d offset=%d)", result.edition_id, result.channel,
                 result.describe(), record.topic, record.partition, record.offset)

    async def deliver(self, briefing: Briefing) -> DeliveryResult:
        try:
            channel = parse_channel(briefing.channel)
        except ValueError as exc:
            raise PermanentError(str(exc)) from None
        edition = briefing.edition_id
        ledger = await self.store.delivery(PLATFORM, edition)
        if ledger.get("done"):  # nothing to look up
            return DeliveryResult(edition, channel.name, already_done=True)
        rendered = render_briefing(briefing)
        poster = await self.poster(channel, edition, rendered.thread_name, len(rendered.messages))
        return await self.deliveries.deliver(edition, channel.name, rendered.messages, poster)

    async def poster(self, channel: DiscordChannel, message_id: str, thread_name: str, parts: int,
                     needs: Mapping[Kind, tuple[str, ...]] = KIND_NEEDS) -> _Poster:
        """What posts a delivery's parts into the channel (after checking that it can)."""
        target = await self.target(channel, needs)
        user = self.client.user
        if user is None:
            raise RuntimeError("the Discord client is not logged in")
        return _Poster(self.api, target, message_id, thread_name, parts, user.id)

    async def target(self, channel: DiscordChannel, needs: Mapping[Kind, tuple[str, ...]] = KIND_NEEDS) -> Target:
        """The channel as Discord has it; PermanentError if ai-news cannot post there, saying what to fix."""
        what = f"looking up {channel.name}"
        cached = self.client.get_channel(channel.channel_id)
        if isinstance(cached, discord.abc.GuildChannel):
            guild_id, type_, label = cached.guild.id, cached.type.value, f"#{cached.name}"
            me = cached.guild.me
            permissions = cached.permissions_for(me) if me is not None else None
            media = isinstance(cached, discord.ForumChannel) and cached.is_media()
        else:
            try:
                payload = await self.api.channel(channel.channel_id)
            except Exception as exc:
                raise discord_failure(exc, what, where=channel.name, step="look") from exc
            type_ = int(payload["type"])
            guild_id = int(str(payload.get("guild_id") or 0))
            label = f"#{payload.get('name') or channel.channel_id}"
            permissions, media = None, type_ == discord.ChannelType.media.value
        if channel.guild_id is not None and guild_id != channel.guild_id:
            raise PermanentError(f"{channel.name}: channel {channel.channel_id} is in server {guild_id or '?'}, not "
                                 f"{channel.guild_id}; fix the server id in the channel name, or drop it "
                                 f"(discord:{channel.channel_id})")
        kind: Kind
        if type_ in TEXT_TYPES:
            kind = "text"
        elif type_ in FORUM_TYPES and not media:
            kind = "forum"
        else:
            shape = ("a thread" if type_ in THREAD_TYPES else "a media channel" if media else
                     "a direct message" if not guild_id else f"a channel of type {type_}")
            raise PermanentError(f"{channel.name} ({label}) is {shape}: ai-news posts briefings and alerts to "
                                 "text, announcement and forum channels; name one of those")
        target = Target(channel.channel_id, guild_id, kind, label, permissions)
        if permissions is not None:
            missing = [p for p in needs[kind] if not getattr(permissions, p)]
            if missing:
                raise PermanentError(f"posting to {target.where}: the bot lacks {_names(missing)}; give the bot "
                                     f"{_names(missing)} in {label} {INVITE}")
        return target

    async def latest_thread_url(self, channel: str) -> str | None:
        """A link to the thread of the channel's latest daily briefing, if there is one."""
        briefing = await self.store.latest_briefing(channel)
        return await self.thread_url(briefing.edition_id) if briefing is not None else None

    async def thread_url(self, edition: str) -> str | None:
        """A link to an edition's thread or forum post (for `/ai-news briefing`), if it was posted."""
        ledger = await self.store.delivery(PLATFORM, edition)
        guild, thread, root, name = ledger.get("guild"), ledger.get("thread"), ledger.get("id:0"), ledger.get("channel")
        if guild is None or name is None:
            return None
        if thread is not None:
            return f"{WEB}/{guild}/{thread}"
        if root is not None:
            return f"{WEB}/{guild}/{parse_channel(name).channel_id}/{root}"
        return None


class AlertDelivery:
    """Posts alerts and digests whose channel is `discord:...` (a message; in a forum channel, a post), exactly once
    through the briefings' ledger and pacing, and edits a posted one when a higher revision comes. One per process."""

    def __init__(self, briefings: BriefingDelivery) -> None:
        self.briefings = briefings

    async def handle(self, message: Alert | AlertDigest, record: ConsumerRecord[bytes, bytes]) -> None:
        if not message.channel.startswith(f"{PLATFORM}:"):
            return
        result = await self.deliver(message)
        log.info("alert %s in %s: %s (topic=%s partition=%d offset=%d)", result.edition_id, result.channel,
                 result.describe(), record.topic, record.partition, record.offset)

    async def deliver(self, message: Alert | AlertDigest) -> DeliveryResult:
        try:
            channel = parse_channel(message.channel)
        except ValueError as exc:
            raise PermanentError(str(exc)) from None
        ledger = await self.briefings.store.delivery(PLATFORM, message.message_id)
        if ledger.get("done") and int(ledger.get("revision") or 1) >= message.revision:
            return DeliveryResult(message.message_id, channel.name, already_done=True)  # nothing to look up
        thread = await self.briefings.latest_thread_url(message.channel)
        rendered = render_digest(message, thread) if isinstance(message, AlertDigest) else render_alert(message, thread)
        poster = await self.briefings.poster(channel, message.message_id, alert_name(message), 1, ALERT_NEEDS)
        return await self.briefings.deliveries.deliver_revision(message.message_id, channel.name, message.revision,
                                                                [rendered], poster)


class OpsDelivery:
    """Posts sources' changes of health to OPS_CHANNEL (when it is a Discord channel): one message per source and
    change (failing, disabled, recovered of one failing spell), exactly once."""

    def __init__(self, briefings: BriefingDelivery, ops_channel: str | None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.briefings = briefings
        self.ops_channel = ops_channel if ops_channel and ops_channel.startswith(f"{PLATFORM}:") else None
        self.clock = clock or (lambda: datetime.now(UTC))

    async def handle(self, event: HealthEvent, record: ConsumerRecord[bytes, bytes]) -> None:
        if self.ops_channel is None:
            return
        if self.clock() - event.at > HEALTH_MAX_AGE:
            log.info("health event of %s (%s at %s) is too old to post", event.source_id, event.status,
                     event.at.isoformat())
            return
        result = await self.deliver(event)
        log.info("health of %s (%s) to %s: %s", event.source_id, event.status, result.channel, result.describe())

    async def deliver(self, event: HealthEvent) -> DeliveryResult:
        assert self.ops_channel is not None
        try:
            channel = parse_channel(self.ops_channel)
        except ValueError as exc:
            raise PermanentError(f"OPS_CHANNEL: {exc}") from None
        message_id = ops_message_id(event)
        title = f"{event.status}: {event.source_name or event.source_id}"
        poster = await self.briefings.poster(channel, message_id, title[:100], 1, ALERT_NEEDS)
        return await self.briefings.deliveries.deliver(message_id, channel.name, [render_health(event)], poster)


def ops_message_id(event: HealthEvent) -> str:
    """One per source and change of health: a failing spell (its start) is failing, disabled and recovered once."""
    spell = (event.failing_since or event.at).isoformat()
    return stable_id("ops", event.source_id, event.status, spell)


@dataclass
class _Poster:
    """Posts the parts of one edition into one channel: root then thread, or a forum post and its replies."""

    api: API
    target: Target
    edition: str
    thread_name: str
    parts: int
    bot_id: int

    def _what(self, part: int) -> str:
        return f"posting part {part + 1} of {self.parts} of edition {self.edition} to {self.target.where}"

    def _failure(self, exc: Exception, what: str, step: Step) -> Exception:
        return discord_failure(exc, what, where=self.target.label, step=step, permissions=self.target.permissions)

    async def post(self, ledger: Ledger, part: int, message: DiscordMessage) -> str:
        what = self._what(part)
        payload: dict[str, Any] = {**message.payload()}
        if part == 0:
            await ledger.record({"guild": str(self.target.guild_id)})
            if self.target.kind == "forum":
                try:
                    post = await self.api.start_forum_post(self.target.channel_id, self.thread_name, payload)
                except Exception as exc:
                    raise self._failure(exc, what, "forum") from exc
                await ledger.record({"thread": str(post["id"])})
                return str(post["id"])
            try:
                sent = await self.api.send(self.target.channel_id, payload, nonce(self.edition, part))
            except Exception as exc:
                raise self._failure(exc, what, "post") from exc
            return str(sent["id"])
        thread = await self._thread(ledger)
        try:
            sent = await self.api.send(thread, payload, nonce(self.edition, part))
        except Exception as exc:
            raise self._failure(exc, what, "reply") from exc
        return str(sent["id"])

    async def _thread(self, ledger: Ledger) -> int:
        """The thread of the edition, started from the root if that was not done yet."""
        recorded = ledger.get("thread")
        if recorded is not None:
            return int(recorded)
        root = ledger.ref(0)
        if root is None:  # cannot happen: parts are posted in order
            raise RuntimeError(f"edition {self.edition}: no root message recorded before its thread")
        if self.target.kind == "forum":  # the post is the thread (found again after a crash: not recorded yet)
            await ledger.record({"thread": root})
            return int(root)
        try:
            started = await self.api.start_thread(self.target.channel_id, int(root), self.thread_name)
            thread = int(started["id"])
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise self._failure(exc, f"starting the thread of edition {self.edition} in {self.target.where}",
                                    "thread") from exc
            thread = int(root)  # started before a crash: a thread from a message has the message's id
            log.info("edition %s: the thread on %s was started before; using it", self.edition, root)
        except Exception as exc:
            raise self._failure(exc, f"starting the thread of edition {self.edition} in {self.target.where}",
                                "thread") from exc
        await ledger.record({"thread": str(thread)})
        return thread

    async def edit(self, ledger: Ledger, part: int, message: DiscordMessage, ref: str) -> bool:
        """Replace a posted part's embeds (the same edit again changes nothing); False if it was deleted."""
        if part == 0 and self.target.kind == "text":
            channel_id = self.target.channel_id
        else:  # a forum post's starter message is in the post (same id); replies are in the thread
            channel_id = int(ledger.get("thread") or ref)
        try:
            await self.api.edit(channel_id, int(ref), {**message.payload()})
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                return False
            raise self._failure(exc, f"updating {self.edition} in {self.target.where}", "post") from exc
        except Exception as exc:
            raise self._failure(exc, f"updating {self.edition} in {self.target.where}", "post") from exc
        return True

    async def find(self, ledger: Ledger, part: int, message: DiscordMessage, claimed_at: float) -> str | None:
        what = f"checking {self.target.where} for part {part + 1} of edition {self.edition}"
        wanted = fingerprint(message.payload()["embeds"])
        since = snowflake_at(claimed_at - CLOCK_MARGIN)
        try:
            if part == 0:
                if self.target.kind == "forum":
                    return ledger.get("thread") or await self._find_forum_post(wanted, since)
                return await self._find_in(self.target.channel_id, since, wanted)
            thread = ledger.get("thread") or (ledger.ref(0) if self.target.kind == "text" else None)
            if thread is None:
                return None
            previous = ledger.ref(part - 1)
            try:
                return await self._find_in(int(thread), int(previous) if previous else since, wanted)
            except discord.NotFound:
                return None  # the thread was never started: the part cannot be there
        except Exception as exc:
            raise self._failure(exc, what, "read") from exc

    async def _find_in(self, channel_id: int, after: int, wanted: tuple[Any, ...]) -> str | None:
        """The first message of the bot after `after` with these embeds."""
        for _ in range(MAX_PAGES):
            page = await self.api.messages(channel_id, after=after)
            for found in page:
                if self._same(found, wanted):
                    return str(found["id"])
            if len(page) < 100:
                return None
            after = int(page[-1]["id"])
        return None

    def _same(self, message: MessagePayload, wanted: tuple[Any, ...]) -> bool:
        return int(message["author"]["id"]) == self.bot_id and fingerprint(message.get("embeds", [])) == wanted

    async def _find_forum_post(self, wanted: tuple[Any, ...], since: int) -> str | None:
        """A post of the bot in the forum, made since the claim, with this name and starter message."""
        candidates: list[ThreadPayload] = [
            *await self.api.active_threads(self.target.guild_id),
            *await self.api.archived_threads(self.target.channel_id)]
        for thread in candidates:
            if (str(thread.get("parent_id")) != str(self.target.channel_id)
                    or str(thread.get("owner_id")) != str(self.bot_id) or thread.get("name") != self.thread_name
                    or int(thread["id"]) < since):
                continue
            try:
                starter = await self.api.message(int(thread["id"]), int(thread["id"]))
            except discord.NotFound:
                continue
            if self._same(starter, wanted):
                return str(thread["id"])
        return None
