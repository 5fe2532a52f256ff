"""The bolt AsyncApp: `/ai-news` and the App Home tab, with its Web API client injected.

`/ai-news` is acknowledged first (Slack wants an answer within 3 s): the listener acks and returns, and the rest
(the check for a repeated request, the rate limit, the answer) runs after the acknowledgement has gone out
(`SlackHandlers.after_ack`); nothing touches Redis before it. The answer goes through the command's response URL:
ephemeral, or in the channel when the user adds `public`. Any failure while answering is logged with the command
and the channel, and the user gets a short apology, never a stack trace. Request signatures are verified by bolt
(HTTP mode) with SLACK_SIGNING_SECRET; requests older than 5 minutes are refused. A request that bolt cannot read
(a timestamp that is not a number, a body that is not what its content type says) is refused before it reaches
bolt with a 4xx and one log line (`refuse_malformed`), and a signed request seen before (its `trigger_id` or
`event_id`) is acknowledged and nothing else is done (`SlackHandlers.first_time`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.internals import parse_body
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.client import retry_handlers
from adapters.slack.delivery import BriefingDelivery
from adapters.slack.render import HomeChannel, SlackMessage, render_answer, render_home
from adapters.slack.workspaces import PLATFORM, Workspaces, parse_channel
from bot.commands import COMMAND, Answer, CommandContext, Commands
from bot.store import Store

log = logging.getLogger(__name__)


class _NoNetworkTracebacks(logging.Filter):
    """Slack out of reach is one line a retry, not a traceback every few seconds."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], OSError | aiohttp.ClientError | TimeoutError):
            record.exc_info, record.exc_text = None, None
        return True


_BOLT_LOG = logging.getLogger("adapters.slack.bolt")
_BOLT_LOG.addFilter(_NoNetworkTracebacks())

# The bot scopes of config/slack-manifest.yaml, asked for by the OAuth install flow.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:read", "groups:read", "channels:history",
              "groups:history", "channels:join", "metadata.message:read")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
EVENTS_PATH = "/slack/events"
# Acknowledged requests answered at the same time; the others wait their turn.
ANSWERS_AT_ONCE = 16


class SlackHandlers:
    """The listeners of the app: they translate Slack payloads for `Commands` and render what comes back."""

    def __init__(self, commands: Commands, store: Store, workspaces: Workspaces, delivery: BriefingDelivery,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.commands = commands
        self.store = store
        self.workspaces = workspaces
        self.delivery = delivery
        self.session = session
        self._after_ack: set[asyncio.Task[None]] = set()
        # Acknowledging is cheap and answering is not: under a burst the answers queue here rather than open a
        # Redis connection each (the pool has 100) or starve the acknowledgements of the event loop.
        self._answering = asyncio.Semaphore(ANSWERS_AT_ONCE)

    def context(self, body: dict[str, Any]) -> CommandContext:
        team = body.get("team_id") or None
        channel = self.workspaces.channel(team, str(body.get("channel_id") or ""))
        return CommandContext(channel=channel.name, user=self.workspaces.user(team, str(body.get("user_id") or "")))

    def after_ack(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` once the listener has returned (so bolt has sent the acknowledgement); a failure is logged."""
        task = asyncio.create_task(self._logged(work, what), name=f"slack {what}")
        self._after_ack.add(task)
        task.add_done_callback(self._after_ack.discard)

    async def _logged(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            async with self._answering:
                await work
        except Exception:
            log.exception("Slack %s failed", what)
        finally:
            work.close()  # never started when cancelled while queued

    async def finish(self, grace: float) -> None:
        """On stop: what was acknowledged gets up to `grace` seconds to be done, the rest is cancelled."""
        pending = set(self._after_ack)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            log.warning("stopping: %d acknowledged Slack request(s) not answered within %gs, cancelled", len(late),
                        grace)
            await asyncio.gather(*late, return_exceptions=True)

    async def first_time(self, body: dict[str, Any]) -> bool:
        """False for a request whose trigger_id (commands, interactions) or event_id (events) was seen in the last
        10 minutes: a replay, or a retry of one that was handled. It was acknowledged; nothing else is done."""
        seen = str(body.get("trigger_id") or body.get("event_id") or "")
        if not seen or await self.store.first_request(PLATFORM, seen):
            return True
        log.warning("dropped a repeated Slack request (%s %s, team %s)",
                    "trigger_id" if body.get("trigger_id") else "event_id", seen[:100], body.get("team_id"))
        return False

    async def command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        self.after_ack(self.answer(body), f"{COMMAND} answer")

    async def answer(self, body: dict[str, Any]) -> None:
        if not await self.first_time(body):
            return
        started = time.perf_counter()
        text = str(body.get("text") or "")
        where = f"channel {body.get('channel_id')} (team {body.get('team_id')}) user {body.get('user_id')}"
        try:
            answer = await self.commands.answer(self.context(body), text)
            thread = await self.delivery.thread_url(answer.edition_id) if answer.edition_id else None
            message = render_answer(answer, thread)
        except Exception:
            log.exception("%s %r failed in %s", COMMAND, text[:200], where)
            answer = Answer(title="Something went wrong",
                            text="The answer could not be prepared. Please try again in a minute.", kind="error")
            message = render_answer(answer)
        await self.respond(str(body.get("response_url") or ""), message, public=answer.public, where=where)
        log.debug("%s %r answered in %.0f ms (%s)", COMMAND, text[:200], (time.perf_counter() - started) * 1000,
                  where)

    async def respond(self, url: str, message: SlackMessage, *, public: bool, where: str) -> None:
        if not url:
            log.error("no response_url in a %s request from %s: cannot answer", COMMAND, where)
            return
        client = AsyncWebhookClient(url, session=self.session, retry_handlers=retry_handlers())
        payload = {**message.payload(), "response_type": "in_channel" if public else "ephemeral",
                   "unfurl_links": False, "unfurl_media": False}
        try:
            response = await client.send_dict(payload)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.error("answer to %s could not be sent: %s: %s", where, type(exc).__name__, exc)
            return
        if response.status_code != 200:
            log.error("answer to %s refused by Slack: %d %s", where, response.status_code, response.body[:200])

    async def home(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext,
                   client: AsyncWebClient) -> None:
        """`app_home_opened`: bolt acknowledges the event when this returns; the tab is published after."""
        if event.get("tab") == "home" and event.get("user"):
            self.after_ack(self.publish_home(body, str(event["user"]), context.team_id, client), "Home tab")

    async def publish_home(self, body: dict[str, Any], user: str, team_id: str | None,
                           client: AsyncWebClient) -> None:
        if await self.first_time(body):
            await client.views_publish(user_id=user, view=render_home(await self.home_channels(team_id), COMMAND))

    async def home_channels(self, team_id: str | None) -> list[HomeChannel]:
        """The workspace's channels that have a daily briefing or topic alerts."""
        editions = {e.channel: e for e in await self.store.editions() if e.platform == PLATFORM}
        _, rules = await self.store.alert_rules()
        alerts = {r.channel: r for r in rules if r.channel.startswith(f"{PLATFORM}:")}
        shown: list[HomeChannel] = []
        for name in sorted(set(editions) | set(alerts)):
            try:
                channel = parse_channel(name)
            except ValueError:
                log.warning("channel %r of an edition or subscription is not a Slack channel name; not shown", name)
                continue
            if not self.workspaces.belongs(channel, team_id):
                continue
            shown.append(HomeChannel(channel.channel_id, editions.get(name), alerts.get(name)))
        return shown

    async def error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed (type %s): %s: %s", body.get("type") or body.get("command"),
                  type(error).__name__, error, exc_info=error)


def build_app(
    client: AsyncWebClient,
    handlers: SlackHandlers,
    *,
    signing_secret: str,
    oauth_client_id: str | None = None,
    oauth_client_secret: str | None = None,
    installation_store: AsyncInstallationStore | None = None,
    state_store: AsyncOAuthStateStore | None = None,
    redirect_uri: str | None = None,
    scopes: Sequence[str] = BOT_SCOPES,
) -> AsyncApp:
    """The bolt app with its listeners; OAuth routes when client id and secret are given."""
    oauth_settings = None
    if oauth_client_id is not None and oauth_client_secret is not None:
        oauth_settings = AsyncOAuthSettings(
            client_id=oauth_client_id, client_secret=oauth_client_secret, scopes=list(scopes), user_scopes=[],
            redirect_uri=redirect_uri, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
            installation_store=installation_store, state_store=state_store, logger=logging.getLogger(__name__))
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        oauth_settings=oauth_settings,
        installation_store=installation_store,
        request_verification_enabled=True,
        logger=_BOLT_LOG,
        name="ai-news",
        # The listeners only acknowledge and hand the rest to SlackHandlers.after_ack: the response goes out as soon
        # as they return, with no polling for the ack (bolt polls every 10 ms otherwise).
        process_before_response=True,
    )
    app.command(COMMAND)(handlers.command)
    app.event("app_home_opened")(handlers.home)
    app.error(handlers.error)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refused(status: int, why: str, request: web.Request) -> web.Response:
    log.warning("refused a Slack request from %s: %s (%d)", request.remote, why, status)
    return web.Response(status=status, text=why)


@web.middleware
async def refuse_malformed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp middleware for the events endpoint: what bolt cannot read gets a 4xx and one log line, never a 500
    with a traceback. Bolt does the signature check of what passes."""
    if request.method != "POST" or request.path != EVENTS_PATH:
        return await handler(request)
    stamp = request.headers.get("X-Slack-Request-Timestamp")
    if stamp is not None and not stamp.strip().isdigit():
        return _refused(401, "X-Slack-Request-Timestamp is not a number", request)
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(400, "the body is not UTF-8", request)
    try:
        payload: object = parse_body(text, request.content_type or None)
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        return _refused(400, f"the body is not what its content type ({request.content_type}) says: "
                             f"{type(exc).__name__}", request)
    if not isinstance(payload, dict):
        return _refused(400, f"the body is JSON but not an object ({type(payload).__name__})", request)
    try:
        return await handler(request)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, json.JSONDecodeError) as exc:
        # Raised while bolt read the request, before any listener (listener errors go to the app's error handler).
        return _refused(400, f"bolt could not read it: {type(exc).__name__}: {str(exc)[:200]}", request)
