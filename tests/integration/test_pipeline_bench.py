"""`ai-news bench pipeline` and `ai-news bench all` on tiny inputs: every item arrives, the figures are there, the
table has its shape, and nothing is left behind (keys, topics, role processes). No timing is asserted."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from bot.cmd.bench.pipeline import _children, bench_pipeline
from bot.settings import Settings
from tests.integration.test_cli import AI_NEWS, services_env


def _role_processes() -> list[str]:
    """Command lines of this process's children that are `ai-news run --role` processes."""
    found = []
    for pid in _children():
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "bot.cli run --role" in command:
                found.append(command)
    return found


async def test_bench_pipeline_archives_every_item_and_reports_each_stage(settings: Settings, redis: Redis) -> None:
    seen: list[str] = []
    result = await bench_pipeline(settings, feeds=2, per_feed=20, workers=(1, 2), partitions=2,
                                  progress=lambda text, done, total: seen.append(text))
    assert [run.workers for run in result.runs] == [1, 2]
    for run in result.runs:
        assert run.items == 40 and run.archived == 40
        assert run.seconds > 0 and run.rate > 0
        assert set(run.max_lag) == {"ingest", "index"}
        assert sum(run.held) == 2 and len(run.held) == run.workers  # the group shares the fetch topic's partitions
        assert {"ingest" if run.workers == 1 else "ingest-1", "indexer", "scheduler", "redis"} <= set(run.cpu)
    assert result.bare_messages == 40 and result.bare_seconds > 0 and result.message_bytes > 100
    report = result.report()
    assert "2 feeds x 20 new items = 40 items" in report
    assert "bare aiokafka round trip" in report and "ratio: " in report and "scale-out: 2 ingest workers" in report
    assert "ceiling on" in report
    assert any("archived" in text for text in seen)
    # nothing left: keys, topics, role processes
    assert [key async for key in redis.scan_iter(match=f"{result.prefix}*")] == []
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        assert [t for t in await admin.list_topics() if t.startswith(result.prefix)] == []
    finally:
        await admin.close()
    assert _role_processes() == []


async def test_bench_all_quick_json_has_one_row_per_figure(tmp_path: Path, settings: Settings) -> None:
    proc = await asyncio.create_subprocess_exec(
        AI_NEWS, "bench", "all", "--quick", "--json", "--only", "ingest,slack", cwd=tmp_path,
        env=services_env(tmp_path, settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    table = json.loads(out)
    assert "cores" in table["machine"] and table["measured_at"]
    rows = table["rows"]
    assert [row["bench"] for row in rows] == ["ingest", "slack", "slack"]
    for row in rows:
        assert set(row) == {"bench", "figure", "ours", "baseline", "ratio", "target", "met"}
        assert row["ratio"] > 0 and isinstance(row["met"], bool) and row["target"] != "-"
    assert "ai-news bench: bench 1 of 2: ingest" in err.decode()


async def test_bench_all_rejects_an_unknown_bench(tmp_path: Path, settings: Settings) -> None:
    proc = await asyncio.create_subprocess_exec(
        AI_NEWS, "bench", "all", "--only", "ingest,nope", cwd=tmp_path, env=services_env(tmp_path, settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2 and "unknown bench nope" in err.decode()
