"""Every command as a newcomer runs it: a wrong input gets one line naming it and the fix (exit 2), never a
traceback; long-running roles say what they run and stop when asked; nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.cli import _parser
from bot.models import ClassifiedItem, Item
from bot.settings import Settings
from bot.store import Store
from tests.conftest import ROOT
from tests.integration.test_cli import AI_NEWS, _env, _run, services_env


def _refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-800:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr[-800:])


def test_no_arguments_lists_the_commands_and_roles_take_both_forms(tmp_path: Path) -> None:
    result = _run([], _env(tmp_path), tmp_path)
    assert result.returncode == 0 and "compose" in result.stdout and "bench" in result.stdout
    version = _run(["--version"], _env(tmp_path), tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("ai-news ")
    assert _parser().parse_args(["run", "--role", "scheduler", "ingest"]).role == ["scheduler", "ingest"]
    assert _parser().parse_args(["run", "--role", "scheduler", "--role", "ingest"]).role == ["scheduler", "ingest"]
    _refused(_run(["run", "--role", "scheduler", "weather"], _env(tmp_path), tmp_path), "invalid choice: 'weather'")
    critical = _run(["--log-level", "CRITICAL", "topics"], _env(tmp_path), tmp_path)
    assert critical.returncode == 0, critical.stderr


@pytest.mark.parametrize(("args", "phrase"), [
    (["eval", "--folds", "0"], "--folds: 0 is too small: 2 or more"),
    (["eval", "--folds", "1"], "--folds: 1 is too small: 2 or more"),
    (["eval", "--folds", "-3"], "--folds: -3 is too small"),
    (["eval", "--folds", "many"], "'many' is not a whole number"),
    (["demo", "--days", "0"], "--days: 0 is too small: 1 or more"),
    (["bench", "ingest", "--rounds", "0"], "--rounds: 0 is too small"),
    (["bench", "classify", "--lines", "0"], "--lines: 0 is too small: 100 or more"),
    (["post", "--channel", "slack:C1", "--format", "json"], "post --format applies to --dry-run"),
    (["compose", "--items", "x.jsonl", "--date", "yesterday"], "'yesterday' is not a date as YYYY-MM-DD"),
])
def test_bad_arguments_are_refused_not_bent(tmp_path: Path, args: list[str], phrase: str) -> None:
    _refused(_run(args, _env(tmp_path), tmp_path), phrase)


def test_bad_inputs_get_one_line_naming_them(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _refused(_run(["eval", "--folds", "1000"], env, tmp_path), "--folds 1000: at most")
    _refused(_run(["sources"], {**env, "REDIS_URL": "notaurl"}, tmp_path), "setting REDIS_URL", "not a Redis URL")
    _refused(_run(["bench", "ingest", "--corpus", str(ROOT / "README.md")], env, tmp_path),
             "README.md: not a feed to benchmark")
    pets = tmp_path / "pets.jsonl"
    pets.write_text(json.dumps({"title": "Cats love AI toys", "topics": ["pets"], "source": "event:test"}) + "\n")
    _refused(_run(["train", "--examples", str(pets), "--out", str(tmp_path / "m.npz")], env, tmp_path),
             "topic 'pets' is not in", "pets.jsonl: example 1")
    _refused(_run(["train", "--out", "/nonexistent-dir/m.npz"], env, tmp_path),
             "cannot write the model to /nonexistent-dir/m.npz")
    _refused(_run(["post", "--channel", "slack:C1"], env, tmp_path),
             "KAFKA_BOOTSTRAP_SERVERS", "--dry-run")
    _refused(_run(["compose", "--items", str(tmp_path / "missing.jsonl"), "--date", "2026-05-01"], env, tmp_path),
             "cannot read")
    garbage = _run(["compose", "--items", str(ROOT / "README.md"), "--date", "2026-05-01"], env, tmp_path)
    assert garbage.returncode == 1 and "Traceback" not in garbage.stderr
    assert garbage.stderr.count("(skipped)") == 20 and "more bad lines skipped" in garbage.stderr


async def test_post_dry_run_says_what_the_window_left_out(tmp_path: Path, settings: Settings, store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    item = Item(url="https://www.anthropic.com/news/x", title="Anthropic releases Claude Opus 5",
                summary="It leads coding benchmarks.", source="anthropic-news", published=now - timedelta(hours=1),
                backfill=True)
    await store.archive(ClassifiedItem.from_item(item, topics=["models"], about_ai=True))
    env = services_env(tmp_path, settings)
    args = ["post", "--channel", "slack:CFRONT", "--tz", "UTC", "--at", now.strftime("%H:%M"), "--dry-run"]
    result = _run(args, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 items in the window, left out: 1 backfill" in result.stderr and "--include-backfill" in result.stderr
    assert "Claude Opus 5" not in result.stdout
    kept = _run([*args, "--include-backfill"], env, tmp_path)
    assert kept.returncode == 0 and "Claude Opus 5" in kept.stdout


def _wait_for(path: Path, text: str, limit: float = 60) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        log = path.read_text(errors="replace") if path.exists() else ""
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen within {limit}s: {path.read_text(errors='replace')[-1500:]}")


def test_run_says_what_runs_and_stops_on_sigterm_while_slack_is_unreachable(tmp_path: Path, redis_url: str) -> None:
    log = tmp_path / "run.log"
    env = _env(tmp_path, REDIS_URL=redis_url, REDIS_KEY_PREFIX=f"front-{os.getpid()}:", LOG_LEVEL="INFO",
               SLACK_BOT_TOKEN="xoxb-1-2-test", SLACK_APP_TOKEN="xapp-1-A1-1-test",
               SLACK_API_BASE_URL="http://127.0.0.1:9/api/")  # nothing listens on port 9
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        env["KAFKA_BOOTSTRAP_SERVERS"] = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    with log.open("w") as out:
        proc = subprocess.Popen([AI_NEWS, "run", "--role", "indexer", "--role", "slack"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=out)
    try:
        text = _wait_for(log, "running roles:")
        assert "running: indexer, slack" in text
        assert "editions: 0 in effect: no channel gets a daily briefing" in text
        assert "alert subscriptions: 0 channel(s)" in text
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            assert "its data lives in memory" in text
        _wait_for(log, "connection to Slack failed")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - started < 8
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()


def test_a_killed_ai_news_leaves_no_embedded_broker_behind(tmp_path: Path, redis_url: str) -> None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        pytest.skip("the embedded broker is only started when no Kafka is configured")
    log = tmp_path / "run.log"
    env = _env(tmp_path, REDIS_URL=redis_url, REDIS_KEY_PREFIX=f"killed-{os.getpid()}:")
    with log.open("w") as out:
        proc = subprocess.Popen([AI_NEWS, "run", "--role", "indexer"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=out)
    try:
        text = _wait_for(log, "embedded kafka answering on")
        child = int(text.split("embedded kafka answering on", 1)[1].split("(pid ", 1)[1].split(")", 1)[0])
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the embedded broker outlived the killed ai-news")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_every_command_refuses_a_wrong_input_with_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    broken = tmp_path / "config"
    broken.mkdir()
    (broken / "topics.yaml").write_text("topics:\n  - {slug: Not A Slug}\n")
    _refused(_run(["topics"], {**env, "AINEWS_CONFIG_DIR": str(broken)}, tmp_path), "topics.yaml", "slug")
    _refused(_run(["classify", str(tmp_path / "missing.jsonl")], env, tmp_path), "cannot read")
    _refused(_run(["discord", "invite"], env, tmp_path), "DISCORD_APPLICATION_ID")
    _refused(_run(["compose", "--items", "-", "--date", "2026-05-01", "--topics", "robots"], env, tmp_path),
             "unknown topic 'robots' (did you mean robotics?)")
    _refused(_run(["compose", "--items", "-", "--date", "2026-05-01", "--tz", "Berlin"], env, tmp_path), "Berlin")
    # Refused before anything is trained: the shipped models are not rewritten (and never by this test: --out).
    shipped = (ROOT / "bot" / "data" / "topic-model.npz").stat().st_mtime_ns
    _refused(_run(["train", "--relevance-examples", str(tmp_path / "missing.jsonl"), "--out",
                   str(tmp_path / "topics.npz"), "--relevance-out", str(tmp_path / "relevance.npz")], env, tmp_path),
             "cannot read about-AI examples")
    assert not (tmp_path / "topics.npz").exists()
    assert (ROOT / "bot" / "data" / "topic-model.npz").stat().st_mtime_ns == shipped
    _refused(_run(["eval", "--briefing", str(ROOT / "README.md")], env, tmp_path), "not a folder of labeled days")


async def test_ingest_once_of_a_missing_file_and_sources_as_json(tmp_path: Path, settings: Settings) -> None:
    env = services_env(tmp_path, settings)
    missing = _run(["ingest", "--once", str(tmp_path / "nowhere.xml")], env, tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "not a configured source id, an http(s) URL or a readable file" in missing.stderr
    listed = _run(["sources", "--json"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and {"id", "status", "reason", "error", "next_poll"} <= set(rows[0])
