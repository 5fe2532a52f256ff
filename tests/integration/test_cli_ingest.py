"""`ai-news ingest --once`, `ai-news sources` and `ai-news run` with the ingest roles, as a user runs them."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from bot.settings import Settings
from bot.store import Store
from tests.conftest import CONFIG, FIXTURES
from tests.feedserver import feed_server, fixture
from tests.integration.conftest import run_until_sigterm
from tests.integration.test_cli import AI_NEWS, services_env


def _cli_env(tmp_path: Path, settings: Settings, config: Path = CONFIG) -> dict[str, str]:
    return services_env(tmp_path, settings, AINEWS_CONFIG_DIR=str(config), INGEST_TIMEOUT="2",
                        SCHEDULER_TICK_SECONDS="0.2")


async def _cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(AI_NEWS, *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ingest_once_prints_new_items_and_reports_failures(
    tmp_path: Path, settings: Settings, store: Store
) -> None:
    env = _cli_env(tmp_path, settings)
    async with feed_server() as server:
        server.documents["/meta.xml"] = fixture("real-ai/meta_ai_news.xml")
        code, out, err = await _cli(env, tmp_path, "ingest", "--once", str(FIXTURES / "real-ai/deepseek_news.xml"),
                                    server.url("/meta.xml"), server.url("/status/404"), server.url("/page.html"))
        assert code == 1
        lines = [json.loads(line) for line in out.splitlines()]
        assert len(lines) == 14 + 5
        assert {"id", "url", "title", "topics", "importance", "story_id", "published"} <= set(lines[0])
        assert "127-0-0-1-status-404: HTTP 404 Not Found" in err
        assert "127-0-0-1-page-html: " in err and "not a readable feed" in err
        assert "Traceback" not in err
        assert all(await store.has_items([line["id"] for line in lines]))  # archived before the command returned

        code, out, err = await _cli(env, tmp_path, "ingest", "--once", server.url("/meta.xml"))
        assert code == 0 and out == ""  # unchanged: a conditional GET, nothing new
        assert server.conditional_hits == 1

    code, out, err = await _cli(env, tmp_path, "ingest", "--once", str(tmp_path / "missing.xml"))
    assert code == 1 and "missing.xml: not a configured source id" in err


async def test_sources_lists_health_and_reenables(tmp_path: Path, settings: Settings, store: Store) -> None:
    env = _cli_env(tmp_path, settings)
    await store.update_source("openai-news", {"disabled": True, "failures": 9, "last_error": "openai-news: HTTP 503"})
    await store.update_source("arxiv-cs-ai", {"failures": 0, "polls": 3,
                                              "last_success": "2026-05-01T00:00:00+00:00"})
    code, out, err = await _cli(env, tmp_path, "sources")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert out.splitlines()[0].split()[:3] == ["SOURCE", "KIND", "STATUS"]
    assert len(rows) == 49
    assert rows["openai-news"].split()[2] == "disabled" and "HTTP 503" in rows["openai-news"]
    assert rows["arxiv-cs-ai"].split()[1:3] == ["arxiv", "ok"]
    assert "disabled" in err and "new" in err

    code, out, err = await _cli(env, tmp_path, "sources", "--enable", "openai-news")
    assert code == 0
    assert out.splitlines()[1:] and next(r for r in out.splitlines() if r.startswith("openai-news")).split()[2] == "new"
    code, _, err = await _cli(env, tmp_path, "sources", "--enable", "nope")
    assert code == 2 and "no source with id 'nope'" in err


async def test_run_scheduler_ingest_and_indexer_fill_the_archive(
    tmp_path: Path, settings: Settings, store: Store
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    for name in ("topics.yaml", "entities.yaml"):
        shutil.copy(CONFIG / name, config / name)
    async with feed_server() as server:
        server.documents["/anthropic.xml"] = fixture("real-ai/anthropic_news.xml")
        server.documents["/papers.xml"] = fixture("real-ai/huggingface_daily_papers.xml")
        (config / "sources.yaml").write_text(
            "sources:\n"
            f"  - {{id: anthropic, name: Anthropic, url: '{server.url('/anthropic.xml')}', topics: [models]}}\n"
            f"  - {{id: papers, name: Papers, url: '{server.url('/papers.xml')}', interval_minutes: 60}}\n"
            f"  - {{id: broken, name: Broken, url: '{server.url('/status/500')}'}}\n"
        )
        env = _cli_env(tmp_path, settings, config)

        async def filled() -> bool:
            return await store.count() >= 25 and (await store.source_state("broken")).failures >= 1

        code, err = await run_until_sigterm(["run", "--role", "scheduler", "--role", "ingest", "--role", "indexer"],
                                            env, tmp_path, filled, limit=90)
    assert code == 0, err
    assert await store.count() == 25  # 13 + 12, each once
    # One line a poll round, with the reasons (the source's own error is in `ai-news sources`).
    assert "sources polled: 2 ok, 1 failing: HTTP 500" in err and "`ai-news sources` for details" in err
    assert "source broken failed" not in err
    assert (await store.source_state("anthropic")).status == "ok"
    assert "Traceback" not in err


async def test_bench_ingest_reports_a_ratio_against_feedparser(tmp_path: Path, settings: Settings) -> None:
    code, out, err = await _cli(_cli_env(tmp_path, settings), tmp_path, "bench", "ingest", "--rounds", "2")
    assert code == 0, err
    assert "corpus: 7 documents" in out and "entries/s" in out and "items/s" in out
    assert "ratio: " in out and "x the speed of bare feedparser.parse" in out
    code, out, err = await _cli(_cli_env(tmp_path, settings), tmp_path, "bench", "ingest", "--corpus",
                                str(tmp_path / "none"))
    assert code == 2 and "cannot read the corpus" in err


async def test_ingest_once_of_several_files_prints_each_link_once_under_the_feeds_title(
    tmp_path: Path, settings: Settings, store: Store
) -> None:
    env = _cli_env(tmp_path, settings)
    # The same feed three days apart: the later copy repeats most of the earlier one's entries.
    earlier, later = FIXTURES / "real-ai/anthropic_news.earlier.xml", FIXTURES / "real-ai/anthropic_news.xml"
    copy = tmp_path / "anthropic-copy.xml"
    shutil.copy(later, copy)
    code, out, err = await _cli(env, tmp_path, "ingest", "--once", str(earlier), str(later), str(copy))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    urls = [line["url"] for line in lines]
    assert len(urls) == len(set(urls)) >= 13
    assert {line["source_name"] for line in lines} == {"Anthropic News"}  # the feed's own title, not the file's
    assert {"about_ai", "ai_score"} <= set(lines[0])
