"""The `discord` role: delivers briefings, topic alerts and (to a Discord OPS_CHANNEL) sources' changes of health
(consumer group `<prefix>.discord` on `<prefix>.briefings`, `<prefix>.alerts` and `<prefix>.health`) and answers
`/ai-news`, until asked to stop.

One bot token serves every server that invited the bot: a discord.py client over the gateway (intents: guilds
only, no privileged intent), sharded as Discord says. `create_role` checks the settings at once (a `ConfigError`
says what to set); nothing connects before `run`. On start the role logs in over REST (a token Discord refuses is a
`ConfigError` saying so; a Discord out of reach is tried again with backoff while the other roles go on), checks
that DISCORD_APPLICATION_ID is the token's application, registers `/ai-news` if its definition changed, connects to
the gateway and consumes briefings. A gateway that closes for good (e.g. the token revoked) stops the role with the
reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
import discord
from aiokafka import ConsumerRecord
from discord.http import Route

from adapters.discord.client import API, Client, endpoints
from adapters.discord.delivery import AlertDelivery, BriefingDelivery, OpsDelivery
from adapters.discord.interactions import Interactions, command_definition, sync_commands
from bot.bus import Bus, Consumer
from bot.commands import Commands
from bot.delivery import Pacer
from bot.models import Alert, AlertDigest, Briefing, HealthEvent
from bot.settings import ConfigError, ServiceError, Settings
from bot.sources import SourcesConfig
from bot.store import Store
from bot.taxonomy import Taxonomy

log = logging.getLogger(__name__)

# Backoff between two attempts to reach Discord at start (doubling up to the second figure).
RETRY_FIRST, RETRY_MAX = 1.0, 60.0


class _Unreachable(ServiceError):
    """Discord could not be reached at start (network, 5xx, 429): tried again, the other roles go on."""


class _Stopped(Exception):
    """Asked to stop while still reaching Discord."""

GROUP = "discord"
PORTAL = "https://discord.com/developers/applications"


def check_settings(settings: Settings) -> None:
    """The Discord settings are there and look right, or a ConfigError says what to set."""
    missing = []
    if settings.discord_bot_token is None:
        missing.append(f"DISCORD_BOT_TOKEN (the developer portal, {PORTAL}: your application -> Bot -> Reset Token)")
    if settings.discord_application_id is None:
        missing.append("DISCORD_APPLICATION_ID (the developer portal: your application -> General Information -> "
                       "Application ID)")
    if missing:
        raise ConfigError("the discord role needs " + " and ".join(missing))
    assert settings.discord_bot_token is not None
    token = settings.discord_bot_token.get_secret_value().strip()
    if token.lower().startswith("bot "):
        raise ConfigError("DISCORD_BOT_TOKEN must be the token alone, without the 'Bot ' prefix")
    if token.count(".") != 2 or any(c.isspace() for c in token):
        raise ConfigError("DISCORD_BOT_TOKEN does not look like a bot token (three parts separated by dots): copy "
                          "it from the developer portal's Bot page (Reset Token)")


class DiscordRole:
    """Runs the Discord adapter: `run(stop)` answers and delivers until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        bus: Bus,
        store: Store,
        taxonomy: Taxonomy,
        sources: SourcesConfig,
        *,
        pacer: Pacer | None = None,
        clock: Callable[[], datetime] | None = None,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        check_settings(settings)
        assert settings.discord_bot_token is not None and settings.discord_application_id is not None
        self.settings = settings
        self.bus = bus
        self.store = store
        self.taxonomy = taxonomy
        self.sources = sources
        self.token = settings.discord_bot_token.get_secret_value().strip()
        self.application_id = settings.discord_application_id
        self.pacer = pacer or Pacer(settings.discord_post_interval)
        self.clock = clock
        self._stopped: asyncio.Event | None = None  # the stop of run(), seen while reaching Discord
        self.guild_ready_timeout = guild_ready_timeout
        self.ready = asyncio.Event()  # logged in, /ai-news registered, the gateway ready
        self.client: Client | None = None
        self.delivery: BriefingDelivery | None = None
        self.alerts: AlertDelivery | None = None
        self.ops: OpsDelivery | None = None
        self.interactions: Interactions | None = None
        self.registered: bool | None = None  # whether this start registered /ai-news (None: not started)
        self._gateway: asyncio.Task[None] | None = None

    def consumer(self) -> Consumer:
        """The group `<prefix>.discord` on briefings, alerts and source health."""
        if self.delivery is None:
            raise RuntimeError("the Discord role is not serving yet")
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
        """Serve until `stop` is set. A Discord out of reach at start is tried again with backoff (one warning per
        attempt) while the rest of ai-news goes on; a refused token or setting stops the role with what to fix."""
        self._stopped = stop
        delay = RETRY_FIRST
        while not stop.is_set():
            try:
                await self._serve(stop)
                return
            except _Stopped:
                break
            except _Unreachable as exc:
                log.warning("%s; trying again in %.0fs", exc, delay)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    delay = min(RETRY_MAX, delay * 2)
        log.info("Discord role stopped")

    async def _serve(self, stop: asyncio.Event) -> None:
        async with self.serving():
            assert self._gateway is not None
            consumer = self.consumer()
            deliveries = asyncio.create_task(consumer.run(stop), name="discord-deliveries")
            stopping = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({deliveries, self._gateway, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                consumer.stop()
                await asyncio.gather(deliveries, return_exceptions=True)
            if self._gateway.done() and not stop.is_set():
                self._gateway.result()  # raises why the gateway closed
                raise ServiceError("the Discord gateway connection ended")
            deliveries.result()

    async def _interaction(self, interaction: discord.Interaction) -> None:
        if self.interactions is not None:
            await self.interactions.handle(interaction)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[DiscordRole]:
        """Log in, register /ai-news if needed and connect to the gateway; everything is closed on exit."""
        settings = self.settings
        with endpoints(settings.discord_api_base_url, settings.discord_gateway_url):
            client = Client(on_interaction_received=self._interaction, gateway_url=settings.discord_gateway_url,
                            guild_ready_timeout=self.guild_ready_timeout)
            self.client = client
            waiting: asyncio.Task[None] | None = None
            try:
                await self._unless_stopped(self._login(client))
                self.delivery = BriefingDelivery(client, self.store, self.pacer, api=API(client.http))
                self.alerts = AlertDelivery(self.delivery)
                self.ops = OpsDelivery(self.delivery, settings.ops_channel, clock=self.clock)
                commands = Commands.from_settings(settings, self.store, self.taxonomy, self.sources,
                                                  clock=self.clock)
                self.interactions = Interactions(commands, self.store, self.delivery)
                await self._unless_stopped(self._register(client))
                self._gateway = asyncio.create_task(self._connect(client), name="discord-gateway")
                waiting = asyncio.create_task(self._wait_ready(client))
                yield self
            finally:
                self.ready.clear()
                if waiting is not None:
                    waiting.cancel()
                await client.close()
                if self._gateway is not None:
                    self._gateway.cancel()
                    await asyncio.gather(self._gateway, return_exceptions=True)

    async def _unless_stopped(self, step: Coroutine[Any, Any, None]) -> None:
        """Run a start step; _Stopped at once if the role is asked to stop meanwhile, and a Discord out of reach
        as _Unreachable (run() tries again)."""
        task = asyncio.ensure_future(step)
        waits: set[asyncio.Future[Any]] = {task}
        stopping = asyncio.ensure_future(self._stopped.wait()) if self._stopped is not None else None
        if stopping is not None:
            waits.add(stopping)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopping is not None:
                stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise _Stopped
        try:
            task.result()
        except ServiceError as exc:
            raise _Unreachable(str(exc)) from None

    async def _wait_ready(self, client: Client) -> None:
        await client.wait_until_ready()
        self.ready.set()

    async def _login(self, client: Client) -> None:
        try:
            await client.login(self.token)
        except discord.LoginFailure:
            raise ConfigError("DISCORD_BOT_TOKEN was refused by Discord (401 Unauthorized): copy the token again "
                              "from the developer portal (your application -> Bot -> Reset Token)") from None
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                raise ServiceError(f"Discord is not answering at {Route.BASE} ({exc.status}); try again later") \
                    from None
            raise ConfigError(f"Discord refused to log in ({exc.status} {exc.text}): check DISCORD_BOT_TOKEN") \
                from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ServiceError(f"cannot reach Discord at {Route.BASE}: {type(exc).__name__}: {exc} (check the "
                               "network, or DISCORD_API_BASE_URL)") from None
        if str(client.application_id) != self.application_id:
            raise ConfigError(f"DISCORD_APPLICATION_ID is {self.application_id}, but DISCORD_BOT_TOKEN belongs to "
                              f"application {client.application_id}: set both from the same application")
        log.info("Discord: logged in as %s (application %s)", client.user, client.application_id)

    async def _register(self, client: Client) -> None:
        definition = command_definition(self.taxonomy)
        try:
            self.registered = await sync_commands(client.http, self.store, self.application_id, definition)
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                raise ServiceError(f"registering /ai-news with Discord failed ({exc.status}); try again later") \
                    from None
            raise ConfigError(f"Discord refused the /ai-news command ({exc.status} {exc.text})") from None

    async def _connect(self, client: Client) -> None:
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise ConfigError("Discord refused the gateway intents; ai-news asks for no privileged intent, so check "
                              "that DISCORD_BOT_TOKEN is the bot's token") from None
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                raise ConfigError("Discord's gateway refused DISCORD_BOT_TOKEN (4004 Authentication failed): copy "
                                  "the token again from the developer portal") from None
            raise ServiceError(f"the Discord gateway closed the connection ({exc.code} {exc.reason})") from None
        finally:
            self.ready.clear()


def create_role(settings: Settings, bus: Bus, store: Store, taxonomy: Taxonomy, sources: SourcesConfig) -> DiscordRole:
    """The composition root's entry: the Discord role, its settings checked; it connects only in `run`."""
    return DiscordRole(settings, bus, store, taxonomy, sources)
