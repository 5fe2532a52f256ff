"""Polite, bounded HTTP fetching of source documents.

Conditional GET (ETag, Last-Modified; a 304 returns no body), a total time limit, a size cap enforced while
streaming (after decompression, so a gzip bomb stops at the cap too), limited redirects, gzip, a User-Agent
that names the bot, and at most a few requests at once per host. Every failure is a FetchError whose message
a person can act on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from bot import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"ai-news/{__version__} (AI news bot for Slack and Discord; polls feeds politely)"
ACCEPT = ("application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5")


class FetchError(Exception):
    """The document could not be fetched; the message says why (status, timeout, size, redirects...)."""


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    body: bytes | None  # None when the server answered 304 Not Modified
    etag: str | None
    last_modified: str | None
    elapsed: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """One HTTP client for a process; `close()` at the end."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 10_000_000,
        max_redirects: int = 5,
        per_host: int = 2,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.per_host = per_host
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(self.per_host))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, connect=min(10.0, self.timeout)),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        host = (urlsplit(url).hostname or "").lower()
        if not host:
            raise FetchError(f"not a fetchable URL: {url!r}")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        async with self._hosts[host]:
            try:
                return await self._get(url, headers, started)
            except FetchError:
                raise
            except aiohttp.TooManyRedirects:
                raise FetchError(f"more than {self.max_redirects} redirects") from None
            except TimeoutError:
                raise FetchError(f"no complete answer within {self.timeout:g}s") from None
            except aiohttp.InvalidURL as exc:
                raise FetchError(f"invalid URL: {exc}") from None
            except aiohttp.ClientPayloadError as exc:
                raise FetchError(f"broken response body: {exc}") from None
            except aiohttp.ClientConnectionError as exc:
                raise FetchError(f"connection failed: {exc}") from None
            except aiohttp.ClientError as exc:
                raise FetchError(f"HTTP error: {type(exc).__name__}: {exc}") from None

    async def _get(self, url: str, headers: dict[str, str], started: float) -> FetchResult:
        async with self._client().get(url, headers=headers, max_redirects=self.max_redirects) as response:
            if response.status == 304:
                return FetchResult(str(response.url), 304, None, response.headers.get("ETag") or headers.get(
                    "If-None-Match"), response.headers.get("Last-Modified") or headers.get("If-Modified-Since"),
                    time.monotonic() - started)
            if response.status >= 400:
                reason = response.reason or ""
                raise FetchError(f"HTTP {response.status} {reason}".strip())
            if 300 <= response.status < 400:
                raise FetchError(f"HTTP {response.status} redirect without a usable Location")
            declared = response.content_length
            if declared is not None and declared > self.max_bytes:
                raise FetchError(f"response is {declared} bytes, over the {self.max_bytes}-byte cap")
            chunks = []
            size = 0
            async for chunk in response.content.iter_chunked(65536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"response exceeds the {self.max_bytes}-byte cap")
                chunks.append(chunk)
            return FetchResult(
                url=str(response.url),
                status=response.status,
                body=b"".join(chunks),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                elapsed=time.monotonic() - started,
            )
