"""`ai-news sources`: every configured source with its health."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.runtime import load_sources_config, open_redis
from bot.settings import ConfigError, Settings
from bot.sources import Source
from bot.store import Keys, SourceState, Store
from bot.taxonomy import load_taxonomy

log = logging.getLogger(__name__)


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
