"""`ai-news bench discord` on a small load: both clients answer every interaction, the report has the figures."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from adapters.discord.bench import bench_discord
from bot.sources import SourcesConfig
from bot.taxonomy import Taxonomy


async def test_bench_reports_median_and_p99_against_bare_discord_py(redis: Redis, taxonomy: Taxonomy) -> None:
    result = await bench_discord(redis, taxonomy, SourcesConfig(), interactions=60, concurrency=6, rounds=2)
    assert len(result.bare.first) == len(result.real.first) == 60
    assert len(result.real.answer) == 60  # every interaction got its answer, not only the defer
    assert all(answer >= first for answer, first in zip(sorted(result.real.answer), sorted(result.real.first),
                                                        strict=True))
    report = result.report()
    assert re.search(r"bare discord.py handler \(responds\)\s+[\d.]+ ms\s+[\d.]+ ms\s+\d+", report)
    assert re.search(r"ai-news: first response \(defer\)\s+[\d.]+ ms\s+[\d.]+ ms", report)
    assert re.search(r"first response vs bare discord.py: median x[\d.]+, p99 x[\d.]+ \(60 of 60 answers arrived\)",
                     report)
    assert result.key_prefix.startswith("ainews-discord-bench-")
    assert [key async for key in redis.scan_iter(match=f"{result.key_prefix}*")] == []
