"""Shared fixtures. Integration tests run against the Kafka named by KAFKA_BOOTSTRAP_SERVERS, or the embedded
broker; against the Redis at REDIS_URL (default 127.0.0.1:6379) if it answers, or an embedded one. Every test
gets its own topic and key prefix, and removes what it created."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from bot.bus import Bus
from bot.classify import TopicClassifier, bundled_model
from bot.embedded import EmbeddedKafka, EmbeddedRedis, redis_reachable
from bot.enrich import Enricher
from bot.entities import EntityExtractor, load_gazetteer
from bot.settings import Settings
from bot.store import Keys, Store
from bot.taxonomy import Taxonomy, load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
FIXTURES = ROOT / "tests" / "fixtures" / "feeds"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        yield configured
        return
    with EmbeddedKafka() as kafka:
        yield kafka.bootstrap_servers


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"
    if redis_reachable(url) is None:
        yield url
        return
    with EmbeddedRedis() as embedded:
        yield embedded.url


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy(CONFIG / "topics.yaml")


@pytest.fixture
def settings(kafka_bootstrap: str, redis_url: str, prefix: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        kafka_bootstrap_servers=kafka_bootstrap,
        redis_url=redis_url,
        kafka_topic_prefix=prefix,
        redis_key_prefix=f"{prefix}:",
        kafka_partitions=2,
        consumer_retry_backoff=0.05,
        kafka_session_timeout_ms=2000,
        page_descriptions=False,  # the fixture feeds link to real sites: tests read only pages they serve
        ainews_config_dir=CONFIG,
        ainews_embedded="never",
    )


@pytest_asyncio.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{settings.redis_key_prefix}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest_asyncio.fixture
async def store(redis: Redis, settings: Settings) -> Store:
    return Store(redis, Keys(settings.redis_key_prefix))


@pytest_asyncio.fixture
async def bus(settings: Settings, taxonomy: Taxonomy) -> AsyncIterator[Bus]:
    assert settings.kafka_bootstrap_servers
    bus = Bus.from_settings(settings, settings.kafka_bootstrap_servers, taxonomy.slugs)
    await bus.start()
    await bus.ensure_topics()
    yield bus
    await bus.stop()
    await _delete_topics(settings.kafka_bootstrap_servers, list(bus.topics.all()))


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.delete_topics(names)
    except Exception:  # best effort: a broker without topic deletion keeps them, under a unique prefix
        pass
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def enricher(taxonomy: Taxonomy) -> Enricher:
    """The production enricher: the shipped model with the taxonomy's keywords, the shipped gazetteer."""
    return Enricher(TopicClassifier(taxonomy, bundled_model()),
                    EntityExtractor(load_gazetteer(CONFIG / "entities.yaml")))
