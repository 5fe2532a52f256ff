"""Opening Redis: the one of REDIS_URL, or an embedded one when it does not answer. Kept apart from the runtime so
that a command which only reads the archive (`ai-news post --dry-run`) imports neither Kafka nor the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from redis.asyncio import Redis

from bot.embedded import EmbeddedRedis, redacted, redis_reachable
from bot.settings import ServiceError, Settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    """The Redis of REDIS_URL, or an embedded one when it does not answer (AINEWS_EMBEDDED=auto)."""
    async with AsyncExitStack() as stack:
        redis_url = settings.redis_url
        problem = await asyncio.to_thread(redis_reachable, redis_url)
        if problem is None:
            description = f"Redis at {redacted(redis_url)}"
        elif settings.ainews_embedded == "never":
            raise ServiceError(f"Redis at {redacted(redis_url)} is not reachable ({problem}); "
                               "check REDIS_URL, or allow the embedded Redis with AINEWS_EMBEDDED=auto")
        else:
            embedded_redis = EmbeddedRedis()
            embedded_redis.spawn()  # from this thread, which lives as long as the process
            stack.callback(embedded_redis.stop)
            await asyncio.to_thread(embedded_redis.wait_ready)
            redis_url = embedded_redis.url
            description = (f"embedded Redis on {redis_url} "
                           f"(REDIS_URL {redacted(settings.redis_url)} not reachable: {problem})")
        log.info("Redis: %s", description)
        redis = Redis.from_url(redis_url)
        stack.push_async_callback(redis.aclose)
        yield redis, description
