"""What a linked page says it is about, for items whose feed gives only a headline and a link.

Link aggregators (Hacker News, Lobsters, most "best of" feeds) carry no text of their own: a headline, a score and
a link. The page at the link describes itself in its head, for link previews: `og:description`,
`twitter:description` or `description`. For a new item with no usable sentence of its own, the ingest role reads
that description, so the classifier and the briefing have more to go on than a headline (on the labeled items that
have text, a headline alone puts about six points fewer in the right section).

Reading a page is bounded the way fetching a feed is, and more tightly: http(s) only, HTML only, only the head of
the page (it stops at `<body` or at `max_bytes`), a time limit per page and one for all the pages of a poll, a few
pages at once and per host, a User-Agent that names the bot. Links come from feeds, so any host may be named: a
private, loopback, link-local or otherwise non-public address is refused, checked on every redirect and on every
DNS answer, unless `allow_private` is set. A description that is a site's tagline (the home page's, or the same
text for two pages of a host), a notice or boilerplate is not used. A page that fails leaves its item as the feed
gave it.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import re
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot import __version__
from bot.briefing.summary import boilerplate, clean, usable_sentence
from bot.models import SUMMARY_MAX, Item
from bot.text import plain_text, sentences, shorten

log = logging.getLogger(__name__)

USER_AGENT = f"ai-news/{__version__} (AI news bot for Slack and Discord; reads link previews)"
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
MAX_DESCRIPTION = 600
MIN_DESCRIPTION = 40
# Which description a page gives, best first.
_KEYS = ("og:description", "twitter:description", "description")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_BODY = re.compile(rb"<body[\s>]", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# Notices served instead of the page (a bot check, a consent wall, a login).
_NOTICE = re.compile(r"\b(?:are you a robot|verify you are (?:a )?human|access denied|enable (?:javascript|cookies)|"
                     r"your browser (?:is|does)|(?:update|upgrade) your browser|log in to|sign in to|"
                     r"subscribe to (?:read|continue))\b", re.IGNORECASE)


class PageError(Exception):
    """A page could not be read; the message says why (status, type, timeout, private address...)."""


def public_address(address: str) -> bool:
    """A globally routable address: not private, loopback, link-local, multicast, reserved or unspecified."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PublicResolver(AbstractResolver):
    """DNS answers with a non-public address are refused, so a name cannot lead a fetch into the local network."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        private = [a["host"] for a in answers if not public_address(a["host"])]
        if private:
            raise OSError(f"{host} resolves to a non-public address ({private[0]})")
        return answers

    async def close(self) -> None:
        await self._inner.close()


class _Meta(HTMLParser):
    """The descriptions in a page's head (the first of each kind)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        named = {k.lower(): v for k, v in attrs if v is not None}
        key = (named.get("property") or named.get("name") or "").strip().lower()
        if key in _KEYS and key not in self.found and named.get("content"):
            self.found[key] = named["content"]


def page_description(markup: str, title: str = "") -> str | None:
    """The description a page gives of itself, as plain text without boilerplate sentences; None when it gives
    none worth reading (missing, too short, a notice, the headline again)."""
    parser = _Meta()
    try:
        parser.feed(markup)
        parser.close()
    except AssertionError:  # html.parser gives up on some broken markup: what it read so far stands
        pass
    for key in _KEYS:
        text = plain_text(parser.found.get(key))
        kept = [s for s in sentences(clean(text)) if not boilerplate(s)]
        description = shorten(" ".join(kept), MAX_DESCRIPTION)
        if len(description) < MIN_DESCRIPTION or _NOTICE.search(description):
            continue
        if title and _folded(description) == _folded(title):
            continue
        if description[-1].isalnum() or description[-1] in ")\"'":  # whole, as publishers write them: a sentence
            description += "."
        return description
    return None


def _folded(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def needs_description(item: Item) -> bool:
    """True when the feed gave the item no sentence worth reading (only a headline, a score, a link)."""
    return not any(usable_sentence(s, item.title) for s in sentences(clean(plain_text(item.summary)))[:8])


def _charset(content_type_charset: str | None, head: bytes) -> str:
    found = _META_CHARSET.search(head[:4096])
    for name in (content_type_charset, found.group(1).decode("ascii") if found else None):
        if name:
            try:
                return codecs.lookup(name).name
            except LookupError:
                continue
    return "utf-8"


@dataclass
class DescribeRound:
    """What one poll's pages gave: logged as one line."""

    asked: int = 0
    described: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self, label: str) -> str:
        text = f"{label}: {self.described} of {self.asked} linked pages described ({self.seconds:.1f}s)"
        if self.failures:
            text += "; not described: " + ", ".join(f"{reason} ({n})" for reason, n in self.failures.most_common())
        return text


class PageDescriber:
    """One HTTP client for a process; `close()` at the end."""

    def __init__(
        self,
        *,
        timeout: float = 6.0,
        budget: float = 20.0,
        max_bytes: int = 262_144,
        max_redirects: int = 5,
        at_once: int = 8,
        per_host: int = 2,
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.timeout = timeout
        self.budget = budget
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.at_once = at_once
        self.per_host = per_host
        self.allow_private = allow_private
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        # host -> (url, description) of the last page described there; the same text for another page is a tagline
        self._last: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._taglines: set[tuple[str, str]] = set()
        self._homes: OrderedDict[str, str | None] = OrderedDict()  # scheme://host -> its home page's description

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.at_once, limit_per_host=self.per_host,
                                             resolver=None if self.allow_private else PublicResolver())
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(),  # nothing kept from one page to the next
                timeout=aiohttp.ClientTimeout(total=self.timeout, connect=min(5.0, self.timeout)),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Language": "en;q=1, *;q=0.5",
                         "Accept-Encoding": "gzip, deflate"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _check(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PageError("not an http(s) link")
        host = parts.hostname.lower()
        if not self.allow_private:
            if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
                raise PageError("a local host name")
            try:
                ipaddress.ip_address(host)
            except ValueError:
                return host  # a name: the resolver checks its addresses
            if not public_address(host):
                raise PageError("a non-public address")
        return host

    async def head(self, url: str) -> tuple[str, bytes, str | None]:
        """The start of the page at `url` (up to its `<body` or `max_bytes`), its final URL and charset.

        Cookies a site sets while redirecting (a consent or session cookie, then back to the page) go back to the
        same host during this one read only."""
        cookies: dict[str, dict[str, str]] = {}
        for _ in range(self.max_redirects + 1):
            host = self._check(url)
            async with self._client().get(url, allow_redirects=False, cookies=cookies.get(host)) as response:
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location")
                    if not location:
                        raise PageError(f"HTTP {response.status} without a Location")
                    cookies.setdefault(host, {}).update((k, m.value) for k, m in response.cookies.items())
                    url = urljoin(url, location)
                    continue
                if response.status != 200:
                    raise PageError(f"HTTP {response.status} {response.reason or ''}".strip())
                kind = (response.content_type or "").lower()
                if kind not in _HTML_TYPES:
                    raise PageError(f"not HTML ({kind or 'no type'})")
                data = bytearray()
                async for chunk in response.content.iter_chunked(16_384):
                    data += chunk
                    if len(data) >= self.max_bytes or _BODY.search(data, max(0, len(data) - len(chunk) - 6)):
                        break
                return str(response.url), bytes(data[: self.max_bytes]), response.charset
        raise PageError(f"more than {self.max_redirects} redirects")

    async def _read(self, url: str, title: str = "") -> tuple[str, str | None]:
        """The final URL of the page at `url` and its description; PageError says why it could not be read."""
        try:
            final, data, charset = await self.head(url)
        except TimeoutError:
            raise PageError(f"no answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise PageError(_client_error(exc)) from None
        except (OSError, ValueError) as exc:
            raise PageError(f"{type(exc).__name__}: {exc}") from None
        markup = data.decode(_charset(charset, data), "replace")
        return final, await asyncio.to_thread(page_description, markup, title)

    async def _home(self, site: str) -> str | None:
        """The description of a site's home page (`scheme://host`), read once a process; None when it has none or
        cannot be read."""
        if site in self._homes:
            self._homes.move_to_end(site)
            return self._homes[site]
        try:
            _, home = await self._read(site + "/")
        except PageError:
            home = None
        self._homes[site] = home
        while len(self._homes) > 4096:
            self._homes.popitem(last=False)
        return home

    async def describe(self, url: str, title: str = "") -> str | None:
        """The page's description of itself, or None when it gives none of its own: missing, boilerplate, or its
        site's (the home page's description, or the same text for two of the site's pages). PageError says why a
        page could not be read."""
        final, description = await self._read(url, title)
        if description is None:
            return None
        parts = urlsplit(final)
        host = (parts.hostname or "").lower()
        if not parts.path.strip("/"):  # a link to a site itself ("Show HN: ..."): the site's description is its own
            return description
        if (host, description) in self._taglines:
            return None
        home = await self._home(f"{parts.scheme}://{parts.netloc}")
        last = self._last.get(host)  # read after the last await: the check and the record below are one step
        if (last is not None and last[1] == description and last[0] != final) or (
                home is not None and _folded(home) == _folded(description)):
            self._taglines.add((host, description))
            return None
        self._last[host] = (final, description)
        self._last.move_to_end(host)
        while len(self._last) > 4096:
            self._last.popitem(last=False)
        return description

    async def describe_items(self, items: Sequence[Item], label: str = "") -> list[Item]:
        """The items, each new one without text of its own given its page's description (`described`); backfill
        and items with text are left as they are. At most `budget` seconds for all of them: what is not read by
        then stays as it was."""
        wanted = [item for item in items if not item.backfill and needs_description(item)]
        if not wanted:
            return list(items)
        started = time.monotonic()
        round_ = DescribeRound(asked=len({item.url for item in wanted}))
        tasks = {url: asyncio.create_task(self._one(url, title, round_))
                 for url, title in dict((item.url, item.title) for item in wanted).items()}
        done, late = await asyncio.wait(tasks.values(), timeout=self.budget)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            round_.failures[f"over the {self.budget:g}s budget of a poll"] += len(late)
        found: dict[str, str] = {}
        for url, task in tasks.items():
            if task in done and (description := task.result()):
                found[url] = description
        round_.described = len(found)
        round_.seconds = time.monotonic() - started
        log.info("%s", round_.line(label or "linked pages"))
        asked = {item.id for item in wanted}
        return [_described(item, found[item.url]) if item.id in asked and item.url in found else item
                for item in items]

    async def _one(self, url: str, title: str, round_: DescribeRound) -> str | None:
        try:
            return await self.describe(url, title)
        except PageError as exc:
            round_.failures[str(exc)] += 1
            log.debug("page %s not described: %s", url, exc)
            return None


def _client_error(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connection failed: {exc.os_error}" if exc.os_error else "connection failed"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    return f"HTTP error: {type(exc).__name__}"


def _described(item: Item, description: str) -> Item:
    """The item with the page's description first in its summary; the feed's own text (a score, a link) after it."""
    summary = f"{description}\n\n{item.summary}" if item.summary.strip() else description
    return item.model_copy(update={"summary": shorten(summary, SUMMARY_MAX), "described": True})
