"""Who published an item: the site its link points at, not the feed that carried it.

A story lists one source per publisher: the same link from two feeds (a lab's blog and an aggregator that
mirrors it) is one source, and a Hacker News item is the linked site's story, carried by Hacker News. Names
come from `publishers` in config/entities.yaml (domain -> name), else from the feed when the feed is the
site's own (a feed that is not an aggregator carrying many sites' links), else the site's domain.
"""

from __future__ import annotations

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
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"})


@lru_cache(maxsize=1 << 16)
def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass(frozen=True)
class Publisher:
    key: str  # what sources are counted by
    name: str  # what a reader sees


@lru_cache(maxsize=1 << 16)  # each link is asked for by the aggregators' count and by its story
def site_of(url: str) -> str:
    """The registrable part of a URL's host ("blog.google", "anthropic.com", "bbc.co.uk"); for hosts shared by
    many authors, the author's space ("github.com/sqliteai", "danluu.github.io")."""
    host = _host(url)
    if host.endswith(_SHARED_SUFFIXES):
        return host
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        site = ".".join(labels[-3:])
    else:
        site = ".".join(labels[-2:])
    if site in _SHARED_HOSTS:
        segment = next((s for s in urlsplit(url).path.split("/") if s), "")
        if segment and site != "arxiv.org":
            return f"{site}/{segment.lower()}"
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


def aggregators_of(links: Iterable[tuple[str, str]], sites: int = 3) -> frozenset[str]:
    """The feeds among (feed name, url) pairs whose links point at `sites` or more sites, and Hacker News."""
    seen: dict[str, set[str]] = defaultdict(set)
    for feed, url in links:
        seen[feed].add(site_of(url))
    return frozenset(feed for feed, found in seen.items()
                     if len(found) >= sites or "hackernews" in feed.lower().replace(" ", ""))
