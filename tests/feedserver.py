"""A local HTTP server that serves the fixture feeds the way real hosts do, and misbehaves on request."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.conftest import FIXTURES

BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;">]>\n<rss version="2.0"><channel><title>&lol2;</title>'
        b"<item><title>&lol2;</title><link>https://example.com/x</link></item></channel></rss>")
HTML = b"<!doctype html><html><head><title>Blog</title></head><body><h1>Our blog</h1><p>Hello</p></body></html>"


@dataclass
class FeedServer:
    base: str
    # path -> document; change it to make the "site" publish something new
    documents: dict[str, bytes] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # path -> Content-Type, when not a feed's
    hits: dict[str, int] = field(default_factory=dict)
    conditional_hits: int = 0
    user_agents: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


@asynccontextmanager
async def feed_server(delay: float = 5.0) -> AsyncIterator[FeedServer]:
    server = FeedServer(base="")

    async def document(request: web.Request) -> web.StreamResponse:
        path = request.path
        server.hits[path] = server.hits.get(path, 0) + 1
        server.user_agents.append(request.headers.get("User-Agent", ""))
        body = server.documents.get(path)
        if body is None:
            return web.Response(status=404, text="not found")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        last_modified = "Thu, 30 Apr 2026 12:00:00 GMT"
        if request.headers.get("If-None-Match") == etag:
            server.conditional_hits += 1
            return web.Response(status=304, headers={"ETag": etag})
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if request.query.get("slow"):
                await asyncio.sleep(float(request.query["slow"]))
            headers = {"ETag": etag, "Last-Modified": last_modified,
                       "Content-Type": server.types.get(path, "application/xml")}
            if "gzip" in request.headers.get("Accept-Encoding", "") and request.query.get("gzip"):
                return web.Response(body=gzip.compress(body), headers={**headers, "Content-Encoding": "gzip"})
            return web.Response(body=body, headers=headers)
        finally:
            server.in_flight -= 1

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="error page")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(request.query.get("to", "/"))

    async def gate(request: web.Request) -> web.StreamResponse:
        """A consent wall: without its cookie, a redirect back to the page that sets it."""
        server.hits["/gate"] = server.hits.get("/gate", 0) + 1
        if request.cookies.get("consent") != "yes":
            response = web.HTTPFound(request.path_qs)
            response.set_cookie("consent", "yes")
            raise response
        return await document(request.clone(rel_url="/" + request.match_info["tail"]))

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>')
        chunk = b"<!-- padding -->" * 4096
        for _ in range(2000):  # bounded: ~130 MB at most, stopped by the client's cap long before
            await response.write(chunk)
        return response

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/loop", loop)
    app.router.add_get("/moved", moved)
    app.router.add_get("/endless", endless)
    app.router.add_get("/hang", hang)
    app.router.add_get("/gate/{tail:.*}", gate)
    app.router.add_get("/{tail:.*}", document)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    server.documents.update({"/bomb.xml": BOMB, "/page.html": HTML})
    try:
        yield server
    finally:
        await runner.cleanup()


def load(path: Path) -> bytes:
    return path.read_bytes()
