"""`/ai-news` on Discord: the application command's definition, its registration, and the glue that turns an
interaction into the platform-neutral grammar of `bot.commands` and renders the answer.

The command is one `/ai-news` with a subcommand per configured topic (`/ai-news regulation`, typed as in Slack)
and, beside them, `search`, `briefing`, `topics`, `sources`, `subscribe`, `unsubscribe`, `subscriptions`, `quiet`,
`setup` and `help`. Discord allows 25 subcommands: when the topics and the verbs do not fit (or a topic's name
cannot be a subcommand name), the topics share one `topic` subcommand whose `name` option autocompletes. Topic
and time-zone options autocomplete (`subscribe` also offers the organizations, models and laws one can follow);
`unsubscribe` offers the channel's subscriptions.

The definition is registered only when it changed: its fingerprint is kept in Redis (`Keys.chat_commands`), so a
restart registers nothing.

Answering within Discord's 3 s: usage help and `help` (no Redis work beyond the rate limit) are answered at once;
everything else is deferred first (ephemeral unless `public`), then the answer replaces the "thinking" message.
`setup`, `subscribe`, `unsubscribe` and `quiet` (setting or ending quiet hours) change the channel for everyone, so
they need the Manage Channels permission in the channel (the member's permissions that Discord sends with the
interaction; Discord's `default_member_permissions` would apply to the whole command). A failure is logged with the
command and the channel, and the user gets a short apology, never a stack trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.channels import PLATFORM, DiscordChannel, channel_name, user_name
from adapters.discord.delivery import BriefingDelivery
from adapters.discord.render import DiscordMessage, render_answer
from bot.commands import (
    COMMAND,
    COMMAND_WORDS,
    MAX_STORIES,
    USAGE,
    Answer,
    Command,
    CommandContext,
    Commands,
    Help,
    Invalid,
    Quiet,
    QuietOff,
    Setup,
    StopSetup,
    Subscribe,
    Unsubscribe,
    closest,
)
from bot.store import Store
from bot.taxonomy import Taxonomy
from bot.text import shorten

log = logging.getLogger(__name__)

NAME = COMMAND.lstrip("/")
SUBCOMMAND, STRING, INTEGER, BOOLEAN, NUMBER = 1, 3, 4, 5, 10
MAX_OPTIONS = 25
MAX_CHOICES = 25
DESCRIPTION_CHARS = 100
CHOICE_CHARS = 100
FALLBACK = "topic"
VERBS = ("search", "briefing", "topics", "sources", "subscribe", "unsubscribe", "subscriptions", "quiet", "setup",
         "help")
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
                "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo",
                "Australia/Sydney")


# --- the definition ----------------------------------------------------------------------------------------------

def _describe(text: str) -> str:
    text = text.strip()
    return shorten(text[:1].upper() + text[1:], DESCRIPTION_CHARS) if text else "-"


def _public() -> dict[str, Any]:
    return {"type": BOOLEAN, "name": "public", "description": "Post the answer in the channel for everyone "
                                                              "(default: only you see it)"}


def _count() -> dict[str, Any]:
    return {"type": INTEGER, "name": "count", "description": f"How many stories (1 to {MAX_STORIES}, default 5)",
            "min_value": 1, "max_value": MAX_STORIES}


def _sub(name: str, description: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"type": SUBCOMMAND, "name": name, "description": _describe(description), "options": list(options)}


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= 32 and name == name.lower() and all(c.isalnum() or c in "-_" for c in name)


def topics_as_subcommands(taxonomy: Taxonomy) -> bool:
    """Whether each topic can be a subcommand of its own (or they share the `topic` subcommand)."""
    slugs = taxonomy.slugs
    return (len(slugs) + len(VERBS) <= MAX_OPTIONS and all(_valid_name(s) for s in slugs)
            and not {*slugs} & {*VERBS, FALLBACK})


def command_definition(taxonomy: Taxonomy) -> dict[str, Any]:
    """The `/ai-news` application command, as Discord's API takes it."""
    topic_option = {"type": STRING, "name": "topic", "description": "A topic (from /ai-news topics)",
                    "required": True, "autocomplete": True}
    if topics_as_subcommands(taxonomy):
        topics = [_sub(t.slug, f"{t.title}: the latest stories", _count(), _public()) for t in taxonomy.topics]
    else:
        topics = [_sub(FALLBACK, USAGE["topic"][1], {**topic_option, "name": "name"}, _count(), _public())]
    verbs = [
        _sub("search", USAGE["search"][1],
             {"type": STRING, "name": "words", "description": "Every word must be in the story", "required": True,
              "max_length": 200}, _public()),
        _sub("briefing", USAGE["briefing"][1], _public()),
        _sub("topics", USAGE["topics"][1], _public()),
        _sub("sources", USAGE["sources"][1], _public()),
        _sub("subscribe", "Alerts about a topic, organization, model or law (needs Manage Channels)",
             {**topic_option, "description": "A topic, or an organization, model or law to follow", "max_length": 100},
             {"type": NUMBER, "name": "min-importance", "description": "From 0 to 1 (default: the usual threshold)",
              "min_value": 0, "max_value": 1}),
        _sub("unsubscribe", "Stop alerts about a topic, organization, model or law (needs Manage Channels)",
             {**topic_option, "description": "One of this channel's subscriptions", "max_length": 100}),
        _sub("subscriptions", USAGE["subscriptions"][1], _public()),
        _sub("quiet", "Quiet hours: no alerts then, one digest at the end (changing them needs Manage Channels)",
             {"type": STRING, "name": "hours", "description": "HH:MM-HH:MM, e.g. 22:00-07:00, or off; empty shows "
                                                               "them", "max_length": 20},
             {"type": STRING, "name": "zone", "description": "IANA time zone (default: the briefing's, else UTC)",
              "autocomplete": True, "max_length": 64}),
        _sub("setup", "This channel's daily briefing: without options shows it (changing it needs Manage Channels)",
             {"type": STRING, "name": "time", "description": "Local time as HH:MM (24-hour), or off to stop it",
              "max_length": 5},
             {"type": STRING, "name": "zone", "description": "IANA time zone, e.g. Europe/Berlin",
              "autocomplete": True, "max_length": 64},
             {"type": STRING, "name": "topics", "description": "Topics separated by commas (default: all)",
              "autocomplete": True, "max_length": 100}),
        _sub("help", USAGE["help"][1]),
    ]
    return {"name": NAME, "type": 1, "description": "AI news by topic, daily briefings and topic alerts",
            "options": [*topics, *verbs], "contexts": [0], "integration_types": [0], "nsfw": False}


def definition_fingerprint(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def sync_commands(http: HTTPClient, store: Store, application_id: str, definition: Mapping[str, Any]) -> bool:
    """Register `/ai-news` with Discord if its definition changed since the last registration; True if it did."""
    fingerprint = definition_fingerprint(definition)
    if await store.registered_commands(PLATFORM, application_id) == fingerprint:
        log.info("Discord: /%s unchanged since it was registered; not registered again", NAME)
        return False
    await http.upsert_global_command(application_id, dict(definition))  # type: ignore[arg-type]
    await store.record_registered_commands(PLATFORM, application_id, fingerprint)
    log.info("Discord: /%s registered (%d subcommands)", NAME, len(definition["options"]))
    return True


# --- from an interaction to the grammar -----------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What an interaction asks, in the grammar of `bot.commands`."""

    subcommand: str
    command: Command

    @property
    def public(self) -> bool:
        return bool(getattr(self.command, "public", False))

    @property
    def changes_channel(self) -> bool:
        return isinstance(self.command, Setup | StopSetup | Subscribe | Unsubscribe | Quiet | QuietOff)


def _options(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The subcommand and its option values; ValueError if the payload has no subcommand."""
    options = data.get("options") or []
    if not options or options[0].get("type") != SUBCOMMAND:
        raise ValueError("no subcommand")
    sub = options[0]
    return str(sub["name"]), {str(o["name"]): o.get("value") for o in sub.get("options") or []}


def _word(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _quoted(value: Any) -> str:
    """An option's value as one name of the grammar (quoted, so that a name ending in a number stays whole)."""
    word = _word(value).replace('"', "").replace("“", "").replace("”", "")
    return f'"{word}"' if word else ""


def translate(data: Mapping[str, Any], commands: Commands) -> Request:
    """The interaction's subcommand and options as a command of the grammar (bad input becomes `Invalid`)."""
    try:
        name, values = _options(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Request("", Help())
    tail = " public" if values.get("public") is True else ""
    if name == FALLBACK:
        topic = _word(values.get("name"))
        known = {t.lower(): t for t in commands.topics}
        if topic.lower() not in known:
            return Request(name, Invalid(f"There is no topic “{topic}”.", usage="topic",
                                         suggestion=closest(topic, commands.topics), unknown_topic=True))
        text = f"{known[topic.lower()]} {values.get('count') or ''}{tail}"
    elif name in commands.topics:
        text = f"{name} {values.get('count') or ''}{tail}"
    elif name == "search":
        text = f"search {_word(values.get('words'))}{tail}"
    elif name in ("briefing", "topics", "sources", "subscriptions"):
        text = f"{name}{tail}"
    elif name == "subscribe":
        importance = values.get("min-importance")
        text = f"subscribe {_quoted(values.get('topic'))}" + (f" {importance:g}" if isinstance(importance, int | float)
                                                              else "")
    elif name == "unsubscribe":
        text = f"unsubscribe {_quoted(values.get('topic'))}"
    elif name == "quiet":
        text = " ".join(part for part in ("quiet", _word(values.get("hours")), _word(values.get("zone"))) if part)
    elif name == "setup":
        topics = ",".join(_word(t) for t in str(values.get("topics") or "").split(",") if t.strip())
        text = " ".join(part for part in ("setup", _word(values.get("time")), _word(values.get("zone")), topics)
                        if part)
    elif name == "help":
        text = "help"
    else:  # a subcommand of an older definition (e.g. a topic since removed from topics.yaml)
        return Request(name, Invalid(f"I don't know “{name}” (any more).", suggestion=closest(name, [
            *commands.topics, *COMMAND_WORDS]), unknown_topic=True))
    return Request(name, commands.parse(text))


# --- autocomplete -------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


def _ranked(typed: str, names: Sequence[str]) -> list[str]:
    """Names matching what is typed: exact first, then by prefix (of the whole or of a part), then containing."""
    text = typed.strip().lower()
    if not text:
        return list(names)
    exact = [n for n in names if n.lower() == text]
    prefix = [n for n in names if n.lower().startswith(text) and n not in exact]
    part = [n for n in names if n not in exact and n not in prefix
            and any(p.startswith(text) for p in n.lower().replace("_", "/").split("/"))]
    inner = [n for n in names if text in n.lower() and n not in {*exact, *prefix, *part}]
    return [*exact, *prefix, *part, *inner]


def zone_choices(typed: str) -> list[str]:
    if not typed.strip():
        return list(COMMON_ZONES)
    return _ranked(typed.replace(" ", "_"), _zones())[:MAX_CHOICES]


def topic_choices(typed: str, topics: Sequence[str]) -> list[str]:
    return _ranked(typed, topics)[:MAX_CHOICES]


def topic_list_choices(typed: str, topics: Sequence[str]) -> list[str]:
    """For a comma-separated list: what is typed, with its last item completed."""
    done, _, last = typed.rpartition(",")
    chosen = [t.strip() for t in done.split(",") if t.strip()]
    head = ", ".join(chosen)
    left = [t for t in topics if t not in chosen]
    out = [f"{head}, {t}" if head else t for t in _ranked(last, left)]
    return [c for c in out if len(c) <= CHOICE_CHARS][:MAX_CHOICES]


# --- the handlers ---------------------------------------------------------------------------------------------------

class Interactions:
    """Answers `/ai-news` interactions and their autocompletion. One per process."""

    def __init__(self, commands: Commands, store: Store, delivery: BriefingDelivery) -> None:
        self.commands = commands
        self.store = store
        self.delivery = delivery

    async def handle(self, interaction: discord.Interaction) -> None:
        """Every interaction of the client comes here; only `/ai-news` ones are answered. Never raises."""
        data: Mapping[str, Any] = interaction.data or {}
        if data.get("name") != NAME:
            return
        try:
            if interaction.type is discord.InteractionType.application_command:
                await self.command(interaction, data)
            elif interaction.type is discord.InteractionType.autocomplete:
                await self.autocomplete(interaction, data)
        except Exception:
            log.exception("Discord interaction %s (%s) failed in channel %s (server %s)", interaction.id,
                          interaction.type.name, interaction.channel_id, interaction.guild_id)

    async def context(self, interaction: discord.Interaction) -> CommandContext:
        """Who asks, where: a thread (a briefing's, a forum post) counts as its channel."""
        channel = interaction.channel
        channel_id = interaction.channel_id or 0
        if isinstance(channel, discord.Thread) and channel.parent_id:
            channel_id = channel.parent_id
        name = channel_name(channel_id)
        if interaction.guild_id is not None:
            qualified = DiscordChannel(channel_id, interaction.guild_id).name
            if await self.store.edition(qualified) is not None:  # channels.yaml names it with its server
                name = qualified
        return CommandContext(channel=name, user=user_name(interaction.user.id))

    async def command(self, interaction: discord.Interaction, data: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        request = translate(data, self.commands)
        where = f"channel {interaction.channel_id} (server {interaction.guild_id}) user {interaction.user.id}"
        if interaction.guild_id is None:
            await self._send(interaction, render_answer(Answer(
                title="Only in a server", text=f"Use {COMMAND} in a channel of a server that has ai-news.",
                kind="usage")), public=False)
            return
        if request.changes_channel and not interaction.permissions.manage_channels:
            await self._send(interaction, render_answer(Answer(
                title="You need the Manage Channels permission",
                text=f"`{COMMAND} {request.subcommand}` changes this channel for everyone, so it needs the Manage "
                     "Channels permission in this channel.", kind="usage")), public=False)
            return
        instant = isinstance(request.command, Help | Invalid)
        deferred = False
        try:
            if not instant:
                await interaction.response.defer(ephemeral=not request.public, thinking=True)
                deferred = True
            ctx = await self.context(interaction)
            answer = await self.commands.allow(ctx) or await self.commands.run(ctx, request.command)
            thread = await self.delivery.thread_url(answer.edition_id) if answer.edition_id else None
            message = render_answer(answer, thread)
        except Exception:
            log.exception("%s %s failed in %s", COMMAND, request.subcommand or "(malformed)", where)
            answer = Answer(title="Something went wrong",
                            text="The answer could not be prepared. Please try again in a minute.", kind="error")
            message = render_answer(answer)
        if not deferred:
            await self._send(interaction, message, public=answer.public)
        elif request.public and not answer.public:  # a refusal is for the asker only
            await interaction.delete_original_response()
            await interaction.followup.send(**message.send_kwargs(), ephemeral=True)
        else:
            await interaction.edit_original_response(**message.send_kwargs())
        log.debug("%s %s answered in %.0f ms (%s)", COMMAND, request.subcommand, (time.perf_counter() - started)
                  * 1000, where)

    @staticmethod
    async def _send(interaction: discord.Interaction, message: DiscordMessage, *, public: bool) -> None:
        await interaction.response.send_message(**message.send_kwargs(), ephemeral=not public)

    async def autocomplete(self, interaction: discord.Interaction, data: Mapping[str, Any]) -> None:
        options = data.get("options") or []
        sub = options[0] if options else {}
        focused = next((o for o in sub.get("options") or [] if o.get("focused")), None)
        typed = str(focused.get("value") or "") if focused else ""
        field = (str(sub.get("name")), str(focused.get("name")) if focused else "")
        topics = self.commands.topics
        choices: list[str] = []
        if field == (FALLBACK, "name"):
            choices = topic_choices(typed, topics)
        elif field == ("subscribe", "topic"):
            follows = self.commands.follows.names() if self.commands.follows is not None else []
            choices = topic_choices(typed, [*topics, *follows]) if typed.strip() else list(topics)
        elif field == ("unsubscribe", "topic"):
            ctx = await self.context(interaction)
            choices = topic_choices(typed, [s.name for s in await self.store.channel_subscriptions(ctx.channel)])
        elif field in (("setup", "zone"), ("quiet", "zone")):
            choices = zone_choices(typed)
        elif field == ("setup", "topics"):
            choices = topic_list_choices(typed, topics)
        await interaction.response.autocomplete(
            [app_commands.Choice(name=c[:CHOICE_CHARS], value=c[:CHOICE_CHARS]) for c in choices[:MAX_CHOICES]])
