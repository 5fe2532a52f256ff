"""`ai-news bench slack` on a small load: both apps answer every signed request, the report has the figures."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from adapters.slack.bench import bench_slack, percentile
from bot.sources import SourcesConfig
from bot.taxonomy import Taxonomy


async def test_bench_reports_median_and_p99_against_bare_bolt(redis: Redis, taxonomy: Taxonomy) -> None:
    result = await bench_slack(redis, taxonomy, SourcesConfig(), requests=80, concurrency=8, rounds=2)
    assert len(result.bare.ack) == len(result.real.ack) == 80
    assert len(result.real.answer) == 80  # every command was answered at its response URL
    report = result.report()
    for figure in ("ack median", "ack p99"):  # ai-news, bare bolt, the ratio
        assert re.search(figure + r"\s+[\d.]+ ms\s+[\d.]+ ms\s+x[\d.]+\n", report), report
    assert re.search(r"acks per second\s+\d+\s+\d+\s+x[\d.]+\n", report)
    assert re.search(r"answer delivered median\s+[\d.]+ ms\s+-", report)
    assert re.search(r"answers per second\s+\d+\s+-", report)
    assert re.search(r"ack latency vs bare bolt: median x[\d.]+, p99 x[\d.]+ \(80 of 80 answers arrived\)", report)
    assert result.key_prefix.startswith("ainews-slack-bench-")
    assert [key async for key in redis.scan_iter(match=f"{result.key_prefix}*")] == []


def test_percentile() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
