"""State in Redis. Every key prefix and every TTL is defined here, in `Keys` and `TTL`.

The archive keeps each ClassifiedItem by id, and sorted-set indexes by published time: one over all items,
one per topic (every topic of an item, not just the primary, so a question about a secondary topic finds
it too). Writing the same item twice changes nothing, which is what makes redelivery harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from redis.asyncio import Redis

from bot.models import ClassifiedItem

log = logging.getLogger(__name__)


class TTL:
    """How long each kind of key lives, in seconds."""

    ITEM = int(timedelta(days=90).total_seconds())
    # Index entries older than this are trimmed whenever the index is written.
    INDEX_RETENTION = timedelta(days=90)


@dataclass(frozen=True)
class Keys:
    """Every Redis key the project uses, under one prefix (so deployments and tests never collide)."""

    prefix: str = "ainews:"

    def item(self, item_id: str) -> str:
        return f"{self.prefix}item:{item_id}"

    @property
    def items_by_time(self) -> str:
        return f"{self.prefix}idx:all"

    def topic_by_time(self, topic: str) -> str:
        return f"{self.prefix}idx:topic:{topic}"

    @property
    def pattern(self) -> str:
        """Matches every key of this prefix (for maintenance and tests)."""
        return f"{self.prefix}*"


class Store:
    """The archive and, as issues add them, the other Redis-backed state."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self.keys = keys or Keys()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def archive(self, item: ClassifiedItem) -> bool:
        """Store an item and index it; returns True if it was not archived before. Idempotent."""
        score = item.published.timestamp()
        cutoff = (item.published - TTL.INDEX_RETENTION).timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.item(item.id), item.model_dump_json(), nx=True, ex=TTL.ITEM)
            pipe.zadd(self.keys.items_by_time, {item.id: score})
            for topic in item.topics:
                pipe.zadd(self.keys.topic_by_time(topic), {item.id: score})
            for index in (self.keys.items_by_time, *map(self.keys.topic_by_time, item.topics)):
                pipe.zremrangebyscore(index, "-inf", f"({cutoff}")
            results = await pipe.execute()
        return bool(results[0])

    async def has_items(self, item_ids: Sequence[str]) -> list[bool]:
        if not item_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for item_id in item_ids:
                pipe.exists(self.keys.item(item_id))
            return [bool(n) for n in await pipe.execute()]

    async def get_items(self, item_ids: Iterable[str]) -> list[ClassifiedItem]:
        """The items that exist, in the order asked; a stored value that no longer validates is skipped."""
        ids = list(item_ids)
        if not ids:
            return []
        raw = await self.redis.mget([self.keys.item(i) for i in ids])
        items = []
        for item_id, value in zip(ids, raw, strict=True):
            if value is None:
                continue
            try:
                items.append(ClassifiedItem.model_validate_json(value))
            except ValidationError as exc:
                log.warning("archived item %s does not validate, skipped: %s", item_id, exc.errors()[0]["msg"])
        return items

    async def get_item(self, item_id: str) -> ClassifiedItem | None:
        found = await self.get_items([item_id])
        return found[0] if found else None

    async def recent(
        self,
        *,
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[ClassifiedItem]:
        """Archived items, newest first, optionally of one topic and within [since, until]."""
        index = self.keys.topic_by_time(topic) if topic else self.keys.items_by_time
        high = until.timestamp() if until else "+inf"
        low = since.timestamp() if since else "-inf"
        ids = await self.redis.zrevrangebyscore(
            index, high, low, start=0 if limit else None, num=limit if limit else None
        )
        return await self.get_items([i.decode() if isinstance(i, bytes) else str(i) for i in ids])

    async def count(self, topic: str | None = None) -> int:
        index = self.keys.topic_by_time(topic) if topic else self.keys.items_by_time
        return int(await self.redis.zcard(index))
