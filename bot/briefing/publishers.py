"""Who published an item: the site its link points at, not the feed that carried it.

A story lists one source per publisher: the same link from two feeds (a lab's blog and an aggregator that
mirrors it) is one source, and a Hacker News item is the linked site's story, carried by Hacker News. Names
come from `publishers` in config/entities.yaml (domain -> name), else from the feed when the feed is the
site's own (a feed that is not an aggregator carrying many sites' links), else the site's domain.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

# Hosts where every user or project has its own space: the publisher is the space, not the host.
# example.com, .org and .net are reserved for examples: each first path segment stands for a site of its own.
_SHARED_HOSTS = frozenset({"github.com", "gitlab.com", "medium.com", "huggingface.co", "x.com", "twitter.com",
                           "youtube.com", "reddit.com", "substack.com", "linkedin.com", "arxiv.org", "example.com",
                           "example.org", "example.net"})
_SHARED_SUFFIXES = (".github.io", ".substack.com", ".medium.com", ".wordpress.com", ".blogspot.com",
                    ".vercel.app", ".pages.dev", ".netlify.app", ".notion.site", ".gitlab.io")
# Shared hosts whose spaces are named after a kind of space: the kind and the name ("reddit.com/r/localllama").
_KIND_SEGMENTS = {"reddit.com": frozenset({"r", "u", "user"}), "linkedin.com": frozenset({"in", "company"}),
                  "youtube.com": frozenset({"c", "channel", "user"})}
# Paths of shared hosts that are no author's space: a video, a post by id, a search ("youtube.com/watch?v=..." is
# published by YouTube, not by a "watch" author).
_NO_SPACE = {"youtube.com": frozenset({"watch", "shorts", "embed", "live", "playlist", "results"}),
             "reddit.com": frozenset({"comments", "gallery", "search"}),
             "twitter.com": frozenset({"i", "search", "hashtag", "intent", "home"}),
             "x.com": frozenset({"i", "search", "hashtag", "intent", "home"})}
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"})


# A link with a plain host (no user, port or brackets), as nearly every feed link is: its host and path are read
# off directly, with what urlsplit would give; any other link goes through urlsplit.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9.-]*)(?=[/?#]|\Z)([^?#]*)")


@lru_cache(maxsize=1 << 16)  # each link is asked for by the aggregators' count and by its story
def _parts(url: str) -> tuple[str, str]:
    """The host (lower-case, without "www.") and the path of a URL."""
    plain = _PLAIN.match(url)
    if plain is None or not url.isprintable():  # urlsplit removes tabs and line breaks anywhere in a URL
        parts = urlsplit(url)
        return (parts.hostname or "").lower().removeprefix("www."), parts.path
    return plain.group(1).lower().removeprefix("www."), plain.group(2)


def _host(url: str) -> str:
    return _parts(url)[0]


@dataclass(frozen=True)
class Publisher:
    key: str  # what sources are counted by
    name: str  # what a reader sees


@lru_cache(maxsize=1 << 12)  # a window's thousands of links come from a few hundred hosts
def _host_site(host: str) -> tuple[str, bool]:
    """The registrable part of a host, and whether it is shared by many authors (see `site_of`)."""
    if host.endswith(_SHARED_SUFFIXES):
        return host, False
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        site = ".".join(labels[-3:])
    else:
        site = ".".join(labels[-2:])
    return site, site in _SHARED_HOSTS


@lru_cache(maxsize=1 << 16)  # each link is asked for by the aggregators' count and by its story
def site_of(url: str) -> str:
    """The registrable part of a URL's host ("blog.google", "anthropic.com", "bbc.co.uk"); for hosts shared by
    many authors, the author's space ("github.com/sqliteai", "danluu.github.io")."""
    host, path = _parts(url)
    site, shared = _host_site(host)
    if shared:
        segments = [s for s in path.split("/") if s][:2]
        if segments and site != "arxiv.org" and segments[0].lower() not in _NO_SPACE.get(site, ()):
            if len(segments) == 2 and segments[0].lower() in _KIND_SEGMENTS.get(site, ()):
                return f"{site}/{segments[0].lower()}/{segments[1].lower()}"
            return f"{site}/{segments[0].lower()}"
    return site


def publisher_of(url: str, feed_name: str, names: Mapping[str, str] | None = None,
                 aggregators: frozenset[str] = frozenset()) -> Publisher:
    """The site of the link, named by `names`, else by the feed when the feed is not an aggregator (a feed that
    carries many sites' links, as Hacker News does), else by the site itself."""
    site = site_of(url)
    known = names or {}
    host = _host(url)
    labels = host.split(".")
    for candidate in (*(".".join(labels[i:]) for i in range(len(labels) - 1)), site):
        if candidate in known:
            return Publisher(site, known[candidate])
    if feed_name and feed_name not in aggregators:
        return Publisher(site, feed_name)
    return Publisher(site, site)


class PublisherNames:
    """`publisher_of` for many links with one `names` and one set of aggregators: each (site, host, feed) is named
    once, however many of a story's links share it."""

    def __init__(self, names: Mapping[str, str] | None = None, aggregators: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.aggregators = aggregators
        self._named: dict[tuple[str, str, str], Publisher] = {}

    def __call__(self, url: str, feed_name: str) -> Publisher:
        key = (site_of(url), _host(url), feed_name)
        found = self._named.get(key)
        if found is None:
            found = self._named[key] = publisher_of(url, feed_name, self.names, self.aggregators)
        return found


def aggregators_of(links: Iterable[tuple[str, str]], sites: int = 3) -> frozenset[str]:
    """The feeds among (feed name, url) pairs whose links point at `sites` or more sites, and Hacker News."""
    seen: dict[str, set[str]] = defaultdict(set)
    found: set[str] = set()
    for feed, url in links:
        if feed in found:  # already known to be one: its other links change nothing
            continue
        feed_sites = seen[feed]
        if not feed_sites and "hackernews" in feed.lower().replace(" ", ""):
            found.add(feed)
            continue
        feed_sites.add(site_of(url))
        if len(feed_sites) >= sites:
            found.add(feed)
    return frozenset(found)
