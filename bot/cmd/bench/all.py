"""`ai-news bench all`: every bench in one run, and one table of figure, ours, the baseline, the ratio and the target.

Each bench is the one its own `ai-news bench WHAT` runs (the same function, the same figures); this module only
turns their results into rows. A bench that fails gives a row that says so, and the others still run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.cmd.bench.pipeline import Progress, bench_pipeline
from bot.settings import Settings

BENCHES = ("ingest", "classify", "compose", "slack", "discord", "alerts", "pipeline")


@dataclass(frozen=True)
class Sizes:
    """How much each bench does: the defaults of `ai-news bench WHAT`, or a few seconds each (`--quick`)."""

    ingest_rounds: int = 20
    classify_lines: int = 10_000
    compose_items: int = 10_000
    requests: int = 2000
    concurrency: int = 50
    alert_channels: int = 100
    alert_items: int = 20
    alert_burst: int = 10
    feeds: int = 100
    feed_items: int = 200
    workers: tuple[int, ...] = (1, 2)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(ingest_rounds=3, classify_lines=1000, compose_items=1000, requests=200, concurrency=20,
                   alert_channels=10, alert_items=3, alert_burst=3, feeds=4, feed_items=50, workers=(1,))


@dataclass(frozen=True)
class Row:
    bench: str
    figure: str
    ours: str
    baseline: str
    ratio: float | None  # ours / the baseline, in the figure's own sense (see `figure`)
    target: str
    met: bool | None  # None: no target, or the bench failed

    @property
    def verdict(self) -> str:
        return "-" if self.met is None else ("yes" if self.met else "NO")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _p(values: list[float], pct: float) -> float:
    from adapters.slack.bench import percentile

    return percentile(values, pct)


async def _ingest(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.cmd.bench.ingest import ingest_bench

    result = await ingest_bench(settings, "ingest", sizes.ingest_rounds, None)
    return [Row("ingest", "ingest: parse+normalize+dedupe, items/s vs bare feedparser.parse",
                f"{result.rate:,.0f} items/s", f"{result.baseline_rate:,.0f} entries/s", result.ratio,
                "over 0.8x", result.ratio > 0.8)]


async def _classify(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.offline import bench_classify

    result = await asyncio.to_thread(bench_classify, settings, sizes.classify_lines)
    return [Row("classify", f"classify: whole process on {sizes.classify_lines:,} lines, items/s vs bare predict",
                f"{result.rate:,.0f} items/s", f"{result.bare_rate:,.0f} items/s", result.rate / result.bare_rate,
                "over 5,000 items/s", result.rate > 5000)]


async def _compose(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.cmd.bench.compose import bench_compose

    result = await bench_compose(settings, sizes.compose_items)
    ratio = result.whole / result.load
    return [Row("compose", f"compose: whole `post --dry-run` on {sizes.compose_items:,} items vs loading them",
                f"{result.whole:.2f} s", f"{result.load:.2f} s loading", ratio, "under 2 s, under 3x loading",
                result.whole < 2 and ratio < 3)]


async def _slack(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.cmd.bench.chat import slack_bench

    result = await slack_bench(settings, sizes.requests, sizes.concurrency)
    median, bare_median = statistics.median(result.real.ack), statistics.median(result.bare.ack)
    p99, bare_p99 = _p(result.real.ack, 99), _p(result.bare.ack, 99)
    where = f"{sizes.requests:,} requests, {sizes.concurrency} at a time"
    return [
        Row("slack", f"slack: ack median, {where}, vs bare bolt", _ms(median), _ms(bare_median),
            median / bare_median, "within 2x", median / bare_median <= 2),
        Row("slack", "slack: ack p99 vs bare bolt", _ms(p99), _ms(bare_p99), p99 / bare_p99, "under 1.5x",
            p99 / bare_p99 < 1.5),
    ]


async def _discord(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.cmd.bench.chat import discord_bench

    result = await discord_bench(settings, sizes.requests, sizes.concurrency)
    median, bare_median = statistics.median(result.real.first), statistics.median(result.bare.first)
    p99, bare_p99 = _p(result.real.first, 99), _p(result.bare.first, 99)
    return [
        Row("discord", f"discord: first response median, {sizes.requests:,} interactions, vs bare discord.py",
            _ms(median), _ms(bare_median), median / bare_median, "-", None),
        Row("discord", "discord: first response p99 vs bare discord.py", _ms(p99), _ms(bare_p99), p99 / bare_p99,
            "-", None),
    ]


async def _alerts(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    from bot.cmd.bench.chat import alerts_bench

    result = await alerts_bench(settings, sizes.alert_channels, sizes.alert_items, sizes.alert_burst)
    ours, bare = _p(result.paced, 95), _p(result.kafka, 95)
    return [Row("alerts", f"alerts: publish -> posted p95, {sizes.alert_channels} channels, vs bare aiokafka",
                _ms(ours), _ms(bare), ours / bare, "-", None)]


async def _pipeline(settings: Settings, sizes: Sizes, progress: Progress) -> list[Row]:
    result = await bench_pipeline(settings, sizes.feeds, sizes.feed_items, sizes.workers, progress=progress)
    best = result.best
    rows = [Row("pipeline", f"pipeline: fetch job -> archived, {sizes.feeds * sizes.feed_items:,} items, "
                            f"{best.workers} ingest worker(s), vs bare aiokafka round trip",
                f"{best.rate:,.0f} items/s", f"{result.bare_rate:,.0f} msgs/s", result.ratio, "at least 0.5x",
                result.ratio >= 0.5)]
    if len(result.runs) > 1:
        first, last = result.runs[0], result.runs[-1]
        rows.append(Row("pipeline", f"pipeline: {last.workers} ingest workers vs {first.workers}",
                        f"{last.rate:,.0f} items/s", f"{first.rate:,.0f} items/s",
                        last.rate / first.rate if first.rate else None, "-", None))
    return rows


RUNNERS: dict[str, Callable[[Settings, Sizes, Progress], Awaitable[list[Row]]]] = {
    "ingest": _ingest, "classify": _classify, "compose": _compose, "slack": _slack, "discord": _discord,
    "alerts": _alerts, "pipeline": _pipeline,
}


async def bench_all(settings: Settings, sizes: Sizes, only: Sequence[str] = BENCHES,
                    progress: Callable[[str, int, int], None] | None = None) -> list[Row]:
    """Run the chosen benches one after the other (they share the machine: never at once)."""
    report = progress or (lambda text, done, total: None)
    rows: list[Row] = []
    for number, name in enumerate(only, 1):
        report(f"bench {number} of {len(only)}: {name}", 0, 0)

        def inner(text: str, done: int, total: int, number: int = number, name: str = name) -> None:
            report(f"bench {number} of {len(only)}: {text}", done, total)

        try:
            rows += await RUNNERS[name](settings, sizes, inner)
        except Exception as exc:
            rows.append(Row(name, f"{name}: failed", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                            if str(exc) else type(exc).__name__, "-", None, "-", None))
    return rows


def machine() -> str:
    """The machine the figures were measured on: cores and CPU model."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (what the README's performance part shows)."""
    lines = [f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}", "",
             "| figure | ours | baseline | ratio | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        lines.append(f"| {row.figure} | {row.ours} | {row.baseline} | {ratio} | {row.target} | {row.verdict} |")
    return "\n".join(lines)


def as_json(rows: Sequence[Row]) -> str:
    return json.dumps({"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                       "rows": [asdict(row) for row in rows]}, indent=2)
