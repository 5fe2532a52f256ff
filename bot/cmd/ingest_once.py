"""`ai-news ingest --once`: fetch sources now, publish what is new, wait until the archive holds it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bot.models import ClassifiedItem, FetchJob
from bot.runtime import load_sources_config, make_describer, make_fetcher, make_ingestor, open_services, wait_archived
from bot.settings import Settings
from bot.sources import Source, SourcesConfig
from workers.indexer import Indexer
from workers.ingest.detect import kind_from_document, kind_from_url, source_id_for


@dataclass
class OnceResult:
    items: list[ClassifiedItem]
    errors: list[str]


def resolve_source(arg: str, config: SourcesConfig) -> tuple[Source, bytes | None]:
    """A configured source id, a URL (configured or not) or a local file, as a Source (and the file's bytes)."""
    known = config.get(arg)
    if known is not None:
        return known, None
    if arg.startswith(("http://", "https://")):
        by_url = config.by_url(arg)
        if by_url is not None:
            return by_url, None
        return Source(id=source_id_for(arg), name=urlsplit(arg).hostname or arg, kind=kind_from_url(arg), url=arg), None
    path = Path(arg)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{arg}: not a configured source id, an http(s) URL or a readable file ({reason})") from None
    # No name of its own: its items carry the feed's own title, as they would from the publisher's URL.
    source = Source.model_construct(id=source_id_for(path.stem), name="", kind=kind_from_document(data),
                                    url=path.resolve().as_uri(), interval_minutes=0, weight=1.0, topics=(),
                                    enabled=True, min_points=0, ai_only=False)
    return source, data


async def ingest_once(settings: Settings, args: Sequence[str], index_timeout: float = 60.0) -> OnceResult:
    """Fetch each source now, publish what is new, and wait until the archive holds it."""
    async with open_services(settings) as services:
        config = load_sources_config(settings, services.taxonomy)
        errors: list[str] = []
        resolved: list[tuple[Source, bytes | None]] = []
        for arg in args:
            try:
                resolved.append(resolve_source(arg, config))
            except ValueError as exc:
                errors.append(str(exc))
        fetcher = make_fetcher(settings)
        describer = make_describer(settings)  # linked pages of fetched sources, never of local documents
        ingestor = make_ingestor(services, fetcher, config, describer)
        indexer = Indexer(services.bus, services.store).consumer()
        stop = asyncio.Event()
        task = asyncio.create_task(indexer.run(stop), name="indexer")
        try:
            now = datetime.now(UTC)
            # Fetched sources at once; documents in hand one after another, so that a link in two of them is
            # seen by the second as already archived and comes out once.
            fetches = {index: asyncio.create_task(ingestor.ingest(
                FetchJob(source_id=source.id, url=source.url, kind=source.kind, due_at=now), source))
                for index, (source, data) in enumerate(resolved) if data is None}
            outcomes = []
            for index, (source, data) in enumerate(resolved):
                outcomes.append(await fetches[index] if data is None
                                else await ingestor.ingest_document(source, data, source.kind))
            items = list({item.id: item for outcome in outcomes for item in outcome.new_items}.values())
            errors += [outcome.error for outcome in outcomes if outcome.error]
            if items:
                await wait_archived(services.store, [i.id for i in items], None, index_timeout, task)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            await fetcher.close()
            if describer is not None:
                await describer.close()
        return OnceResult(items, errors)
