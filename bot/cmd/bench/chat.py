"""`ai-news bench slack|discord|alerts`: the chat roles under load against the bare libraries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.runtime import clear_keys, load_sources_config, make_alerter, open_redis, open_services
from bot.settings import Settings
from bot.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from adapters.discord.bench import DiscordBenchResult
    from adapters.slack.bench import AlertBenchResult, SlackBenchResult


async def bench_discord_report(settings: Settings, interactions: int, concurrency: int) -> str:
    return (await discord_bench(settings, interactions, concurrency)).report()


async def discord_bench(settings: Settings, interactions: int, concurrency: int) -> DiscordBenchResult:
    """`/ai-news` response latency of the Discord role under concurrent interactions, against a bare discord.py
    handler on the same local stand-in."""
    from adapters.discord.bench import bench_discord

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    sources = load_sources_config(settings, taxonomy)
    async with open_redis(settings) as (redis, _):
        result = await bench_discord(redis, taxonomy, sources, interactions=max(10, interactions),
                                     concurrency=max(1, concurrency))
    return result


async def bench_slack_report(settings: Settings, requests: int, concurrency: int) -> str:
    return (await slack_bench(settings, requests, concurrency)).report()


async def slack_bench(settings: Settings, requests: int, concurrency: int) -> SlackBenchResult:
    """Slash-command latency of the Slack app under concurrent signed requests, against a bare bolt app."""
    from adapters.slack.bench import bench_slack

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    sources = load_sources_config(settings, taxonomy)
    async with open_redis(settings) as (redis, _):
        result = await bench_slack(redis, taxonomy, sources, requests=max(10, requests),
                                   concurrency=max(1, concurrency))
    return result


async def bench_alerts_report(settings: Settings, channels: int, items: int, burst: int) -> str:
    return (await alerts_bench(settings, channels, items, burst)).report()


async def alerts_bench(settings: Settings, channels: int, items: int, burst: int) -> AlertBenchResult:
    """`ai-news bench alerts`: publish -> alert latency through the alerter and Slack roles, against bare aiokafka,
    under a topic and key prefix of its own, removed at the end."""
    import uuid

    from adapters.slack.bench import bench_alerts

    prefix = f"ainews-alerts-bench-{uuid.uuid4().hex[:8]}"
    bench_settings = settings.model_copy(update={
        "kafka_topic_prefix": prefix, "redis_key_prefix": f"{prefix}:", "alert_max_per_hour": items + burst + 10,
        "ops_channel": None})
    async with open_services(bench_settings) as services:
        try:
            result = await bench_alerts(services.bus, services.store, services.taxonomy, bench_settings,
                                        make_alerter(services).run, channels=channels, items=items, burst=burst)
        finally:
            await clear_keys(services)
            await services.bus.delete_topics()
    return result
