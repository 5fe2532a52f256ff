"""`ai-news bench ingest`: parse, normalize and dedupe against bare feedparser."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cmd.demo import sample_feeds
from bot.runtime import open_redis
from bot.settings import ConfigError, Settings
from workers.ingest.bench import IngestBench, bench_ingest
from workers.ingest.detect import kind_from_document, source_id_for
from workers.ingest.formats import parse_document
from workers.ingest.parse import FeedError


def _read_corpus(corpus: Path) -> list[tuple[str, bytes]]:
    """The feed documents of a file or folder; any that is not a readable feed is named with the reason."""
    try:
        files = sorted(p for p in corpus.iterdir() if p.is_file()) if corpus.is_dir() else [corpus]
        documents = [(source_id_for(p.stem), p.read_bytes()) for p in files]
    except OSError as exc:
        raise ConfigError(f"{corpus}: cannot read the corpus: {exc.strerror or exc}") from None
    for (source_id, data), path in zip(documents, files, strict=True):
        try:
            parse_document(kind_from_document(data), data, source_id=source_id)
        except FeedError as exc:
            raise ConfigError(f"{path}: not a feed to benchmark ({exc}); give RSS, Atom or JSON Feed files") from None
    return documents


async def bench_ingest_report(settings: Settings, what: str, rounds: int, corpus: Path | None) -> str:
    """Run one benchmark and return its report."""
    return (await ingest_bench(settings, what, rounds, corpus)).report()


async def ingest_bench(settings: Settings, what: str, rounds: int, corpus: Path | None) -> IngestBench:
    if what != "ingest":
        raise ConfigError(f"unknown benchmark {what!r}; benchmarks: ingest")
    documents = await asyncio.to_thread(_read_corpus, corpus) if corpus is not None else sample_feeds()
    if not documents:
        raise ConfigError(f"no documents to benchmark in {corpus}")
    async with open_redis(settings) as (redis, _):
        result = await bench_ingest(redis, settings.redis_key_prefix, documents, rounds)
    return result
