"""The fetcher against a local HTTP server: conditional GET, limits, and every failure as a clear error."""

from __future__ import annotations

import asyncio

import pytest

from tests.feedserver import feed_server, fixture
from workers.ingest.fetch import USER_AGENT, Fetcher, FetchError


async def test_conditional_get_returns_no_body_when_unchanged() -> None:
    async with feed_server() as server:
        server.documents["/anthropic.xml"] = fixture("real-ai/anthropic_news.xml")
        fetcher = Fetcher()
        try:
            first = await fetcher.fetch(server.url("/anthropic.xml"))
            assert first.status == 200 and first.body == server.documents["/anthropic.xml"]
            assert first.etag and first.last_modified
            second = await fetcher.fetch(server.url("/anthropic.xml"), etag=first.etag,
                                         last_modified=first.last_modified)
            assert second.not_modified and second.body is None and second.etag == first.etag
            assert server.conditional_hits == 1
            assert server.user_agents[0] == USER_AGENT and "ai-news" in USER_AGENT
        finally:
            await fetcher.close()


async def test_gzip_and_redirects_are_followed() -> None:
    async with feed_server() as server:
        body = fixture("real-ai/meta_ai_news.xml")
        server.documents["/meta.xml"] = body
        fetcher = Fetcher()
        try:
            result = await fetcher.fetch(server.url("/meta.xml?gzip=1"))
            assert result.body == body
            moved = await fetcher.fetch(server.url("/moved?to=/meta.xml"))
            assert moved.body == body and moved.url.endswith("/meta.xml")
        finally:
            await fetcher.close()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/status/404", "HTTP 404 Not Found"),
        ("/status/500", "HTTP 500 Internal Server Error"),
        ("/status/403", "HTTP 403 Forbidden"),
        ("/loop", "more than 3 redirects"),
        ("/endless", "exceeds the 200000-byte cap"),
        ("/hang", "no complete answer within 0.5s"),
    ],
)
async def test_failures_are_clear_errors(path: str, message: str) -> None:
    async with feed_server() as server:
        fetcher = Fetcher(timeout=0.5, max_bytes=200_000, max_redirects=3)
        try:
            with pytest.raises(FetchError, match=message):
                await fetcher.fetch(server.url(path))
        finally:
            await fetcher.close()


async def test_size_cap_counts_decompressed_bytes() -> None:
    async with feed_server() as server:
        server.documents["/zeros.xml"] = b"<rss>" + b" " * 5_000_000 + b"</rss>"  # ~5 KB gzipped
        fetcher = Fetcher(max_bytes=1_000_000)
        try:
            with pytest.raises(FetchError, match="cap"):
                await fetcher.fetch(server.url("/zeros.xml?gzip=1"))
        finally:
            await fetcher.close()


async def test_connection_refused_is_a_clear_error() -> None:
    fetcher = Fetcher(timeout=2)
    try:
        with pytest.raises(FetchError, match="connection failed"):
            await fetcher.fetch("http://127.0.0.1:1/feed.xml")
        with pytest.raises(FetchError, match="not a fetchable URL"):
            await fetcher.fetch("not a url")
    finally:
        await fetcher.close()


async def test_per_host_concurrency_is_limited() -> None:
    async with feed_server() as server:
        server.documents["/slow.xml"] = fixture("real-ai/meta_ai_news.xml")
        fetcher = Fetcher(per_host=2)
        try:
            await asyncio.gather(*(fetcher.fetch(server.url(f"/slow.xml?slow=0.2&n={n}")) for n in range(6)))
        finally:
            await fetcher.close()
        assert server.max_in_flight == 2
