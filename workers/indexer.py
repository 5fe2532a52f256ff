"""The indexer role (consumer group "index"): archives every classified item in Redis."""

from __future__ import annotations

import logging

from aiokafka import ConsumerRecord

from bot.bus import Bus, Consumer
from bot.models import ClassifiedItem
from bot.store import Store

log = logging.getLogger(__name__)

GROUP = "index"
# Records fetched at once from a partition, archived in one Redis transaction.
BATCH = 500


class Indexer:
    def __init__(self, bus: Bus, store: Store) -> None:
        self.bus = bus
        self.store = store
        self.archived = 0

    async def handle(self, item: ClassifiedItem, record: ConsumerRecord[bytes, bytes]) -> None:
        if await self.store.archive(item):
            self.archived += 1
            log.debug("archived %s from topic=%s", item.id, record.topic)

    async def handle_batch(self, batch: list[tuple[ClassifiedItem, ConsumerRecord[bytes, bytes]]]) -> None:
        """A fetched batch of a partition, archived in one Redis transaction."""
        archived = await self.store.archive_many([item for item, _ in batch])
        self.archived += archived
        log.debug("archived %d of %d items from topic=%s", archived, len(batch), batch[0][1].topic)

    def consumer(self) -> Consumer:
        return self.bus.consumer(self.bus.topics.group(GROUP), self.bus.topics.item_topics, self.handle,
                                 max_records=BATCH, batch_handler=self.handle_batch)
