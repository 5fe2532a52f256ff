"""The indexer role (consumer group "index"): archives every classified item in Redis."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord

from bot.bus import Bus, Consumer
from bot.models import ClassifiedItem
from bot.store import Store

log = logging.getLogger(__name__)

GROUP = "index"


class Indexer:
    def __init__(self, bus: Bus, store: Store) -> None:
        self.bus = bus
        self.store = store
        self.archived = 0

    async def handle(self, item: ClassifiedItem, record: ConsumerRecord[bytes, bytes]) -> None:
        if await self.store.archive(item):
            self.archived += 1
            log.debug("archived %s from topic=%s", item.id, record.topic)

    def consumer(self) -> Consumer:
        return self.bus.consumer(self.bus.topics.group(GROUP), self.bus.topics.item_topics, self.handle)
