"""The `/ai-news` definition for Discord, the translation of interactions into the grammar, and autocompletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from adapters.discord.interactions import (
    command_definition,
    definition_fingerprint,
    topic_choices,
    topic_list_choices,
    topics_as_subcommands,
    translate,
    zone_choices,
)
from bot.alerts import load_follows
from bot.commands import (
    Commands,
    Help,
    Invalid,
    ListTopics,
    Quiet,
    QuietOff,
    Search,
    Setup,
    ShowQuiet,
    ShowSetup,
    StopSetup,
    Subscribe,
    TopicQuery,
    Unsubscribe,
)
from bot.sources import SourcesConfig
from bot.store import Store
from bot.taxonomy import Taxonomy, load_taxonomy
from tests.conftest import CONFIG
from tests.discordapi import validate_command


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(CONFIG / "topics.yaml")


@pytest.fixture(scope="module")
def commands(taxonomy: Taxonomy) -> Commands:
    return Commands(cast(Store, None), taxonomy, SourcesConfig())  # parsing needs no store


def options(subcommand: str, **values: Any) -> dict[str, Any]:
    return {"name": "ai-news", "options": [{"type": 1, "name": subcommand, "options": [
        {"name": k.replace("_", "-"), "value": v} for k, v in values.items()]}]}


def test_definition_has_a_subcommand_per_topic_and_passes_discords_rules(taxonomy: Taxonomy) -> None:
    definition = command_definition(taxonomy)
    assert validate_command(definition) == []
    names = [o["name"] for o in definition["options"]]
    assert names[:len(taxonomy.slugs)] == list(taxonomy.slugs) and len(names) == 19
    subscribe = next(o for o in definition["options"] if o["name"] == "subscribe")
    assert subscribe["options"][0] == {"type": 3, "name": "topic", "required": True, "autocomplete": True,
                                       "description": "A topic, or an organization, model or law to follow",
                                       "max_length": 100}
    assert subscribe["options"][1]["min_value"] == 0 and subscribe["options"][1]["max_value"] == 1
    quiet = next(o for o in definition["options"] if o["name"] == "quiet")
    assert [o["name"] for o in quiet["options"]] == ["hours", "zone"] and quiet["options"][1]["autocomplete"]
    regulation = next(o for o in definition["options"] if o["name"] == "regulation")
    assert [o["name"] for o in regulation["options"]] == ["count", "public"]
    assert definition_fingerprint(definition) == definition_fingerprint(command_definition(taxonomy))


def _taxonomy_with(tmp_path: Path, *slugs: str) -> Taxonomy:
    data = yaml.safe_load((CONFIG / "topics.yaml").read_text())
    data["topics"] += [{**data["topics"][0], "slug": slug, "title": slug.title()} for slug in slugs]
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(data))
    return load_taxonomy(tmp_path / "topics.yaml")


@pytest.mark.parametrize("slugs", [tuple(f"extra-{n}" for n in range(7)), ("help",), ("a" * 33,)],
                         ids=["more-than-25", "a-verb", "too-long-a-name"])
def test_topics_fall_back_to_one_topic_subcommand(tmp_path: Path, slugs: tuple[str, ...]) -> None:
    taxonomy = _taxonomy_with(tmp_path, *slugs)
    assert not topics_as_subcommands(taxonomy)
    definition = command_definition(taxonomy)
    assert validate_command(definition) == []
    assert definition["options"][0]["name"] == "topic"
    assert definition["options"][0]["options"][0]["autocomplete"] is True
    assert len(definition["options"]) == 11


def test_fifteen_topics_still_fit(tmp_path: Path) -> None:
    assert topics_as_subcommands(_taxonomy_with(tmp_path, *(f"extra-{n}" for n in range(6)))) is True  # 15 + 10 verbs
    assert topics_as_subcommands(_taxonomy_with(tmp_path, *(f"extra-{n}" for n in range(7)))) is False


def test_translate_every_subcommand(commands: Commands) -> None:
    assert translate(options("regulation"), commands).command == TopicQuery("regulation")
    assert translate(options("regulation", count=3, public=True), commands).command == TopicQuery("regulation", 3,
                                                                                                    True)
    assert translate(options("topic", name="Robotics"), commands).command == TopicQuery("robotics")
    assert translate(options("search", words="  open   weights "), commands).command == Search("open weights")
    assert translate(options("topics", public=True), commands).command == ListTopics(True)
    assert translate(options("subscribe", topic="safety", min_importance=0.75), commands).command == Subscribe(
        "safety", 0.75)
    assert translate(options("subscribe", topic="safety", min_importance=1), commands).command == Subscribe(
        "safety", 1.0)
    setup = translate(options("setup", time="7:30", zone="europe/berlin", topics="regulation, safety"), commands)
    assert setup.command == Setup("07:30", "Europe/Berlin", ("regulation", "safety")) and setup.changes_channel
    assert translate(options("setup"), commands).command == ShowSetup()
    assert not translate(options("setup"), commands).changes_channel
    assert translate(options("setup", time="off"), commands).command == StopSetup()
    assert translate(options("help"), commands).command == Help()
    assert translate({"name": "ai-news"}, commands).command == Help()
    quiet = translate(options("quiet", hours="22:00-07:00", zone="europe/berlin"), commands)
    assert quiet.command == Quiet("22:00", "07:00", "Europe/Berlin") and quiet.changes_channel
    assert translate(options("quiet", hours="off"), commands).command == QuietOff()
    assert translate(options("quiet", hours="off"), commands).changes_channel
    assert translate(options("quiet"), commands).command == ShowQuiet()
    assert not translate(options("quiet"), commands).changes_channel


def test_subscribe_takes_a_followed_name_whole() -> None:
    commands = Commands(cast(Store, None), load_taxonomy(CONFIG / "topics.yaml"), SourcesConfig(),
                        follows=load_follows(CONFIG / "entities.yaml"))
    assert translate(options("subscribe", topic="SB 1", min_importance=0.5), commands).command == Subscribe(
        "SB 1", 0.5, "law")  # the number is the bill's, not an importance
    assert translate(options("subscribe", topic='Google "DeepMind"'), commands).command == Subscribe(
        "Google DeepMind", None, "organization")
    assert translate(options("unsubscribe", topic="EU AI Act"), commands).command == Unsubscribe("EU AI Act")


def test_bad_input_becomes_usage_help(commands: Commands) -> None:
    unknown = translate(options("topic", name="regulaton"), commands).command
    assert isinstance(unknown, Invalid) and unknown.suggestion == "regulation" and unknown.unknown_topic
    verb = translate(options("topic", name="subscribe"), commands).command
    assert isinstance(verb, Invalid) and "no topic “subscribe”" in verb.problem
    assert isinstance(translate(options("regulation", count=99), commands).command, Invalid)
    assert isinstance(translate(options("subscribe", topic="two words"), commands).command, Invalid)
    retired = translate(options("quantum"), commands).command
    assert isinstance(retired, Invalid) and "“quantum”" in retired.problem
    subscribe = translate(options("subscribe", topic="nonsense"), commands)
    assert isinstance(subscribe.command, Invalid) and not subscribe.changes_channel


def test_zone_choices() -> None:
    assert zone_choices("berl")[0] == "Europe/Berlin"
    assert zone_choices("Europe/Berlin") == ["Europe/Berlin"]
    assert zone_choices("new york")[0] == "America/New_York"
    assert zone_choices("")[0] == "UTC" and len(zone_choices("a")) == 25
    assert zone_choices("zzzz") == []


def test_topic_choices(taxonomy: Taxonomy) -> None:
    assert topic_choices("rob", taxonomy.slugs) == ["robotics"]
    assert topic_choices("s", taxonomy.slugs)[:1] == ["safety"]
    assert topic_list_choices("regulation, saf", taxonomy.slugs) == ["regulation, safety"]
    assert "regulation, models" in topic_list_choices("regulation,", taxonomy.slugs)
    assert "regulation, regulation" not in topic_list_choices("regulation, ", taxonomy.slugs)
