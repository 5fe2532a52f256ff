"""`ai-news run --role discord`, `ai-news discord invite` and `ai-news bench discord` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from tests.discordapi import APPLICATION_ID, BOT_TOKEN, DiscordAPI
from tests.integration.test_cli import _env, _run, services_env


def test_invite_prints_the_install_url(tmp_path: Path) -> None:
    result = _run(["discord", "invite"], _env(tmp_path, DISCORD_APPLICATION_ID=APPLICATION_ID), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"https://discord.com/oauth2/authorize?client_id={APPLICATION_ID}"
                                     "&scope=bot+applications.commands&permissions=309237730304")
    missing = _run(["discord", "invite"], _env(tmp_path), tmp_path)
    assert missing.returncode == 2 and "set DISCORD_APPLICATION_ID" in missing.stderr


def test_run_discord_checks_its_settings_before_connecting(tmp_path: Path) -> None:
    env = _env(tmp_path, AINEWS_EMBEDDED="never", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
    result = _run(["run", "--role", "discord"], env, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the discord role needs DISCORD_BOT_TOKEN" in result.stderr and "DISCORD_APPLICATION_ID" in result.stderr
    result = _run(["run", "--role", "discord"], {**env, "DISCORD_BOT_TOKEN": BOT_TOKEN}, tmp_path)
    assert result.returncode == 2 and "needs DISCORD_APPLICATION_ID" in result.stderr
    bad = _run(["run", "--role", "discord"], {**env, "DISCORD_BOT_TOKEN": BOT_TOKEN, "DISCORD_APPLICATION_ID": "x"},
               tmp_path)
    assert bad.returncode == 2 and "DISCORD_APPLICATION_ID: Value error, must be the application's numeric id" \
        in bad.stderr
    assert BOT_TOKEN not in result.stderr + bad.stderr


async def test_run_discord_with_a_token_discord_refuses_exits_2(tmp_path: Path, settings: Settings,
                                                                 discord_api: DiscordAPI) -> None:
    import asyncio
    import sys

    env = services_env(tmp_path, settings, DISCORD_BOT_TOKEN="MTIz.not.this-one",
                       DISCORD_APPLICATION_ID=APPLICATION_ID, DISCORD_API_BASE_URL=discord_api.api_url,
                       DISCORD_GATEWAY_URL=discord_api.gateway_url)
    proc = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "ai-news"), "run", "--role",
                                                "discord", env=env, cwd=str(tmp_path),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, stderr.decode()
    assert "DISCORD_BOT_TOKEN was refused by Discord (401 Unauthorized)" in stderr.decode()
    assert "Traceback" not in stderr.decode() and "not.this-one" not in stderr.decode()
    assert [c.route for c in discord_api.calls] == ["me"]
