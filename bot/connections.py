"""Opening Redis: the one of REDIS_URL, or an embedded one when it does not answer. Kept apart from the runtime so
that a command which only reads the archive (`ai-news post --dry-run`) imports neither Kafka nor the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import Connection

from bot.embedded import EmbeddedRedis, redacted, redis_reachable
from bot.settings import ServiceError, Settings

log = logging.getLogger(__name__)


class PackingConnection(Connection):
    """A TCP connection that packs commands into the Redis protocol in one join: the same bytes as redis-py's own
    pack_command, which joins the buffer once an argument (a few microseconds each), and the archive and story
    scripts send thousands of arguments a call."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):  # a command name of several words ("CONFIG GET") goes as several arguments
            args = tuple(args[0].encode().split()) + args[1:]
        elif b" " in args[0]:
            args = tuple(args[0].split()) + args[1:]
        encoder = self.encoder
        encode, encoding, errors = encoder.encode, encoder.encoding, encoder.encoding_errors
        pieces = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode(encoding, errors) if type(arg) is str else encode(arg)  # type: ignore[no-untyped-call]
            pieces += (b"$%d\r\n" % len(data), data, b"\r\n")
        return [b"".join(pieces)]

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """redis-py's send, less the task that its write timeout starts for every command (about a third of the
        client's CPU time a command): a command that the socket takes at once, as nearly all do, has nothing to
        wait for. What stays in the transport's buffer is drained by redis-py, with its timeout and its errors."""
        writer = self._writer
        if (type(command) is list and writer is not None and self._reader is not None
                and not (check_health and self.health_check_interval)):
            transport = writer.transport
            if not transport.is_closing() and transport.get_write_buffer_size() == 0:
                writer.writelines(command)
                if transport.get_write_buffer_size() == 0:
                    return
                command, check_health = [], False  # written; only the drain is left
        await super().send_packed_command(command, check_health)


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
        redis = Redis.from_url(redis_url, connection_class=PackingConnection)  # unix:// and rediss:// keep theirs
        stack.push_async_callback(redis.aclose)
        yield redis, description
