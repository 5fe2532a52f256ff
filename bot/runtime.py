"""The composition root: opens the services (Kafka, Redis; embedded when not configured), wires roles and
adapters together, and runs them until SIGTERM or SIGINT. A role is one entry of ROLES (its factory, the
settings it checks, whether `--role all` runs it). With cli and the command bodies in bot/cmd/, the only part of
bot/ that imports workers/ and adapters/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis

from bot.alerts import load_follows
from bot.briefing.writer import build_writer
from bot.bus import Bus
from bot.connections import open_redis as open_redis  # where the commands have always found it
from bot.editions import load_channels, merge_editions
from bot.embedded import EmbeddedKafka, keep_running, redacted
from bot.offline import build_enricher
from bot.outages import Availability, watch
from bot.settings import ROLE_NAMES, ConfigError, ServiceError, Settings
from bot.sources import SourcesConfig, load_sources
from bot.store import Keys, Store
from bot.stories import RedisStoryIndex
from bot.taxonomy import Taxonomy, load_taxonomy
from workers.alerter import Alerter
from workers.composer import Composer
from workers.indexer import Indexer
from workers.ingest.fetch import Fetcher
from workers.ingest.pages import PageDescriber
from workers.ingest.worker import Ingestor
from workers.scheduler import Scheduler

log = logging.getLogger(__name__)



@dataclass
class Services:
    settings: Settings
    taxonomy: Taxonomy
    bus: Bus
    redis: Redis
    store: Store
    kafka_description: str
    redis_description: str


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@asynccontextmanager
async def open_services(settings: Settings, taxonomy: Taxonomy | None = None) -> AsyncIterator[Services]:
    """Kafka (topics created) and Redis, embedded where not configured; everything closed at exit."""
    taxonomy = taxonomy or load_taxonomy(settings.config_file("topics.yaml"))
    async with AsyncExitStack() as stack:
        never = asyncio.Event()  # background watchers run until cancelled at exit
        bootstrap = settings.kafka_bootstrap_servers
        if bootstrap is None:
            if settings.ainews_embedded == "never":
                raise ServiceError("KAFKA_BOOTSTRAP_SERVERS is not set and AINEWS_EMBEDDED=never forbids the "
                                   "embedded broker: set KAFKA_BOOTSTRAP_SERVERS=host:9092")
            kafka = EmbeddedKafka(storage=settings.ainews_embedded_kafka_storage)
            kafka.spawn()  # from this thread, which lives as long as the process
            stack.callback(kafka.stop)
            await asyncio.to_thread(kafka.wait_ready)
            # Started again if it dies (cancelled before it is stopped at exit).
            stack.push_async_callback(_stop_task, _background(keep_running(kafka, never), "embedded kafka"))
            bootstrap = kafka.bootstrap_servers
            kept = "" if kafka.in_memory else f", keeping its data in {redacted(kafka.storage)}"
            kafka_description = f"embedded broker on {bootstrap} (KAFKA_BOOTSTRAP_SERVERS not set{kept})"
        else:
            kafka_description = f"Kafka at {bootstrap}"
        log.info("Kafka: %s", kafka_description)

        redis, redis_description = await stack.enter_async_context(open_redis(settings))
        bus = Bus.from_settings(settings, bootstrap, taxonomy.slugs)
        await bus.start()
        stack.push_async_callback(bus.stop)
        await bus.ensure_topics()
        store = Store(redis, Keys(settings.redis_key_prefix))
        # One line when Redis goes away, one when it is back (Kafka: the bus says so).
        redis_watch = watch(Availability(redis_description.split(" (")[0]), redis.ping, never, interval=2.0)
        stack.push_async_callback(_stop_task, _background(redis_watch, "redis watch"))
        yield Services(settings, taxonomy, bus, redis, store, kafka_description, redis_description)


def _background(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coro, name=name)


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


# --- roles -------------------------------------------------------------------------------------------------

RoleRunner = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def _indexer(services: Services) -> RoleRunner:
    return Indexer(services.bus, services.store).consumer().run


def make_fetcher(settings: Settings) -> Fetcher:
    return Fetcher(timeout=settings.ingest_timeout, max_bytes=settings.ingest_max_bytes,
                   max_redirects=settings.ingest_max_redirects, per_host=settings.ingest_per_host)


def make_describer(settings: Settings) -> PageDescriber | None:
    if not settings.page_descriptions:
        return None
    return PageDescriber(timeout=settings.page_timeout, budget=settings.page_budget, max_bytes=settings.page_max_bytes,
                         max_redirects=settings.ingest_max_redirects, per_host=settings.ingest_per_host,
                         allow_private=settings.page_private_addresses)


def make_ingestor(services: Services, fetcher: Fetcher, sources: SourcesConfig | None = None,
                  describer: PageDescriber | None = None) -> Ingestor:
    settings = services.settings
    return Ingestor(
        services.bus, services.store, fetcher, build_enricher(settings, services.taxonomy),
        RedisStoryIndex(services.redis, settings.redis_key_prefix),
        sources if sources is not None else load_sources_config(settings, services.taxonomy),
        window=timedelta(hours=settings.briefing_window_hours),
        disable_after=timedelta(hours=settings.source_disable_after_hours), describer=describer,
    )


def load_sources_config(settings: Settings, taxonomy: Taxonomy) -> SourcesConfig:
    return load_sources(settings.config_file("sources.yaml"), taxonomy.slugs)


def _ingest(services: Services) -> RoleRunner:
    fetcher = make_fetcher(services.settings)
    describer = make_describer(services.settings)
    ingestor = make_ingestor(services, fetcher, describer=describer)
    consumer = ingestor.consumer()

    async def run(stop: asyncio.Event) -> None:
        summaries = asyncio.create_task(ingestor.summarize(stop), name="ingest summaries")
        try:
            await consumer.run(stop)
        finally:
            stop.set()
            await summaries
            await fetcher.close()
            if describer is not None:
                await describer.close()

    return run


def _scheduler(services: Services) -> RoleRunner:
    settings = services.settings
    return Scheduler(
        services.bus, services.store, load_sources_config(settings, services.taxonomy),
        tick_seconds=settings.scheduler_tick_seconds, jitter=settings.scheduler_jitter,
        lock_ttl=settings.scheduler_lock_ttl_seconds,
    ).run


def make_composer(services: Services, **overrides: Any) -> Composer:
    settings = services.settings
    channels = load_channels(settings.config_file("channels.yaml"), services.taxonomy.slugs)
    writer = build_writer(settings, services.taxonomy, build_enricher(settings, services.taxonomy))
    if writer.analyst is not None:
        log.info("LLM analyst on: %r", writer.analyst)
    options: dict[str, Any] = {
        "configured": channels.channels, "writer": writer, "tick_seconds": settings.composer_tick_seconds,
        "lock_ttl": settings.composer_lock_ttl_seconds,
    }
    options.update(overrides)
    return Composer(services.bus, services.store, services.taxonomy, **options)


def _composer(services: Services) -> RoleRunner:
    return make_composer(services).run


def make_alerter(services: Services, **overrides: Any) -> Alerter:
    settings = services.settings
    options: dict[str, Any] = {
        "max_per_hour": settings.alert_max_per_hour, "max_age": timedelta(hours=settings.alert_max_age_hours),
        "tick_seconds": settings.alert_tick_seconds,
    }
    options.update(overrides)
    return Alerter(services.bus, services.store, load_follows(settings.config_file("entities.yaml")), **options)


def _alerter(services: Services) -> RoleRunner:
    return make_alerter(services).run


def _check_alerter(settings: Settings) -> None:
    load_follows(settings.config_file("entities.yaml"))


def _slack(services: Services) -> RoleRunner:
    from adapters.slack.role import create_role

    return create_role(services.settings, services.bus, services.store, services.taxonomy,
                       load_sources_config(services.settings, services.taxonomy)).run


def _check_slack(settings: Settings) -> None:
    from adapters.slack.role import check_settings

    check_settings(settings)


def _discord(services: Services) -> RoleRunner:
    from adapters.discord.role import create_role

    return create_role(services.settings, services.bus, services.store, services.taxonomy,
                       load_sources_config(services.settings, services.taxonomy)).run


def _check_discord(settings: Settings) -> None:
    from adapters.discord.role import check_settings

    check_settings(settings)


def _check_composer(settings: Settings) -> None:
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    load_channels(settings.config_file("channels.yaml"), taxonomy.slugs)


def _no_check(settings: Settings) -> None:
    return None


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Role:
    """A role `ai-news run` can run: how to build it, the settings it needs, and whether `--role all` runs it."""

    name: str
    build: Callable[[Services], RoleRunner]
    # Raises ConfigError saying what to set; runs before anything connects.
    check: Callable[[Settings], None] = _no_check
    # `--role all` (the default) runs the role only when this is true (chat roles: their tokens are set).
    configured: Callable[[Settings], bool] = _always


ROLES: dict[str, Role] = {role.name: role for role in (
    Role("scheduler", _scheduler),
    Role("ingest", _ingest),
    Role("indexer", _indexer),
    Role("alerter", _alerter, check=_check_alerter),
    Role("composer", _composer, check=_check_composer),
    Role("slack", _slack, check=_check_slack, configured=lambda settings: settings.slack_configured),
    Role("discord", _discord, check=_check_discord, configured=lambda settings: settings.discord_configured),
)}


def default_roles(settings: Settings) -> list[str]:
    """Every available role whose settings are present (chat roles need their tokens)."""
    return [name for name in ROLE_NAMES if name in ROLES and ROLES[name].configured(settings)]


def check_roles(roles: Sequence[str]) -> None:
    for role in roles:
        if role not in ROLE_NAMES:
            raise ConfigError(f"unknown role {role!r}; roles: {', '.join(ROLE_NAMES)}")
        if role not in ROLES:
            raise ConfigError(f"role {role!r} is not part of this release yet; available: {', '.join(ROLES)}")


STOP_GRACE = 5.0


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run_roles(services: Services, roles: Sequence[str], stop: asyncio.Event) -> None:
    """Run the roles as tasks until stop is set; if one fails, stop the others and re-raise its error."""
    check_roles(roles)
    tasks = {name: asyncio.create_task(ROLES[name].build(services)(stop), name=name) for name in roles}
    log.info("running roles: %s", ", ".join(roles))
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([*tasks.values(), stopper], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        # Every role stops within STOP_GRACE seconds whatever its connections are doing; one that does not is
        # cancelled.
        _, late = await asyncio.wait(tasks.values(), timeout=STOP_GRACE)
        for task in late:
            log.warning("role %s did not stop within %gs; cancelling it", task.get_name(), STOP_GRACE)
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=STOP_GRACE)
    finally:
        stopper.cancel()
    for name, task in tasks.items():
        error = task.exception() if task.done() and not task.cancelled() else None
        if isinstance(error, ConfigError):  # found only on connecting, e.g. a token the platform refuses
            raise ConfigError(f"role {name}: {error}") from error
        if error is not None:
            raise RuntimeError(f"role {name} failed: {type(error).__name__}: {error}") from error


def check_role_settings(settings: Settings, roles: Sequence[str]) -> None:
    """The settings each role needs are there and fit together (before anything connects)."""
    check_roles(roles)
    for role in roles:
        ROLES[role].check(settings)


def skipped_roles(settings: Settings) -> dict[str, str]:
    """Roles `--role all` leaves out, each with what it needs (a chat role without its tokens)."""
    skipped = {}
    for name, role in ROLES.items():
        if not role.configured(settings):
            try:
                role.check(settings)
                reason = "its settings are not set"
            except ConfigError as exc:
                reason = str(exc)
            skipped[name] = reason
    return skipped


async def what_runs(services: Services, roles: Sequence[str], skipped: Mapping[str, str],
                    now: datetime | None = None) -> list[str]:
    """What an operator needs to see at start: roles, where Kafka and Redis are, sources, editions and when each
    goes out next, subscriptions."""
    settings = services.settings
    now = now or datetime.now(UTC)
    lines = [f"running: {', '.join(roles)}"]
    lines += [f"not running {name}: {reason}" for name, reason in skipped.items()]
    durable = ("" if settings.kafka_bootstrap_servers or settings.ainews_embedded_kafka_storage else
               "; its data lives in memory and is gone when ai-news stops (AINEWS_EMBEDDED_KAFKA_STORAGE keeps it)")
    lines.append(f"Kafka: {services.kafka_description}{durable}")
    in_memory = "; in memory, nothing kept" if services.redis_description.startswith("embedded") else ""
    lines.append(f"Redis: {services.redis_description}{in_memory}")
    try:
        sources = load_sources_config(settings, services.taxonomy).sources
        lines.append(f"sources: {sum(s.enabled for s in sources)} of {len(sources)} enabled "
                     f"({settings.config_file('sources.yaml')})")
    except ConfigError as exc:
        lines.append(f"sources: {exc}")
    try:
        configured = load_channels(settings.config_file("channels.yaml"), services.taxonomy.slugs).channels
    except ConfigError as exc:
        configured = ()
        lines.append(f"channels: {exc}")
    editions = merge_editions(configured, await services.store.editions())
    if not editions:
        lines.append(f"editions: 0 in effect: no channel gets a daily briefing (add one to "
                     f"{settings.config_file('channels.yaml')}, or type /ai-news setup HH:MM ZONE in a channel)")
    else:
        lines.append(f"editions: {len(editions)} in effect")
        for edition in editions:
            local = now.astimezone(edition.zone).date()
            upcoming = next(m for m in (edition.moment(local + timedelta(days=d)) for d in range(3)) if m > now)
            lines.append(f"  {edition.channel}: {edition.time} {edition.timezone}, next at "
                         f"{upcoming.astimezone(edition.zone):%Y-%m-%d %H:%M %Z}"
                         + (f", topics {', '.join(edition.topics)}" if edition.topics else ""))
    subscribed = await services.store.subscribed_channels()
    lines.append(f"alert subscriptions: {len(subscribed)} channel(s)")
    return lines


async def run(settings: Settings, roles: Sequence[str], skipped: Mapping[str, str] | None = None) -> None:
    check_roles(roles)
    check_role_settings(settings, roles)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    async with open_services(settings) as services:
        for line in await what_runs(services, roles, skipped or {}):
            log.info("%s", line)
        await run_roles(services, roles, stop)
    log.info("stopped")


# --- helpers of the one-shot commands -----------------------------------------------------------------

class Progress(Protocol):
    def step(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def advance(self, done: int, total: int) -> None: ...


async def wait_archived(
    store: Store, ids: list[str], progress: Progress | None, limit: float, consumer_task: asyncio.Task[None]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        present = sum(await store.has_items(ids))
        if progress is not None:
            progress.advance(present, len(ids))
        if present == len(ids):
            return
        if consumer_task.done():
            consumer_task.result()
            raise RuntimeError("the indexer stopped before archiving every item")
        if loop.time() > deadline:
            raise RuntimeError(f"only {present} of {len(ids)} items were archived within {limit:.0f}s")
        await asyncio.sleep(0.1)


async def clear_keys(services: Services) -> None:
    """The demo runs under its own key prefix; it leaves nothing behind in a shared Redis."""
    keys = [key async for key in services.redis.scan_iter(match=services.store.keys.pattern, count=500)]
    if keys:
        await services.redis.delete(*keys)
