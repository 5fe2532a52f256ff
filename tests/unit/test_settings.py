from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from bot.taxonomy import load_taxonomy
from tests.conftest import CONFIG


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_PARTITIONS", "REDIS_URL", "SLACK_BOT_TOKEN", "LOG_LEVEL",
                 "SLACK_API_BASE_URL", "AINEWS_EMBEDDED", "OPS_CHANNEL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.kafka_bootstrap_servers is None
    assert settings.kafka_topic_prefix == "ainews"
    assert settings.redis_key_prefix == "ainews:"
    assert not settings.slack_configured and not settings.discord_configured


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KAFKA_PARTITIONS=6\nSLACK_BOT_TOKEN=xoxb-secret\n")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.kafka_partitions == 6
    assert settings.log_level == "DEBUG"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(settings)


def test_blank_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers is None
    assert settings.slack_bot_token is None and not settings.slack_configured


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PARTITIONS", "many")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "KAFKA_PARTITIONS" in message and "integer" in message and "'many'" in message


def test_several_bad_values_are_all_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PARTITIONS", "0")
    monkeypatch.setenv("SLACK_API_BASE_URL", "slack.example.com")
    monkeypatch.setenv("OPS_CHANNEL", "irc:#ops")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    for name in ("KAFKA_PARTITIONS", "SLACK_API_BASE_URL", "OPS_CHANNEL"):
        assert name in message
    assert "http://" in message


def test_secret_values_are_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(slack_bot_token=12345, kafka_partitions="x")
    assert "KAFKA_PARTITIONS" in str(caught.value)
    assert "12345" not in str(caught.value)


def test_shipped_topics_config_loads() -> None:
    taxonomy = load_taxonomy(CONFIG / "topics.yaml")
    assert taxonomy.slugs == ("models", "research", "robotics", "products", "business", "infrastructure",
                              "regulation", "safety", "tools")
    assert all(t.description and t.keywords for t in taxonomy.topics)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"topics\.yaml: file not found .*AINEWS_CONFIG_DIR"):
        load_taxonomy(tmp_path / "topics.yaml")


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - slug: models\n    title: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)
    assert str(path) in str(caught.value) and "line " in str(caught.value)


def test_bad_field_names_file_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n"
        "  - {slug: models, title: Models, description: Model releases}\n"
        "  - {slug: Bad Slug, title: Bad, description: x}\n"
        "  - {slug: tools, description: no title}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)
    message = str(caught.value)
    assert f"{path}: topics[1].slug: String should match pattern" in message
    assert f"{path}: topics[2].title: Field required" in message


def test_duplicate_topics_and_unknown_fallback(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text("topics:\n  - {slug: a, title: A, description: x}\n  - {slug: a, title: B, description: y}\n")
    with pytest.raises(ConfigError, match="appears twice"):
        load_taxonomy(path)
    path.write_text("fallback_topic: nope\ntopics:\n  - {slug: a, title: A, description: x}\n")
    with pytest.raises(ConfigError, match="fallback_topic 'nope'"):
        load_taxonomy(path)


def test_shipped_sources_config_loads() -> None:
    from bot.sources import load_sources

    config = load_sources(CONFIG / "sources.yaml", load_taxonomy(CONFIG / "topics.yaml").slugs)
    assert len(config.sources) >= 25
    kinds = {s.kind for s in config.sources}
    assert kinds == {"feed", "arxiv", "hackernews", "github"}
    assert {"arxiv-cs-ai", "arxiv-cs-cl", "arxiv-cs-lg", "arxiv-cs-ro"} <= {s.id for s in config.sources}


def test_bad_sources_name_file_entry_and_field(tmp_path: Path) -> None:
    from bot.sources import load_sources

    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - {id: ok, name: OK, url: 'https://example.com/feed.xml'}\n"
        "  - {id: bad, name: Bad, url: 'ftp://example.com/feed.xml', kind: gopher, weight: 9}\n"
        "  - {id: ok2, name: OK2, url: 'https://example.com/2.xml', topics: [models, cooking]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_sources(path, ("models",))
    message = str(caught.value)
    assert f"{path}: sources[1].url: Value error, must be an http:// or https:// URL" in message
    assert f"{path}: sources[1].kind: Input should be" in message
    assert f"{path}: sources[1].weight: Input should be less than or equal to 3" in message
    path.write_text("sources:\n  - {id: ok2, name: OK2, url: 'https://example.com/2.xml', topics: [models, cooking]}\n")
    with pytest.raises(ConfigError, match=r"sources\[0\]\.topics: unknown topic 'cooking'"):
        load_sources(path, ("models",))
    path.write_text("sources:\n  - {id: a, name: A, url: 'https://a.example'}\n  - {id: a, name: B, url: 'https://b.example'}\n")
    with pytest.raises(ConfigError, match="source id 'a' appears twice"):
        load_sources(path)
