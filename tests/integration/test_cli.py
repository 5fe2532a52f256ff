"""The `ai-news` command as a user runs it: the README's demo, topics, run, and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.bus import Bus
from bot.models import ClassifiedItem, Item
from bot.settings import Settings
from bot.store import Store
from tests.conftest import CONFIG, ROOT
from tests.integration.conftest import run_until_sigterm

AI_NEWS = str(Path(sys.executable).parent / "ai-news")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "REDIS_", "AINEWS_", "SLACK_", "DISCORD_"))}
    env.update({"AINEWS_CONFIG_DIR": str(CONFIG), "HOME": os.environ.get("HOME", str(tmp_path))})
    env.update(extra)
    return env


def services_env(tmp_path: Path, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of an `ai-news` process that uses this test's Kafka, Redis and prefixes."""
    return _env(
        tmp_path,
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers or "",
        KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        KAFKA_SESSION_TIMEOUT_MS="2000",
        PAGE_DESCRIPTIONS="false",
        REDIS_URL=settings.redis_url,
        REDIS_KEY_PREFIX=settings.redis_key_prefix,
        AINEWS_EMBEDDED="never",
        LOG_LEVEL="INFO",
        **extra,
    )


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AI_NEWS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_readme_demo_command_prints_a_briefing(tmp_path: Path, redis_url: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "ai-news demo" in readme
    # Kafka as the README runs it: the embedded broker, unless the suite is pointed at a real Kafka.
    extra = {"REDIS_URL": redis_url}
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        extra["KAFKA_BOOTSTRAP_SERVERS"] = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    result = _run(["demo"], _env(tmp_path, **extra), tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# ")
    assert "## Key developments" in out and "## Sources" in out
    assert out.count("\n## ") >= 5  # key developments, several topic sections, sources
    assert "](https://" in out
    # The sample feeds carry headlines without summaries: nothing grounded to add, so no filler either.
    assert "Most relevant to" not in out and "Reported by" not in out and "only source" not in out
    assert "Traceback" not in result.stderr
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        assert "embedded broker" in result.stderr
    assert "Indexing into Redis" in result.stderr


def test_topics_lists_every_topic_with_its_kafka_topic(tmp_path: Path) -> None:
    result = _run(["topics"], _env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 9
    assert lines[0].split()[:2] == ["models", "ainews.items.models"]


def test_bad_setting_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    result = _run(["topics"], _env(tmp_path, KAFKA_PARTITIONS="lots"), tmp_path)
    assert result.returncode == 2
    assert "KAFKA_PARTITIONS" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_file_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text("topics:\n  - {slug: ok, title: OK}\n")
    result = _run(["topics"], _env(tmp_path, AINEWS_CONFIG_DIR=str(tmp_path)), tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'topics.yaml'}: topics[0].description: Field required" in result.stderr


def test_run_refuses_unknown_and_unreleased_roles(tmp_path: Path) -> None:
    result = _run(["run", "--role", "nope"], _env(tmp_path), tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    (tmp_path / "entities.yaml").write_text("laws: [AI Act\n")
    result = _run(["run", "--role", "alerter"], _env(tmp_path, AINEWS_CONFIG_DIR=str(tmp_path)), tmp_path)
    assert result.returncode == 2 and "entities.yaml" in result.stderr and "not valid YAML" in result.stderr
    result = _run(["run", "--role", "slack"], _env(tmp_path, AINEWS_EMBEDDED="never", KAFKA_BOOTSTRAP_SERVERS="x:1"),
                  tmp_path)
    assert result.returncode == 2 and "SLACK_" in result.stderr and "Traceback" not in result.stderr


def test_run_without_kafka_when_embedding_is_forbidden(tmp_path: Path) -> None:
    result = _run(["run", "--role", "indexer"], _env(tmp_path, AINEWS_EMBEDDED="never"), tmp_path)
    assert result.returncode == 1
    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in result.stderr and "Traceback" not in result.stderr


async def test_run_indexer_archives_and_stops_cleanly_on_sigterm(
    tmp_path: Path, settings: Settings, bus: Bus, store: Store
) -> None:
    env = services_env(tmp_path, settings)
    item = ClassifiedItem.from_item(
        Item(url="https://example.com/sigterm", title="Signal", source="ex",
             published="2026-04-30T00:00:00Z"),  # type: ignore[arg-type]
        topics=["safety"],
    )

    async def publish() -> None:
        await bus.publish(bus.topics.items("safety"), item)

    async def archived() -> bool:
        return await store.get_item(item.id) is not None

    code, log = await run_until_sigterm(["run", "--role", "indexer"], env, tmp_path, archived, start=publish)
    assert code == 0, log
    assert "running roles: indexer" in log and "stopped" in log and "Traceback" not in log


async def test_run_all_roles_in_one_process_publishes_the_due_edition(
    tmp_path: Path, settings: Settings, bus: Bus, store: Store
) -> None:
    import shutil
    from datetime import UTC, datetime, timedelta

    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "sources.yaml").write_text(
        "sources:\n  - {id: local, name: Local, url: 'http://127.0.0.1:9/feed.xml', interval_minutes: 60}\n")
    (config / "channels.yaml").write_text("channels:\n  - {channel: 'slack:CALL', time: '00:00', timezone: UTC}\n")
    now = datetime.now(UTC)
    item = Item(url="https://example.com/all", title="Anthropic releases Claude Opus 5", source="ex",
                published=now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(hours=1))
    await store.archive(ClassifiedItem.from_item(item, topics=["models"], importance=0.8))
    env = services_env(tmp_path, settings, AINEWS_CONFIG_DIR=str(config), COMPOSER_TICK_SECONDS="0.2")

    async def published() -> bool:
        return await store.latest_briefing("slack:CALL") is not None

    code, log = await run_until_sigterm(["run", "--role", "all"], env, tmp_path, published)
    assert code == 0, log
    assert "running roles: scheduler, ingest, indexer, alerter, composer" in log and "Traceback" not in log
    briefing = await store.latest_briefing("slack:CALL")
    assert briefing is not None and briefing.date == now.date()
    assert briefing.key_developments[0].title == "Anthropic releases Claude Opus 5"


async def test_post_publishes_once_and_dry_run_prints(tmp_path: Path, settings: Settings, bus: Bus,
                                                      store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    for n in range(3):
        item = Item(url=f"https://news.example.com/post/{n}", title=f"EU regulators fine AI lab number {n}",
                    summary=f"The fine is the {n}th under the AI Act.", source="reuters", published=now
                    - timedelta(hours=n + 1))
        await store.archive(ClassifiedItem.from_item(item, topics=["regulation"], importance=0.6))
    env = services_env(tmp_path, settings)
    edition = now - timedelta(minutes=1)  # an edition that has just come due, whatever the time of day
    args = ["post", "--channel", "slack:CCLI", "--tz", "UTC", "--date", edition.date().isoformat(), "--at",
            edition.strftime("%H:%M")]
    preview = _run([*args, "--dry-run"], env, tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "## Regulation" in preview.stdout and "3 items in the window; not published" in preview.stderr
    first = _run(args, env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "published edition" in first.stderr and f"to {settings.kafka_topic_prefix}.briefings" in first.stderr
    again = _run(args, env, tmp_path)
    assert again.returncode == 0 and "was published before; nothing sent" in again.stderr
    assert (await store.latest_briefing("slack:CCLI")) is not None
    bad = _run(["post", "--channel", "teams:X", "--dry-run"], env, tmp_path)
    assert bad.returncode == 2 and "edition of teams:X" in bad.stderr and "Traceback" not in bad.stderr


def test_bench_compose_reports_whole_process_against_loading(tmp_path: Path, settings: Settings) -> None:
    env = _env(tmp_path, REDIS_URL=settings.redis_url)
    result = _run(["bench", "compose", "--lines", "300"], env, tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "300 items in one edition's window (300 loaded)" in result.stdout
    assert "ai-news post --dry-run, whole process" in result.stdout and "ratio:" in result.stdout
