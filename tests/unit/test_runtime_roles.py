"""The role registry: which roles `--role all` runs, and the settings each one checks before connecting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.runtime import ROLES, check_role_settings, check_roles, default_roles
from bot.settings import ROLE_NAMES, ConfigError, Settings
from tests.conftest import CONFIG

TOKEN = "MjIzNDU2Nzg5MDEyMzQ1Njc4.GstandIn.bot-token-for-the-stand-in"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, ainews_config_dir=CONFIG, **values)  # type: ignore[call-arg]


def test_all_runs_the_chat_roles_whose_tokens_are_set() -> None:
    assert default_roles(settings()) == ["scheduler", "ingest", "indexer", "alerter", "composer"]
    both = settings(discord_bot_token=SecretStr(TOKEN), slack_bot_token=SecretStr("xoxb-1"))
    assert default_roles(both) == ["scheduler", "ingest", "indexer", "alerter", "composer", "slack", "discord"]
    assert set(ROLES) == set(ROLE_NAMES)  # every role of the design is in this release


def test_each_role_checks_its_settings_before_connecting() -> None:
    with pytest.raises(ConfigError, match="the discord role needs DISCORD_BOT_TOKEN"):
        check_role_settings(settings(), ["discord"])
    with pytest.raises(ConfigError, match="needs DISCORD_APPLICATION_ID"):
        check_role_settings(settings(discord_bot_token=SecretStr(TOKEN)), ["indexer", "discord"])
    with pytest.raises(ConfigError, match="does not look like a bot token"):
        check_role_settings(settings(discord_bot_token=SecretStr("xoxb-slack"),
                                     discord_application_id="223456789012345678"), ["discord"])
    check_role_settings(settings(discord_bot_token=SecretStr(TOKEN), discord_application_id="223456789012345678"),
                        ["discord", "composer"])
    with pytest.raises(ConfigError, match="unknown role 'notifier'"):
        check_roles(["notifier"])


def test_the_alerter_checks_the_entity_gazetteer(tmp_path: Path) -> None:
    for name in ("topics.yaml", "sources.yaml"):
        (tmp_path / name).write_text((CONFIG / name).read_text())
    (tmp_path / "entities.yaml").write_text("organizations:\n  - {aliases: [x]}\n")
    with pytest.raises(ConfigError, match=r"entities.yaml: organizations\[0\].name: Field required"):
        check_role_settings(Settings(_env_file=None, ainews_config_dir=tmp_path), ["alerter"])  # type: ignore[call-arg]
    check_role_settings(settings(), ["alerter"])
