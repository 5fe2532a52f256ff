"""`ai-news post`: compose a channel's edition now and publish it (or print it with --dry-run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import ValidationError

from bot.briefing.writer import build_writer
from bot.connections import open_redis
from bot.editions import Edition, load_channels
from bot.models import Briefing
from bot.settings import ConfigError, Settings
from bot.store import Keys, Store
from bot.taxonomy import Taxonomy, load_taxonomy
from workers.composer import compose_edition


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
            backfill = not_ai = 0
            for item in items:
                backfill += item.backfill
                not_ai += item.about_ai is False
            return PostResult(edition, when, composed, len(items), backfill, not_ai)
    from bot.runtime import make_composer, open_services  # Kafka and the workers: not needed by --dry-run

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
