"""Posting a Briefing as a thread, exactly once, paced per channel.

The ledger (a Redis hash per edition, `Keys.delivery("slack", edition_id)`) records each part of the thread:
`pending:<n>` (the time it was about to be posted) before the call, `ts:<n>` (its Slack timestamp) after it,
and `done` at the end. Each message carries Slack message metadata (event type `ainews_briefing`, the edition id
and the part number). So after a crash, a redelivery or a failed call:
- a part with `ts:<n>` is never posted again, and the thread continues where it stopped (never restarted);
- a part left `pending` (the process died, or Slack failed, between the call and the record) is looked up in
  the channel (conversations.history for the root, conversations.replies for a reply) by its metadata: found,
  it is recorded; not found, it is posted. Nothing is posted twice and nothing is skipped.
A Redis lock per edition keeps two processes from working on the same edition at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiokafka import ConsumerRecord
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, render_briefing
from adapters.slack.workspaces import PLATFORM, SlackChannel, Workspaces, parse_channel
from bot.bus import PermanentError, TransientError
from bot.models import Briefing
from bot.store import Store

log = logging.getLogger(__name__)

EVENT_TYPE = "ainews_briefing"
LOCK_TTL_MS = 120_000
# How far before a pending claim the channel's history is searched (clock differences between hosts and Slack).
CLOCK_MARGIN = 300.0
MAX_PAGES = 20
# Slack refused the blocks: the part is posted again as its plain fallback text rather than lost.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long"})
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "team_added_to_org"})
HINTS = {
    "channel_not_found": "check the channel id; invite the bot to private channels",
    "not_in_channel": "invite the bot to the channel (/invite @ai-news)",
    "is_archived": "the channel is archived",
    "invalid_auth": "check SLACK_BOT_TOKEN, or reinstall the app",
    "not_authed": "no token was sent: check SLACK_BOT_TOKEN",
    "token_revoked": "the app was uninstalled or its token revoked: reinstall it",
    "account_inactive": "the app was uninstalled or its token revoked: reinstall it",
    "missing_scope": "reinstall the app with the scopes of config/slack-manifest.yaml",
}

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Keeps posts to one channel at least `interval` seconds apart (Slack allows about one a second)."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def slot(self, channel: str) -> AsyncIterator[None]:
        """Hold the channel's turn: waits until its interval has passed, then marks the post."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last.get(channel)
            if last is not None and self.interval > 0:
                delay = last + self.interval - self.clock()
                if delay > 0:
                    await self.sleep(delay)
            try:
                yield
            finally:
                self._last[channel] = self.clock()


@dataclass
class DeliveryResult:
    edition_id: str
    channel: str
    parts: int = 0
    posted: int = 0
    recovered: int = 0
    already_done: bool = False


def slack_failure(exc: SlackApiError, what: str) -> Exception:
    """A Slack error as the bus sees it: transient (retry later) or permanent (dead-letter), with a hint."""
    response = exc.response
    error = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    status = response.status_code
    if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
        return TransientError(f"{what}: Slack answered {status} {error or ''}".strip())
    hint = HINTS.get(error, "")
    needed = response.get("needed") if isinstance(response.data, dict) else None
    if needed:
        hint += f" (needed: {needed})"
    return PermanentError(f"{what}: Slack refused it: {error or status}" + (f"; {hint}" if hint else ""))


class BriefingDelivery:
    """Posts briefings whose channel is `slack:...` as threads. One per process."""

    def __init__(
        self,
        client: AsyncWebClient,
        store: Store,
        workspaces: Workspaces,
        pacer: Pacer,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.workspaces = workspaces
        self.pacer = pacer
        self.owner = owner or f"slack-{uuid.uuid4().hex[:12]}"
        self.clock = clock

    async def handle(self, briefing: Briefing, record: ConsumerRecord[bytes, bytes]) -> None:
        """The consumer's handler: Slack briefings are delivered, the other platforms' skipped."""
        if not briefing.channel.startswith(f"{PLATFORM}:"):
            return
        result = await self.deliver(briefing)
        log.info("edition %s in %s: %s (topic=%s partition=%d offset=%d)", result.edition_id, result.channel,
                 "already delivered" if result.already_done else
                 f"{result.parts} part(s), {result.posted} posted, {result.recovered} found already posted",
                 record.topic, record.partition, record.offset)

    async def deliver(self, briefing: Briefing) -> DeliveryResult:
        edition = briefing.edition_id
        try:
            channel = parse_channel(briefing.channel)
        except ValueError as exc:
            raise PermanentError(str(exc)) from None
        result = DeliveryResult(edition, channel.name)
        token = await self.workspaces.token(channel)
        lock = f"delivery:{PLATFORM}:{edition}"
        if not await self.store.hold_lock(lock, self.owner, LOCK_TTL_MS):
            raise TransientError(f"edition {edition} for {channel.name} is being delivered by another process")
        try:
            ledger = await self.store.delivery(PLATFORM, edition)
            if ledger.get("done"):
                result.already_done = True
                return result
            messages = render_briefing(briefing)
            result.parts = len(messages)
            await self.store.record_delivery(PLATFORM, edition, {"channel": channel.name, "parts": str(len(messages))})
            root = ledger.get("ts:0")
            for part, message in enumerate(messages):
                ts = ledger.get(f"ts:{part}")
                if ts is None and f"pending:{part}" in ledger:
                    ts = await self._find(token, channel, edition, part, root, float(ledger[f"pending:{part}"]),
                                          message.text)
                    if ts is not None:
                        await self.store.record_delivery(PLATFORM, edition, {f"ts:{part}": ts, f"pending:{part}": None})
                        result.recovered += 1
                        log.info("edition %s part %d was posted before (ts %s): recorded, not posted again",
                                 edition, part, ts)
                if ts is None:
                    if not await self.store.hold_lock(lock, self.owner, LOCK_TTL_MS):
                        raise TransientError(f"lost the delivery lock of edition {edition}")
                    await self.store.record_delivery(PLATFORM, edition, {f"pending:{part}": f"{self.clock():.3f}"})
                    ts = await self._post(token, channel, message, edition, part, len(messages), root)
                    await self.store.record_delivery(PLATFORM, edition, {f"ts:{part}": ts, f"pending:{part}": None})
                    result.posted += 1
                if part == 0:
                    root = ts
            await self.store.record_delivery(PLATFORM, edition, {"done": datetime.now(UTC).isoformat()})
            return result
        finally:
            await self.store.release_lock(lock, self.owner)

    async def _post(self, token: str, channel: SlackChannel, message: SlackMessage, edition: str, part: int,
                    parts: int, thread_ts: str | None) -> str:
        metadata = {"event_type": EVENT_TYPE,
                    "event_payload": {"edition_id": edition, "part": part, "parts": parts}}
        what = f"posting part {part + 1} of {parts} of edition {edition} to {channel.name}"
        async with self.pacer.slot(channel.name):
            try:
                try:
                    response = await self.client.chat_postMessage(
                        token=token, channel=channel.channel_id, text=message.text, blocks=list(message.blocks),
                        thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, metadata=metadata)
                except SlackApiError as exc:
                    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                    if error not in BLOCK_ERRORS:
                        raise
                    log.warning("%s: Slack refused the blocks (%s); posting the plain text instead", what, error)
                    response = await self.client.chat_postMessage(
                        token=token, channel=channel.channel_id, text=message.text, thread_ts=thread_ts,
                        unfurl_links=False, unfurl_media=False, metadata=metadata)
            except SlackApiError as exc:
                raise slack_failure(exc, what) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
        ts = response.get("ts")
        if not isinstance(ts, str):
            raise TransientError(f"{what}: Slack's answer has no message ts")
        return ts

    async def _find(self, token: str, channel: SlackChannel, edition: str, part: int, root: str | None,
                    claimed_at: float, text: str) -> str | None:
        """The ts of a part that is in the channel already, or None. Found by its metadata; should Slack not show
        the metadata, by a bot message with the part's exact text (in the thread, or posted since the claim)."""
        what = f"checking {channel.name} for part {part + 1} of edition {edition}"
        try:
            if part == 0:
                messages = await self._history(token, channel, str(claimed_at - CLOCK_MARGIN))
            elif root is None:
                return None
            else:
                messages = await self._pages(self.client.conversations_replies, token=token,
                                             channel=channel.channel_id, ts=root, include_all_metadata=True)
        except SlackApiError as exc:
            raise slack_failure(exc, what) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
        same_text: str | None = None
        for message in messages:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if (meta.get("event_type") == EVENT_TYPE and payload.get("edition_id") == edition
                    and str(payload.get("part")) == str(part)):
                ts = message.get("ts")
                return str(ts) if ts else None
            if (not meta and same_text is None and message.get("bot_id") and message.get("text") == text
                    and message.get("ts")):
                same_text = str(message["ts"])
        if same_text is not None:
            log.warning("edition %s part %d found by its text (no metadata visible: check the app's scopes)",
                        edition, part)
        return same_text

    async def _history(self, token: str, channel: SlackChannel, oldest: str) -> list[dict[str, Any]]:
        try:
            return await self._pages(self.client.conversations_history, token=token, channel=channel.channel_id,
                                     oldest=oldest, include_all_metadata=True)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
        # A public channel the bot posts to without being a member (chat:write.public): join it to read it.
        await self.client.conversations_join(token=token, channel=channel.channel_id)
        log.info("joined %s to check what was posted there", channel.name)
        return await self._pages(self.client.conversations_history, token=token, channel=channel.channel_id,
                                 oldest=oldest, include_all_metadata=True)

    @staticmethod
    async def _pages(method: Callable[..., Awaitable[Any]], **kwargs: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            response = await method(limit=200, cursor=cursor, **kwargs)
            messages += response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return messages

    async def thread_url(self, edition: str) -> str | None:
        """A link to an edition's thread (for `/ai-news briefing`), if it was posted."""
        ledger = await self.store.delivery(PLATFORM, edition)
        root, name = ledger.get("ts:0"), ledger.get("channel")
        if root is None or name is None:
            return None
        try:
            channel = parse_channel(name)
            token = await self.workspaces.token(channel)
            response = await self.client.chat_getPermalink(token=token, channel=channel.channel_id, message_ts=root)
        except (ValueError, PermanentError, SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("no link to the thread of edition %s in %s: %s", edition, name, exc)
            return None
        link = response.get("permalink")
        return str(link) if link else None
