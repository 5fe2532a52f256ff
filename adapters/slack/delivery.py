"""Posting a Briefing as a Slack thread, exactly once, paced per channel, through `bot.delivery`.

The shared mechanism keeps the ledger (`Keys.delivery("slack", edition_id)`: `pending:<n>`, `ts:<n>`, `done`), the
per-edition lock and the pacing; this module only translates. Each message carries Slack message metadata (event
type `ainews_briefing`, the edition id and the part number), so a part left `pending` (the process died, or Slack
failed, between the call and the record) is looked up in the channel (conversations.history for the root,
conversations.replies for a reply) by its metadata: found, it is recorded; not found, it is posted. Slack's errors
are sorted into retry-later and dead-letter-with-the-fix by `slack_failure`.

Alerts and digests (`AlertDelivery`) go through the same ledger and pacing as one message each (metadata event type
`ainews_alert` with the alert's id); a higher revision of one already posted becomes a `chat.update` of it (a message
deleted from the channel is left alone). Sources' changes of health (`OpsDelivery`) go to a Slack OPS_CHANNEL the
same way (`ainews_ops`), one per source and change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiokafka import ConsumerRecord
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, render_alert, render_briefing, render_digest, render_health
from adapters.slack.workspaces import PLATFORM, SlackChannel, Workspaces, parse_channel
from bot.bus import PermanentError, TransientError
from bot.delivery import Deliveries, DeliveryResult, Ledger, Pacer, api_failure, unreachable
from bot.models import Alert, AlertDigest, Briefing, HealthEvent, stable_id
from bot.store import Store

__all__ = ["ALERT_EVENT_TYPE", "EVENT_TYPE", "OPS_EVENT_TYPE", "AlertDelivery", "BriefingDelivery", "DeliveryResult",
           "OpsDelivery", "Pacer", "slack_failure"]

log = logging.getLogger(__name__)

EVENT_TYPE = "ainews_briefing"
ALERT_EVENT_TYPE = "ainews_alert"
OPS_EVENT_TYPE = "ainews_ops"
# The message an edit cannot reach any more (deleted, or too old to edit): there is nothing to update.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
# A health event older than this is not posted (a first start reads the health topic from its beginning).
HEALTH_MAX_AGE = timedelta(days=1)
PERMALINKS_KEPT = 256
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


def slack_failure(exc: SlackApiError, what: str) -> Exception:
    """A Slack error as the bus sees it: transient (retry later) or permanent (dead-letter), with a hint."""
    response = exc.response
    error = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    status = response.status_code
    hint = HINTS.get(error, "")
    needed = response.get("needed") if isinstance(response.data, dict) else None
    if needed:
        hint += f" (needed: {needed})"
    return api_failure("Slack", what, status=status, error=error, hint=hint,
                       transient=status == 429 or status >= 500 or error in TRANSIENT_ERRORS)


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
        self.deliveries = Deliveries(store, PLATFORM, pacer, ref="ts", owner=owner, clock=clock)
        self._permalinks: dict[str, str] = {}

    @property
    def pacer(self) -> Pacer:
        return self.deliveries.pacer

    @property
    def owner(self) -> str:
        return self.deliveries.owner

    async def handle(self, briefing: Briefing, record: ConsumerRecord[bytes, bytes]) -> None:
        """The consumer's handler: Slack briefings are delivered, the other platforms' skipped."""
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
        token = await self.workspaces.token(channel)
        messages = render_briefing(briefing)
        poster = _ThreadPoster(self.client, token, channel, briefing.edition_id, len(messages))
        return await self.deliveries.deliver(briefing.edition_id, channel.name, messages, poster)

    async def thread_url(self, edition: str) -> str | None:
        """A link to an edition's thread (for `/ai-news briefing` and alerts), if it was posted."""
        known = self._permalinks.get(edition)
        if known is not None:
            return known
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
        if not link:
            return None
        if len(self._permalinks) >= PERMALINKS_KEPT:
            self._permalinks.pop(next(iter(self._permalinks)))
        self._permalinks[edition] = str(link)
        return str(link)

    async def latest_thread_url(self, channel: str) -> str | None:
        """A link to the thread of the channel's latest daily briefing, if there is one."""
        briefing = await self.store.latest_briefing(channel)
        return await self.thread_url(briefing.edition_id) if briefing is not None else None


class AlertDelivery:
    """Posts alerts and digests whose channel is `slack:...`, exactly once through the briefings' ledger and pacing,
    and edits a posted one in place when a higher revision comes (its story gained sources). One per process."""

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
        token = await self.briefings.workspaces.token(channel)
        thread = await self.briefings.latest_thread_url(message.channel)
        rendered = render_digest(message, thread) if isinstance(message, AlertDigest) else render_alert(message, thread)
        poster = _ThreadPoster(self.briefings.client, token, channel, message.message_id, 1,
                               event_type=ALERT_EVENT_TYPE, id_field="alert_id", what="alert")
        return await self.briefings.deliveries.deliver_revision(message.message_id, channel.name, message.revision,
                                                                [rendered], poster)


class OpsDelivery:
    """Posts sources' changes of health to OPS_CHANNEL (when it is a Slack channel): one message per source and
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
        token = await self.briefings.workspaces.token(channel)
        message_id = ops_message_id(event)
        poster = _ThreadPoster(self.briefings.client, token, channel, message_id, 1, event_type=OPS_EVENT_TYPE,
                               id_field="ops_id", what="health message")
        return await self.briefings.deliveries.deliver(message_id, channel.name, [render_health(event)], poster)


def ops_message_id(event: HealthEvent) -> str:
    """One per source and change of health: a failing spell (its start) is failing, disabled and recovered once."""
    spell = (event.failing_since or event.at).isoformat()
    return stable_id("ops", event.source_id, event.status, spell)


@dataclass
class _ThreadPoster:
    """Posts the parts of one edition (or an alert, a health message) to one Slack channel: the root, then replies
    in its thread. Each message carries metadata naming it (`event_type`, its id under `id_field`, the part)."""

    client: AsyncWebClient
    token: str
    channel: SlackChannel
    edition: str
    parts: int
    event_type: str = EVENT_TYPE
    id_field: str = "edition_id"
    what: str = "edition"

    def metadata(self, part: int) -> dict[str, Any]:
        return {"event_type": self.event_type,
                "event_payload": {self.id_field: self.edition, "part": part, "parts": self.parts}}

    async def edit(self, ledger: Ledger, part: int, message: SlackMessage, ref: str) -> bool:
        """chat.update of a posted part (safe to repeat); False if Slack no longer has it to update."""
        what = f"updating {self.what} {self.edition} in {self.channel.name}"
        try:
            await self.client.chat_update(token=self.token, channel=self.channel.channel_id, ts=ref,
                                          text=message.text, blocks=list(message.blocks),
                                          metadata=self.metadata(part))
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if error in GONE_ERRORS:
                return False
            raise slack_failure(exc, what) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(what, exc) from exc
        return True

    async def post(self, ledger: Ledger, part: int, message: SlackMessage) -> str:
        thread_ts = ledger.ref(0) if part else None
        metadata = self.metadata(part)
        what = f"posting part {part + 1} of {self.parts} of {self.what} {self.edition} to {self.channel.name}"
        try:
            try:
                response = await self.client.chat_postMessage(
                    token=self.token, channel=self.channel.channel_id, text=message.text,
                    blocks=list(message.blocks), thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
                    metadata=metadata)
            except SlackApiError as exc:
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                if error not in BLOCK_ERRORS:
                    raise
                log.warning("%s: Slack refused the blocks (%s); posting the plain text instead", what, error)
                response = await self.client.chat_postMessage(
                    token=self.token, channel=self.channel.channel_id, text=message.text, thread_ts=thread_ts,
                    unfurl_links=False, unfurl_media=False, metadata=metadata)
        except SlackApiError as exc:
            raise slack_failure(exc, what) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(what, exc) from exc
        ts = response.get("ts")
        if not isinstance(ts, str):
            raise TransientError(f"{what}: Slack's answer has no message ts")
        return ts

    async def find(self, ledger: Ledger, part: int, message: SlackMessage, claimed_at: float) -> str | None:
        """The ts of a part that is in the channel already, or None. Found by its metadata; should Slack not show
        the metadata, by a bot message with the part's exact text (in the thread, or posted since the claim)."""
        root = ledger.ref(0)
        what = f"checking {self.channel.name} for part {part + 1} of {self.what} {self.edition}"
        try:
            if part == 0:
                messages = await self._history(str(claimed_at - CLOCK_MARGIN))
            elif root is None:
                return None
            else:
                messages = await _pages(self.client.conversations_replies, token=self.token,
                                        channel=self.channel.channel_id, ts=root, include_all_metadata=True)
        except SlackApiError as exc:
            raise slack_failure(exc, what) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(what, exc) from exc
        same_text: str | None = None
        for found in messages:
            meta = found.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if (meta.get("event_type") == self.event_type and payload.get(self.id_field) == self.edition
                    and str(payload.get("part")) == str(part)):
                ts = found.get("ts")
                return str(ts) if ts else None
            if (not meta and same_text is None and found.get("bot_id") and found.get("text") == message.text
                    and found.get("ts")):
                same_text = str(found["ts"])
        if same_text is not None:
            log.warning("%s %s part %d found by its text (no metadata visible: check the app's scopes)",
                        self.what, self.edition, part)
        return same_text

    async def _history(self, oldest: str) -> list[dict[str, Any]]:
        channel_id = self.channel.channel_id
        try:
            return await _pages(self.client.conversations_history, token=self.token, channel=channel_id,
                                oldest=oldest, include_all_metadata=True)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
        # A public channel the bot posts to without being a member (chat:write.public): join it to read it.
        await self.client.conversations_join(token=self.token, channel=channel_id)
        log.info("joined %s to check what was posted there", self.channel.name)
        return await _pages(self.client.conversations_history, token=self.token, channel=channel_id,
                            oldest=oldest, include_all_metadata=True)


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
