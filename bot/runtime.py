"""The composition root: opens the services (Kafka, Redis; embedded when not configured), wires roles and
adapters together, and runs them until SIGTERM or SIGINT. The only module of bot/ (with cli) that imports
workers/ and adapters/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from redis.asyncio import Redis

from adapters.console import render_markdown
from bot.alerts import load_follows
from bot.briefing.writer import BriefingRequest
from bot.bus import Bus
from bot.editions import Edition, load_channels, merge_editions
from bot.embedded import EmbeddedKafka, EmbeddedRedis, keep_running, redacted, redis_reachable
from bot.models import Briefing, ClassifiedItem, FetchJob, Item
from bot.offline import build_enricher, build_writer
from bot.outages import Availability, watch
from bot.settings import ROLE_NAMES, ConfigError, ServiceError, Settings
from bot.sources import Source, SourcesConfig, load_sources
from bot.store import Keys, SourceState, Store
from bot.stories import MemoryStoryIndex, RedisStoryIndex
from bot.taxonomy import Taxonomy, load_taxonomy
from workers.alerter import Alerter
from workers.composer import Composer, compose_edition
from workers.indexer import Indexer
from workers.ingest.bench import bench_ingest
from workers.ingest.detect import kind_from_document, kind_from_url, source_id_for
from workers.ingest.fetch import Fetcher
from workers.ingest.formats import parse_document
from workers.ingest.parse import FeedError, parse_feed
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
async def open_redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    """The Redis of REDIS_URL, or an embedded one when it does not answer (AINEWS_EMBEDDED=auto)."""
    async with AsyncExitStack() as stack:
        redis_url = settings.redis_url
        problem = await asyncio.to_thread(redis_reachable, redis_url)
        if problem is None:
            description = f"Redis at {redact_url(redis_url)}"
        elif settings.ainews_embedded == "never":
            raise ServiceError(f"Redis at {redact_url(redis_url)} is not reachable ({problem}); "
                               "check REDIS_URL, or allow the embedded Redis with AINEWS_EMBEDDED=auto")
        else:
            embedded_redis = EmbeddedRedis()
            embedded_redis.spawn()  # from this thread, which lives as long as the process
            stack.callback(embedded_redis.stop)
            await asyncio.to_thread(embedded_redis.wait_ready)
            redis_url = embedded_redis.url
            description = (f"embedded Redis on {redis_url} "
                           f"(REDIS_URL {redact_url(settings.redis_url)} not reachable: {problem})")
        log.info("Redis: %s", description)
        redis = Redis.from_url(redis_url)
        stack.push_async_callback(redis.aclose)
        yield redis, description


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


def make_ingestor(services: Services, fetcher: Fetcher, sources: SourcesConfig | None = None) -> Ingestor:
    settings = services.settings
    return Ingestor(
        services.bus, services.store, fetcher, build_enricher(settings, services.taxonomy),
        RedisStoryIndex(services.redis, settings.redis_key_prefix),
        sources if sources is not None else load_sources_config(settings, services.taxonomy),
        window=timedelta(hours=settings.briefing_window_hours),
        disable_after=timedelta(hours=settings.source_disable_after_hours),
    )


def load_sources_config(settings: Settings, taxonomy: Taxonomy) -> SourcesConfig:
    return load_sources(settings.config_file("sources.yaml"), taxonomy.slugs)


def _ingest(services: Services) -> RoleRunner:
    fetcher = make_fetcher(services.settings)
    ingestor = make_ingestor(services, fetcher)
    consumer = ingestor.consumer()

    async def run(stop: asyncio.Event) -> None:
        summaries = asyncio.create_task(ingestor.summarize(stop), name="ingest summaries")
        try:
            await consumer.run(stop)
        finally:
            stop.set()
            await summaries
            await fetcher.close()

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
    writer = build_writer(settings, services.taxonomy)
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


# --- demo --------------------------------------------------------------------------------------------------

class Progress(Protocol):
    def step(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def advance(self, done: int, total: int) -> None: ...


def sample_feeds() -> list[tuple[str, bytes]]:
    """The feeds bundled in the package for the demo, as (source id, document)."""
    folder = resources.files("bot") / "samples"
    return sorted(
        (entry.name.removesuffix(".xml").replace("_", "-"), entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".xml")
    )


async def demo(settings: Settings, progress: Progress, *, days: int = 7, index_timeout: float = 60.0) -> str:
    """Ingest the bundled feeds through Kafka into the Redis archive, then compose a Markdown briefing."""
    progress.step("Starting Kafka and Redis")
    async with open_services(settings) as services:
        progress.note(f"Kafka: {services.kafka_description}")
        progress.note(f"Redis: {services.redis_description}")
        await _clear_keys(services)
        indexer = Indexer(services.bus, services.store)
        consumer = indexer.consumer()
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop), name="indexer")
        try:
            progress.step("Parsing and classifying the sample feeds")
            enricher = await asyncio.to_thread(build_enricher, settings, services.taxonomy)
            parsed = await asyncio.to_thread(_load_samples)
            # Importance as ingest would have given each item on arrival: no item is fresher than another.
            items = await enricher.classify_items(parsed, MemoryStoryIndex(), now=lambda: datetime.now(UTC))
            progress.note(f"{len(items)} items from {len({i.source for i in items})} sample feeds")

            progress.step("Publishing items to Kafka")
            await services.bus.publish_many(
                (services.bus.topics.items(item.primary_topic), item, item.story_id) for item in items
            )
            progress.step("Indexing into Redis (consumer group index)")
            await _wait_archived(services.store, [i.id for i in items], progress, index_timeout, task)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)

        progress.step("Composing the briefing from the archive")
        newest = max(i.published for i in items)
        until = newest + timedelta(seconds=1)
        window = await services.store.recent(since=until - timedelta(days=days), until=until)
        writer = build_writer(settings, services.taxonomy, enricher)
        briefing = await writer.write(window, BriefingRequest(channel="console:demo", day=newest.date()))
        await _clear_keys(services)
        return render_markdown(briefing)


def _load_samples() -> list[Item]:
    now = datetime.now(UTC)
    items: dict[str, Item] = {}
    for source_id, document in sample_feeds():
        try:
            parsed = parse_feed(document, source_id=source_id, now=now)
        except FeedError as exc:
            log.warning("sample feed skipped: %s", exc)
            continue
        for item in parsed.items:
            items.setdefault(item.id, item)
    return list(items.values())


async def _wait_archived(
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


async def _clear_keys(services: Services) -> None:
    """The demo runs under its own key prefix; it leaves nothing behind in a shared Redis."""
    keys = [key async for key in services.redis.scan_iter(match=services.store.keys.pattern, count=500)]
    if keys:
        await services.redis.delete(*keys)


# --- ingest --once and sources ----------------------------------------------------------------------------

@dataclass
class OnceResult:
    items: list[ClassifiedItem]
    errors: list[str]


def resolve_source(arg: str, config: SourcesConfig) -> tuple[Source, bytes | None]:
    """A configured source id, a URL (configured or not) or a local file, as a Source (and the file's bytes)."""
    known = config.get(arg)
    if known is not None:
        return known, None
    if arg.startswith(("http://", "https://")):
        by_url = config.by_url(arg)
        if by_url is not None:
            return by_url, None
        return Source(id=source_id_for(arg), name=urlsplit(arg).hostname or arg, kind=kind_from_url(arg), url=arg), None
    path = Path(arg)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{arg}: not a configured source id, an http(s) URL or a readable file ({reason})") from None
    # No name of its own: its items carry the feed's own title, as they would from the publisher's URL.
    source = Source.model_construct(id=source_id_for(path.stem), name="", kind=kind_from_document(data),
                                    url=path.resolve().as_uri(), interval_minutes=0, weight=1.0, topics=(),
                                    enabled=True, min_points=0, ai_only=False)
    return source, data


async def ingest_once(settings: Settings, args: Sequence[str], index_timeout: float = 60.0) -> OnceResult:
    """Fetch each source now, publish what is new, and wait until the archive holds it."""
    async with open_services(settings) as services:
        config = load_sources_config(settings, services.taxonomy)
        errors: list[str] = []
        resolved: list[tuple[Source, bytes | None]] = []
        for arg in args:
            try:
                resolved.append(resolve_source(arg, config))
            except ValueError as exc:
                errors.append(str(exc))
        fetcher = make_fetcher(settings)
        ingestor = make_ingestor(services, fetcher, config)
        indexer = Indexer(services.bus, services.store).consumer()
        stop = asyncio.Event()
        task = asyncio.create_task(indexer.run(stop), name="indexer")
        try:
            now = datetime.now(UTC)
            # Fetched sources at once; documents in hand one after another, so that a link in two of them is
            # seen by the second as already archived and comes out once.
            fetches = {index: asyncio.create_task(ingestor.ingest(
                FetchJob(source_id=source.id, url=source.url, kind=source.kind, due_at=now), source))
                for index, (source, data) in enumerate(resolved) if data is None}
            outcomes = []
            for index, (source, data) in enumerate(resolved):
                outcomes.append(await fetches[index] if data is None
                                else await ingestor.ingest_document(source, data, source.kind))
            items = list({item.id: item for outcome in outcomes for item in outcome.new_items}.values())
            errors += [outcome.error for outcome in outcomes if outcome.error]
            if items:
                await _wait_archived(services.store, [i.id for i in items], None, index_timeout, task)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            await fetcher.close()
        return OnceResult(items, errors)


@dataclass
class SourceRow:
    source: Source
    state: SourceState

    @property
    def status(self) -> str:
        return self.state.status if self.source.enabled else "off"


async def source_rows(settings: Settings, enable: Sequence[str] = ()) -> list[SourceRow]:
    """Every configured source with its state; `enable` re-enables disabled sources first."""
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    config = load_sources_config(settings, taxonomy)
    unknown = [source_id for source_id in enable if config.get(source_id) is None]
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise ConfigError(f"no source with id {names} in {settings.config_file('sources.yaml')}")
    async with open_redis(settings) as (redis, _):
        store = Store(redis, Keys(settings.redis_key_prefix))
        for source_id in enable:
            await store.update_source(source_id, {"disabled": False, "disabled_at": None, "failures": 0,
                                                  "failing_since": None, "next_due": None})
            log.info("source %s enabled", source_id)
        states = await store.source_states([s.id for s in config.sources])
    return [SourceRow(source, states[source.id]) for source in config.sources]


def _read_corpus(corpus: Path) -> list[tuple[str, bytes]]:
    """The feed documents of a file or folder; any that is not a readable feed is named with the reason."""
    try:
        files = sorted(p for p in corpus.iterdir() if p.is_file()) if corpus.is_dir() else [corpus]
        documents = [(source_id_for(p.stem), p.read_bytes()) for p in files]
    except OSError as exc:
        raise ConfigError(f"{corpus}: cannot read the corpus: {exc.strerror or exc}") from None
    for (source_id, data), path in zip(documents, files, strict=True):
        try:
            parse_document(kind_from_document(data), data, source_id=source_id)
        except FeedError as exc:
            raise ConfigError(f"{path}: not a feed to benchmark ({exc}); give RSS, Atom or JSON Feed files") from None
    return documents


async def bench(settings: Settings, what: str, rounds: int, corpus: Path | None) -> str:
    """Run one benchmark and return its report."""
    if what != "ingest":
        raise ConfigError(f"unknown benchmark {what!r}; benchmarks: ingest")
    documents = await asyncio.to_thread(_read_corpus, corpus) if corpus is not None else sample_feeds()
    if not documents:
        raise ConfigError(f"no documents to benchmark in {corpus}")
    async with open_redis(settings) as (redis, _):
        result = await bench_ingest(redis, settings.redis_key_prefix, documents, rounds)
    return result.report()


# --- post ---------------------------------------------------------------------------------------------------

@dataclass
class PostResult:
    edition: Edition
    day: date
    briefing: Briefing | None  # None: already published, nothing sent
    items: int = 0  # in the window
    backfill: int = 0  # of those, from a source's first poll
    not_ai: int = 0  # of those, not about AI


async def _edition_for(store: Store, settings: Settings, taxonomy: Taxonomy, channel: str, timezone: str | None,
                       at: str | None) -> Edition:
    """The channel's edition in effect (chat, then channels.yaml), with --tz/--at applied; UTC 08:00 if none."""
    configured = {e.channel: e for e in load_channels(settings.config_file("channels.yaml"), taxonomy.slugs).channels}
    stored = await store.edition(channel)
    base = stored if stored is not None and stored.origin == "chat" else configured.get(channel, stored)
    data = base.model_dump() if base is not None else {"channel": channel}
    if timezone is not None:
        data["timezone"] = timezone
    if at is not None:
        data["time"] = at
    try:
        return Edition.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'edition'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"edition of {channel}: {problems}") from None


async def post(settings: Settings, channel: str, day: date | None, timezone: str | None, at: str | None,
               dry_run: bool = False, include_backfill: bool = False) -> PostResult:
    """`ai-news post`: compose the channel's edition from the archive now and publish it to the briefings topic,
    once per channel and date. With `dry_run`, compose it and publish nothing (needs only Redis)."""
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    if dry_run:
        async with open_redis(settings) as (redis, _):
            store = Store(redis, Keys(settings.redis_key_prefix))
            edition = await _edition_for(store, settings, taxonomy, channel, timezone, at)
            when = day or datetime.now(edition.zone).date()
            writer = build_writer(settings, taxonomy)
            composed, window = await compose_edition(store, writer, edition, when, include_backfill)
            items = writer.decided(window.items)
            return PostResult(edition, when, composed, len(items), sum(i.backfill for i in items),
                              sum(i.about_ai is False for i in items))
    if not settings.kafka_bootstrap_servers:
        raise ConfigError("ai-news post publishes the edition to Kafka for the chat roles to deliver; with no "
                          "KAFKA_BOOTSTRAP_SERVERS it would go to an embedded broker that stops with this command. "
                          "Set KAFKA_BOOTSTRAP_SERVERS to the broker your roles use, or add --dry-run to see the "
                          "edition")
    async with open_services(settings, taxonomy) as services:
        edition = await _edition_for(services.store, settings, taxonomy, channel, timezone, at)
        when = day or datetime.now(edition.zone).date()
        composer = make_composer(services)
        return PostResult(edition, when, await composer.publish(edition, when), 0)


# --- bench compose ----------------------------------------------------------------------------------------

def _redis_url_of(redis: Redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


async def bench_compose(settings: Settings, count: int, repeats: int = 3, events: int = 0) -> str:
    """`ai-news post --dry-run` (a whole process: start, load the window from Redis, compose, render JSON) on
    `count` archived items, against only loading those items from Redis in-process, in the same run. With
    `events`, the items are spread over that many stories (hundreds of items each)."""
    import statistics
    import subprocess
    import sys
    import time
    import uuid

    from bot.classify import bundled_examples

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    prefix = f"ainews-bench-{uuid.uuid4().hex[:8]}:"
    day = date(2026, 1, 15)
    edition = Edition(channel="console:bench", time="08:00", timezone="UTC")
    start, end = edition.window(day)
    examples = bundled_examples()
    items = [
        Item(url=f"https://news.example.com/bench/{n}", title=examples[n % len(examples)].title,
             summary=examples[n % len(examples)].summary, source=f"source-{n % 40}", source_name=f"Source {n % 40}",
             published=end - timedelta(seconds=(n + 1) * 86_399 / count))
        for n in range(count)
    ]
    enricher = await asyncio.to_thread(build_enricher, settings, taxonomy)
    classified = await enricher.classify_items(items, MemoryStoryIndex(), now=end)
    if events:
        classified = [i.model_copy(update={"story_id": f"bench-event-{n % events}"}) for n, i in enumerate(classified)]
    async with open_redis(settings) as (redis, _):
        store = Store(redis, Keys(prefix))
        try:
            for first in range(0, len(classified), 50):
                await asyncio.gather(*(store.archive(i) for i in classified[first:first + 50]))
            env = {**os.environ, "REDIS_URL": _redis_url_of(redis), "REDIS_KEY_PREFIX": prefix,
                   "AINEWS_EMBEDDED": "never", "AINEWS_CONFIG_DIR": str(settings.ainews_config_dir.resolve())}
            command = [sys.executable, "-m", "bot.cli", "--log-level", "WARNING", "post", "--channel",
                       edition.channel, "--date", day.isoformat(), "--at", edition.time, "--tz", edition.timezone,
                       "--dry-run", "--format", "json"]
            wholes, loads = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                done = await asyncio.to_thread(subprocess.run, command, env=env, stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, check=False)
                wholes.append(time.perf_counter() - started)
                if done.returncode != 0:
                    raise RuntimeError(f"ai-news post --dry-run failed: {done.stderr.decode(errors='replace')[-500:]}")
                started = time.perf_counter()
                loaded = await store.recent(since=start, until=end)
                loads.append(time.perf_counter() - started)
            composed = Briefing.model_validate_json(done.stdout)
        finally:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
            for first in range(0, len(keys), 1000):
                await redis.delete(*keys[first:first + 1000])
    whole, load = statistics.median(wholes), statistics.median(loads)
    stories = sum(len(s.stories) for s in composed.sections)
    return "\n".join([
        f"{count} items in one edition's window ({len(loaded)} loaded)"
        + (f", spread over {events} stories" if events else "")
        + f", archived in Redis; medians of {repeats} interleaved runs on {os.cpu_count()} cores",
        f"ai-news post --dry-run, whole process (start, load the window and the week before from Redis, compose, "
        f"render JSON): {whole:.2f} s (runs: {', '.join(f'{w:.2f}' for w in wholes)} s); "
        f"{stories} stories in {len(composed.sections)} sections",
        f"only loading the window's items from Redis (Store.recent, in-process): {load:.2f} s "
        f"(runs: {', '.join(f'{w:.2f}' for w in loads)} s)",
        f"ratio: {whole / load:.1f} (whole process / loading alone)",
    ])


async def bench_discord_report(settings: Settings, interactions: int, concurrency: int) -> str:
    """`/ai-news` response latency of the Discord role under concurrent interactions, against a bare discord.py
    handler on the same local stand-in."""
    from adapters.discord.bench import bench_discord

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    sources = load_sources_config(settings, taxonomy)
    async with open_redis(settings) as (redis, _):
        result = await bench_discord(redis, taxonomy, sources, interactions=max(10, interactions),
                                     concurrency=max(1, concurrency))
    return result.report()


def discord_invite(settings: Settings) -> str:
    """The URL that adds the bot to a server, with its slash commands and exactly the permissions it uses."""
    from adapters.discord.client import invite_url

    if settings.discord_application_id is None:
        raise ConfigError("set DISCORD_APPLICATION_ID (the developer portal: your application -> General "
                          "Information -> Application ID)")
    return invite_url(settings.discord_application_id)


async def bench_slack_report(settings: Settings, requests: int, concurrency: int) -> str:
    """Slash-command latency of the Slack app under concurrent signed requests, against a bare bolt app."""
    from adapters.slack.bench import bench_slack

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    sources = load_sources_config(settings, taxonomy)
    async with open_redis(settings) as (redis, _):
        result = await bench_slack(redis, taxonomy, sources, requests=max(10, requests),
                                   concurrency=max(1, concurrency))
    return result.report()


async def bench_alerts_report(settings: Settings, channels: int, items: int, burst: int) -> str:
    """`ai-news bench alerts`: publish -> alert latency through the alerter and Slack roles, against bare aiokafka,
    under a topic and key prefix of its own, removed at the end."""
    import uuid

    from adapters.slack.bench import bench_alerts

    prefix = f"ainews-alerts-bench-{uuid.uuid4().hex[:8]}"
    bench_settings = settings.model_copy(update={
        "kafka_topic_prefix": prefix, "redis_key_prefix": f"{prefix}:", "alert_max_per_hour": items + burst + 10,
        "ops_channel": None})
    async with open_services(bench_settings) as services:
        try:
            result = await bench_alerts(services.bus, services.store, services.taxonomy, bench_settings,
                                        make_alerter(services).run, channels=channels, items=items, burst=burst)
        finally:
            await _clear_keys(services)
            await services.bus.delete_topics()
    return result.report()
