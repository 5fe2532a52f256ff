"""`ai-news bench alerts` on a small load, through the composition root as the command runs it: every alert arrives,
the report has the figures, and the bench leaves no keys behind."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from bot.cmd.bench.chat import bench_alerts_report
from bot.settings import Settings


async def test_bench_times_every_alert_against_bare_aiokafka(settings: Settings, redis: Redis) -> None:
    report = await bench_alerts_report(settings.model_copy(update={"slack_post_interval": 0.0}), channels=4,
                                       items=2, burst=2)
    assert "4 channels subscribed" in report
    assert re.search(r"items one at a time\s+[\d.]+ ms\s+[\d.]+ ms\s+-", report)
    assert re.search(r"2 items at once\s+[\d.]+ ms\s+[\d.]+ ms\s+\d+ alerts", report)
    assert re.search(r"bare aiokafka produce -> consume\s+[\d.]+ ms\s+[\d.]+ ms\s+\d+ msgs", report)
    assert "16 alerts timed, 0 missing" in report
    assert [key async for key in redis.scan_iter(match="ainews-alerts-bench-*")] == []
