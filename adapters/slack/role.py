"""The `slack` role: delivers briefings, topic alerts and (to a Slack OPS_CHANNEL) sources' changes of health
(consumer group `<prefix>.slack` on `<prefix>.briefings`, `<prefix>.alerts` and `<prefix>.health`) and serves
`/ai-news` and the App Home tab, until asked to stop.

Modes, from the settings:
- Socket Mode when SLACK_APP_TOKEN is set (no public URL needed); otherwise HTTP: bolt's endpoint `/slack/events`
  on SLACK_HTTP_PORT, every request's signature checked with SLACK_SIGNING_SECRET.
- One workspace with SLACK_BOT_TOKEN; several with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (the OAuth install
  flow at `/slack/install` and `/slack/oauth_redirect`, served over HTTP in either mode; installations in Redis).
`create_role` checks the settings at once (a `ConfigError` says what is missing); nothing connects before `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import ConsumerRecord
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.app import EVENTS_PATH, SlackHandlers, build_app, refuse_malformed
from adapters.slack.client import make_web_client, new_session
from adapters.slack.delivery import AlertDelivery, BriefingDelivery, OpsDelivery
from adapters.slack.oauth import RedisInstallationStore, RedisOAuthStateStore
from adapters.slack.workspaces import Workspaces
from bot.bus import Bus, Consumer
from bot.commands import Commands
from bot.delivery import Pacer
from bot.models import Alert, AlertDigest, Briefing, HealthEvent
from bot.settings import ConfigError, Settings
from bot.sources import SourcesConfig
from bot.store import Store
from bot.taxonomy import Taxonomy

log = logging.getLogger(__name__)

PREFLIGHT_TIMEOUT = 3.0
# On stop, commands already acknowledged get this long to be answered before they are cancelled.
ANSWER_GRACE = 2.0

GROUP = "slack"


class SlackRole:
    """Runs the Slack adapter: `run(stop)` serves and delivers until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        store: Store,
        taxonomy: Taxonomy,
        sources: SourcesConfig,
        *,
        web_client: AsyncWebClient | None = None,
        http_host: str = "0.0.0.0",
        http_port: int | None = None,
        pacer: Pacer | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        check_settings(settings)
        self.settings = settings
        self.bus = bus
        self.store = store
        self.taxonomy = taxonomy
        self.sources = sources
        self.web_client = web_client
        self.http_host = http_host
        self.http_port = settings.slack_http_port if http_port is None else http_port
        self.pacer = pacer or Pacer(settings.slack_post_interval)
        self.clock = clock
        self.oauth = settings.slack_client_id is not None
        self.socket_mode = settings.slack_app_token is not None
        self.ready = asyncio.Event()
        self.bound_port: int | None = None
        self.app: AsyncApp | None = None
        self.delivery: BriefingDelivery | None = None
        self.alerts: AlertDelivery | None = None
        self.ops: OpsDelivery | None = None
        self.socket_handler: AsyncSocketModeHandler | None = None
        self._stopped: asyncio.Event | None = None  # the stop of run(), seen while connecting

    @property
    def serves_http(self) -> bool:
        return not self.socket_mode or self.oauth

    def consumer(self) -> Consumer:
        """The group `<prefix>.slack` on briefings, alerts and source health."""
        if self.delivery is None:
            raise RuntimeError("the Slack role is not serving yet")
        topics = self.bus.topics
        return self.bus.consumer(topics.group(GROUP), [topics.briefings, topics.alerts, topics.health], self.handle)

    async def handle(self, message: Briefing | Alert | AlertDigest | HealthEvent,
                     record: ConsumerRecord[bytes, bytes]) -> None:
        assert self.delivery is not None and self.alerts is not None and self.ops is not None
        if isinstance(message, Briefing):
            await self.delivery.handle(message, record)
        elif isinstance(message, HealthEvent):
            await self.ops.handle(message, record)
        else:
            await self.alerts.handle(message, record)

    async def run(self, stop: asyncio.Event) -> None:
        self._stopped = stop
        async with self.serving():
            await self.consumer().run(stop)
        log.info("Slack role stopped")

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[SlackRole]:
        """Build the app and serve it (HTTP and/or Socket Mode); everything is closed on exit."""
        settings = self.settings
        async with AsyncExitStack() as stack:
            session = new_session()
            stack.push_async_callback(session.close)
            client = self.web_client or make_web_client(settings, session)
            if client.session is None:
                client.session = session
            installations = RedisInstallationStore(self.store.redis, self.store.keys) if self.oauth else None
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token and not self.oauth else None
            workspaces = Workspaces(token=token, installations=installations)
            self.delivery = BriefingDelivery(client, self.store, workspaces, self.pacer)
            self.alerts = AlertDelivery(self.delivery)
            self.ops = OpsDelivery(self.delivery, settings.ops_channel, clock=self.clock)
            commands = Commands.from_settings(settings, self.store, self.taxonomy, self.sources, clock=self.clock)
            handlers = SlackHandlers(commands, self.store, workspaces, self.delivery, session)
            stack.push_async_callback(handlers.finish, ANSWER_GRACE)  # after the server stops taking requests
            secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
            self.app = build_app(
                client, handlers, signing_secret=secret,
                oauth_client_id=settings.slack_client_id,
                oauth_client_secret=(settings.slack_client_secret.get_secret_value()
                                     if settings.slack_client_secret else None),
                installation_store=installations,
                state_store=RedisOAuthStateStore(self.store.redis, self.store.keys) if self.oauth else None)
            if self.serves_http:
                await self._serve_http(stack, self.app)
            if self.socket_mode:
                await self._serve_socket(stack, self.app, client)
            settle_heap()
            self.ready.set()
            try:
                yield self
            finally:
                self.ready.clear()

    async def _serve_http(self, stack: AsyncExitStack, app: AsyncApp) -> None:
        web_app = app.web_app(path=EVENTS_PATH, port=self.http_port)
        web_app.middlewares.append(refuse_malformed)
        web_app.router.add_get("/healthz", _healthz)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, self.http_host, self.http_port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot serve Slack requests on {self.http_host}:{self.http_port}: {exc.strerror} "
                              "(set SLACK_HTTP_PORT to a free port)") from None
        self.bound_port = int(runner.addresses[0][1])
        what = ["/slack/events"] + (["/slack/install", "/slack/oauth_redirect"] if self.oauth else [])
        log.info("Slack HTTP mode: %s on %s:%d (signatures verified)", ", ".join(what), self.http_host,
                 self.bound_port)

    async def _serve_socket(self, stack: AsyncExitStack, app: AsyncApp, client: AsyncWebClient) -> None:
        assert self.settings.slack_app_token is not None
        app_token = self.settings.slack_app_token.get_secret_value()
        handler = AsyncSocketModeHandler(app, app_token=app_token, web_client=client)
        self.socket_handler = handler
        stack.push_async_callback(handler.close_async)
        try:
            # A refused token is found here (and stops the role with a clear message); a Slack out of reach is
            # left to the background connection, so the role keeps stopping at once when asked.
            opened = await self._preflight(client.apps_connections_open(app_token=app_token))
        except TimeoutError:
            log.warning("Slack Socket Mode: no answer from Slack within %gs; connecting in the background",
                        PREFLIGHT_TIMEOUT)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else exc.response.status_code
            if exc.response.status_code < 500 and exc.response.status_code != 429:
                raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({error}): it must be an app-level token "
                                  "(xapp-...) with the connections:write scope") from None
            log.warning("Slack Socket Mode: apps.connections.open failed (%s); retrying in the background", error)
        except aiohttp.ClientError as exc:
            log.warning("Slack Socket Mode: cannot reach Slack (%s); retrying in the background", exc)
        else:
            handler.client.wss_uri = str(opened["url"])
        # The client keeps retrying while Slack is out of reach: connect in the background, so the role keeps
        # delivering what it can and stops at once when asked.
        connecting = asyncio.create_task(self._connect(handler), name="slack socket mode")
        stack.push_async_callback(_cancel, connecting)

    async def _preflight(self, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
        """The call's answer; TimeoutError after PREFLIGHT_TIMEOUT, or at once when the role is asked to stop."""
        answer = asyncio.ensure_future(call)
        waits: set[asyncio.Future[Any]] = {answer}
        if self._stopped is not None:
            waits.add(asyncio.ensure_future(self._stopped.wait()))
        try:
            await asyncio.wait(waits, timeout=PREFLIGHT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits - {answer}:
                waiting.cancel()
        if not answer.done():
            answer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await answer
            raise TimeoutError
        return answer.result()

    async def _connect(self, handler: AsyncSocketModeHandler) -> None:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode: connected")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def settle_heap() -> None:
    """What the role built to serve (settings, taxonomy, the follows gazetteer, bolt and aiohttp, the imported
    modules) lives as long as the process: collected once, then left out of the cyclic collector's full passes, so
    that those scan only what requests create. Each full pass over the startup heap (about 100,000 objects) held
    the event loop, acknowledgements included, for about 50 ms on a 2-core machine."""
    gc.collect()
    gc.freeze()


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def check_settings(settings: Settings) -> None:
    """The Slack settings make sense together, or a ConfigError says what to set."""
    if (settings.slack_client_id is None) != (settings.slack_client_secret is None):
        raise ConfigError("Slack OAuth needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
    if settings.slack_client_id is None and settings.slack_bot_token is None:
        raise ConfigError("the slack role needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                          "SLACK_CLIENT_SECRET (several workspaces, OAuth install)")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        raise ConfigError("Slack HTTP mode needs SLACK_SIGNING_SECRET (Basic Information -> App Credentials), "
                          "or set SLACK_APP_TOKEN for Socket Mode")
    if settings.slack_app_token is not None and not settings.slack_app_token.get_secret_value().startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-...), not a bot token")
    if settings.slack_bot_token is not None and not settings.slack_bot_token.get_secret_value().startswith("xox"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")


def create_role(
    settings: Settings,
    bus: Bus,
    store: Store,
    taxonomy: Taxonomy,
    sources: SourcesConfig,
    *,
    web_client: AsyncWebClient | None = None,
) -> SlackRole:
    """The composition root's entry: the Slack role, its settings checked; it connects only in `run`."""
    return SlackRole(settings, bus, store, taxonomy, sources, web_client=web_client)
