"""Linked pages' descriptions: what is read of a page, what is refused, and what an item gets."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from bot.briefing.summary import Passage, summary_sentences
from bot.models import Item
from tests.feedserver import feed_server
from workers.ingest.pages import (
    USER_AGENT,
    PageDescriber,
    PageError,
    PublicResolver,
    needs_description,
    page_description,
    public_address,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LORA = ("A library for fine-tuning large language models on a single GPU with low-rank adapters, "
        "with recipes for Llama and Qwen.")


def page(description: str = LORA, *, key: str = "og:description", attribute: str = "property",
         padding: int = 0) -> bytes:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Page</title>{" " * padding}'
            f'<meta {attribute}="{key}" content="{description}"></head>'
            f"<body><p>The article.</p></body></html>").encode()


def item(url: str, title: str = "Show HN: Tinytune", summary: str = "Score: 120 Comments: 41 By: someone",
         **extra: object) -> Item:
    return Item.model_validate({"url": url, "title": title, "source": "hn", "published": NOW, "summary": summary,
                                **extra})


def test_the_best_description_is_taken_and_cleaned() -> None:
    both = (b'<html><head><meta name="description" content="A site about things and more things besides.">'
            b'<meta property="og:description" content="Fine-tuning &amp; serving <b>LLMs</b> on one GPU, from '
            b'data to deployment."></head><body></body></html>').decode()
    assert page_description(both) == "Fine-tuning & serving LLMs on one GPU, from data to deployment."
    # whole as written, so a sentence the briefing may quote; one cut off by its site stays as it is (never quoted)
    assert page_description(page("Fine-tuning and serving LLMs on one GPU, from data to deployment").decode()) == (
        "Fine-tuning and serving LLMs on one GPU, from data to deployment.")
    assert page_description(page("Fine-tuning and serving LLMs on one GPU, from data to...").decode()) == (
        "Fine-tuning and serving LLMs on one GPU, from data to...")
    assert page_description(page(key="twitter:description", attribute="name").decode()) == LORA
    assert page_description(page(key="description", attribute="name").decode()) == LORA
    assert page_description(page(key="DESCRIPTION", attribute="NAME").decode()) == LORA


def test_boilerplate_notices_and_the_headline_again_are_not_descriptions() -> None:
    github = ("Tinytune trains adapters for open-weight language models on one GPU. Contribute to someone/tinytune "
              "development by creating an account on GitHub.")
    assert page_description(page(github).decode()) == ("Tinytune trains adapters for open-weight language models on "
                                                       "one GPU.")
    assert page_description(page("Contribute to someone/tinytune development by creating an account on "
                                 "GitHub.").decode()) is None
    assert page_description(page("Just a moment...").decode()) is None
    assert page_description(page("Your browser is not supported. Please upgrade to a modern browser.").decode()) is None
    assert page_description(page("Run language models in your browser with WebGPU, no server needed.").decode()) == (
        "Run language models in your browser with WebGPU, no server needed.")
    assert page_description(page("Please enable JavaScript and cookies to continue to this site.").decode()) is None
    assert page_description(page("Tinytune: fine-tune language models on one GPU").decode(),
                            "Tinytune: Fine-tune language models on one GPU") is None
    assert page_description("<html><head><title>No description</title></head><body>x</body></html>") is None
    assert page_description(page("x" * 5000).decode()) is not None  # long is cut, not refused
    assert len(page_description(page("word " * 2000).decode()) or "") <= 600


def test_only_items_without_a_sentence_of_their_own_need_a_description() -> None:
    assert needs_description(item("https://example.com/a"))
    assert needs_description(item("https://example.com/a", summary=""))
    assert needs_description(item("https://example.com/a", summary='<a href="https://x.y">Comments</a>'))
    assert not needs_description(item("https://example.com/a", summary=LORA))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "169.254.169.254",
                                     "0.0.0.0", "100.64.0.1", "::1", "fc00::1", "fe80::1%eth0", "::ffff:127.0.0.1",
                                     "224.0.0.1", "not an address"])
def test_non_public_addresses_are_recognised(address: str) -> None:
    assert not public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_recognised(address: str) -> None:
    assert public_address(address)


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = PublicResolver()
    try:
        with pytest.raises(OSError, match="localhost resolves to a non-public address"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:9/x", "a non-public address"),
    ("http://[::1]:9/x", "a non-public address"),
    ("http://169.254.169.254/latest/meta-data/", "a non-public address"),
    ("http://localhost:9/x", "a local host name"),
    ("http://printer.local/x", "a local host name"),
    ("file:///etc/passwd", "not an http"),
    ("ftp://example.com/x", "not an http"),
])
async def test_links_into_the_local_network_are_never_read(url: str, message: str) -> None:
    describer = PageDescriber()
    try:
        with pytest.raises(PageError, match=message):
            await describer.describe(url)
    finally:
        await describer.close()


async def test_every_redirect_is_checked_before_it_is_followed() -> None:
    checked: list[str] = []

    class Watched(PageDescriber):
        def _check(self, url: str) -> str:
            checked.append(url)
            if urlsplit(url).path == "/lora.html":  # as if the redirect pointed into the local network
                raise PageError("a non-public address")
            return super()._check(url)

    async with feed_server() as server:
        server.documents["/lora.html"] = page()
        server.types["/lora.html"] = "text/html; charset=utf-8"
        describer = PageDescriber(allow_private=True)
        watched = Watched(allow_private=True)
        try:
            assert await describer.describe(server.url("/moved?to=/lora.html")) == LORA
            with pytest.raises(PageError, match="a non-public address"):
                await watched.describe(server.url("/moved?to=/lora.html"))
            assert checked == [server.url("/moved?to=/lora.html"), server.url("/lora.html")]
            assert server.hits.get("/lora.html") == 1  # the refused hop was never requested
        finally:
            await describer.close()
            await watched.close()


async def test_a_description_that_is_the_sites_own_is_not_the_pages() -> None:
    tagline = "Thoughtful writing about technology and the people who make it, since 2011."
    async with feed_server() as server:
        server.documents.update({"/": page(tagline), "/2026/tagline.html": page(tagline + " "),
                                 "/2026/lora.html": page(), "/about-us": page(tagline)})
        for path in server.documents:
            server.types[path] = "text/html"
        describer = PageDescriber(allow_private=True)
        try:
            assert await describer.describe(server.url("/2026/tagline.html")) is None  # the first page of the site
            assert await describer.describe(server.url("/2026/lora.html")) == LORA
            assert await describer.describe(server.url("/")) == tagline  # a link to the site itself: its description
        finally:
            await describer.close()
        assert server.hits["/"] == 2  # once as the home page of the site's pages (then remembered), once linked


async def test_a_cookie_set_while_redirecting_goes_back_to_its_host_for_that_page_only() -> None:
    async with feed_server() as server:
        server.documents["/lora.html"] = page()
        server.types["/lora.html"] = "text/html"
        describer = PageDescriber(allow_private=True)
        try:
            assert await describer.describe(server.url("/gate/lora.html")) == LORA
            assert await describer.describe(server.url("/gate/lora.html")) == LORA
        finally:
            await describer.close()
        assert server.hits["/gate"] == 4  # each read met the wall again: nothing was kept between pages


@pytest.mark.parametrize(("path", "kind", "message"), [
    ("/status/404", None, "HTTP 404 Not Found"),
    ("/status/403", None, "HTTP 403 Forbidden"),
    ("/paper.pdf", "application/pdf", r"not HTML \(application/pdf\)"),
    ("/lora.html?slow=2", "text/html", "no answer within 0.5s"),
    ("/loop", None, "more than 5 redirects"),
])
async def test_pages_that_cannot_be_read_say_why(path: str, kind: str | None, message: str) -> None:
    async with feed_server(delay=2.0) as server:
        server.documents[path.split("?")[0]] = page()
        if kind:
            server.types[path.split("?")[0]] = kind
        describer = PageDescriber(timeout=0.5, allow_private=True)
        try:
            with pytest.raises(PageError, match=message):
                await describer.describe(server.url(path))
        finally:
            await describer.close()


async def test_only_the_head_of_a_page_is_read() -> None:
    async with feed_server() as server:
        huge = page().replace(b"<p>The article.</p>", b"<p>" + b"words " * 2_000_000 + b"</p>")
        late = page(padding=300_000)  # the description beyond the bytes read
        server.documents.update({"/huge.html": huge, "/late.html": late})
        server.types.update({"/huge.html": "text/html", "/late.html": "text/html"})
        describer = PageDescriber(max_bytes=65_536, allow_private=True)
        try:
            _, head, _ = await describer.head(server.url("/huge.html"))
            assert len(head) <= 65_536 and b"<body" in head
            assert await describer.describe(server.url("/huge.html")) == LORA
            assert await describer.describe(server.url("/late.html")) is None
        finally:
            await describer.close()


async def test_items_without_text_get_their_pages_descriptions(caplog: pytest.LogCaptureFixture) -> None:
    async with feed_server(delay=3.0) as server:
        server.documents.update({
            "/lora.html": page(),
            "/latin1.html": page("Ein Modell für Übersetzungen zwischen zwölf Sprachen, offen und frei.").replace(
                b"utf-8", b"iso-8859-1").decode().encode("iso-8859-1"),
            "/tagline/one.html": page("The home of thoughtful writing about technology and the people who make it."),
            "/tagline/two.html": page("The home of thoughtful writing about technology and the people who make it."),
            "/slow.html": page(),
        })
        for path in server.documents:
            if path.endswith(".html"):
                server.types[path] = "text/html"
        items = [
            item(server.url("/lora.html")),
            item(server.url("/latin1.html"), title="Zwölf Sprachen"),
            item(server.url("/tagline/one.html"), title="On writing"),
            item(server.url("/tagline/two.html"), title="On reading"),
            item(server.url("/status/404"), title="Gone"),
            item(server.url("/slow.html?slow=3"), title="Slow"),
            item(server.url("/own.html"), title="Has its own text", summary=LORA.replace("A library", "Tool")),
            item(server.url("/lora.html?old=1"), title="Backfill", backfill=True),
        ]
        describer = PageDescriber(budget=1.0, allow_private=True)
        try:
            with caplog.at_level(logging.INFO, logger="workers.ingest.pages"):
                out = await describer.describe_items(items, "source hn")
        finally:
            await describer.close()
        assert [i.url for i in out] == [i.url for i in items]
        lora, latin, one, two, gone, slow, own, backfill = out
        assert lora.described and lora.summary.startswith(LORA) and lora.summary.endswith("By: someone")
        assert summary_sentences([Passage(lora.title, lora.summary)]) == [LORA]  # what the briefing's story says
        assert latin.described and latin.summary.startswith("Ein Modell für Übersetzungen zwischen zwölf")
        assert one.described and not two.described  # the same text for two pages of a host is its tagline
        assert not gone.described and gone.summary == items[4].summary
        assert not slow.described
        assert own == items[6] and backfill == items[7]
        assert server.hits.get("/lora.html") == 1 and "/lora.html?old=1" not in server.hits
        assert all(agent == USER_AGENT for agent in server.user_agents)
        line = next(r.getMessage() for r in caplog.records if "linked pages" in r.getMessage())
        assert line.startswith("source hn: 3 of 6 linked pages described")
        assert "HTTP 404 Not Found (1)" in line and "over the 1s budget of a poll (1)" in line


async def test_a_cancelled_poll_leaves_no_request_behind() -> None:
    async with feed_server(delay=3.0) as server:
        describer = PageDescriber(allow_private=True)
        try:
            task = asyncio.create_task(describer.describe_items([item(server.url("/hang"))]))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            await describer.close()
