"""The `/ai-news` slash command: its grammar and its answers, the same on every chat platform.

`parse` turns the text after `/ai-news` into a `Command` (pure: no I/O, no clock). `Commands.answer` reads or
writes the Redis store and returns an `Answer`: a small platform-neutral structure (a title, a paragraph, a list
of lines, a note) that each adapter renders (Slack blocks, Discord embeds). Every text in an answer is plain
text, possibly from feeds: renderers escape it for their platform. A malformed command gets usage help and an
unknown topic the list of topics and the closest match; nothing here raises on bad input.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import available_timezones

from bot.alerts import (
    Follows,
    QuietHours,
    Subscription,
    SubscriptionKind,
    closest_name,
    load_follows,
    parse_quiet,
)
from bot.editions import Edition, parse_hhmm, zone
from bot.models import ClassifiedItem, edition_id
from bot.settings import Settings
from bot.sources import SourcesConfig
from bot.store import SourceState, Store
from bot.taxonomy import Taxonomy
from bot.text import fold_space, sentences, shorten

log = logging.getLogger(__name__)

COMMAND = "/ai-news"
DEFAULT_STORIES = 5
MAX_STORIES = 20
STORY_WINDOW = timedelta(days=7)
SEARCH_RESULTS = 10
DEFAULT_MIN_IMPORTANCE = 0.6  # ALERT_MIN_IMPORTANCE's default
LINE_LENGTH = 200
PUBLIC = "public"

# --- the grammar ---------------------------------------------------------------------------------------------

USAGE: dict[str, tuple[str, str]] = {
    "topic": ("<topic> [count] [public]", f"the latest stories of a topic (default {DEFAULT_STORIES}, last 7 days)"),
    "search": ("search <words> [public]", "search the archive"),
    "briefing": ("briefing [public]", "this channel's latest daily briefing"),
    "topics": ("topics", "the topics you can ask about"),
    "sources": ("sources", "the sources and their health"),
    "subscribe": ("subscribe <topic or \"name\"> [min-importance]",
                  "alert this channel about important stories of a topic, or about an organization, model or law "
                  "(\"Anthropic\", \"GPT-5\", \"SB 53\"); optionally the least importance, 0 to 1"),
    "unsubscribe": ("unsubscribe <topic or \"name\">", "stop those alerts"),
    "subscriptions": ("subscriptions", "what this channel gets alerts for, and its quiet hours"),
    "quiet": ("quiet <HH:MM-HH:MM> [time zone]",
              "no alerts in this channel then (its time zone); they come as one digest at the end; "
              "`quiet off` ends it"),
    "setup": ("setup <HH:MM> <time zone> [topics]",
              "this channel's daily briefing: local time, IANA time zone, topics (default all); "
              "`setup` shows it, `setup off` stops it"),
    "help": ("help", "this help"),
}
COMMAND_WORDS = tuple(name for name in USAGE if name != "topic")


@dataclass(frozen=True)
class TopicQuery:
    topic: str
    count: int = DEFAULT_STORIES
    public: bool = False


@dataclass(frozen=True)
class Search:
    words: str
    public: bool = False


@dataclass(frozen=True)
class LatestBriefing:
    public: bool = False


@dataclass(frozen=True)
class ListTopics:
    public: bool = False


@dataclass(frozen=True)
class ListSources:
    public: bool = False


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Subscribe:
    """A topic (`kind` "topic", by slug) or an organization, model or law of the gazetteer (by its name).
    `min_importance` None: the deployment's default (ALERT_MIN_IMPORTANCE)."""

    name: str
    min_importance: float | None = None
    kind: SubscriptionKind = "topic"


@dataclass(frozen=True)
class Unsubscribe:
    name: str


@dataclass(frozen=True)
class Quiet:
    """Quiet hours; `timezone` None: the channel's briefing zone, else UTC."""

    start: str
    end: str
    timezone: str | None = None


@dataclass(frozen=True)
class ShowQuiet:
    pass


@dataclass(frozen=True)
class QuietOff:
    pass


@dataclass(frozen=True)
class ListSubscriptions:
    public: bool = False


@dataclass(frozen=True)
class Setup:
    time: str
    timezone: str
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowSetup:
    pass


@dataclass(frozen=True)
class StopSetup:
    pass


@dataclass(frozen=True)
class Invalid:
    """What was wrong, which command's usage to show, and the closest known word if the user mistyped one."""

    problem: str
    usage: str | None = None
    suggestion: str | None = None
    unknown_topic: bool = False


Command = (TopicQuery | Search | LatestBriefing | ListTopics | ListSources | Help | Subscribe | Unsubscribe
           | ListSubscriptions | Setup | ShowSetup | StopSetup | Quiet | ShowQuiet | QuietOff | Invalid)

_COUNT = re.compile(r"^\d{1,3}$")
# A word, or a name in straight or curly double quotes (Slack and phones type “these”).
_TOKEN = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')


@dataclass(frozen=True)
class Token:
    text: str
    quoted: bool = False


def tokens(text: str) -> list[Token]:
    """Words and quoted names; an unclosed quote is read as a plain word."""
    found = []
    for match in _TOKEN.finditer(text):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        if quoted is not None:
            if quoted.strip():
                found.append(Token(" ".join(quoted.split()), True))
        else:
            found.append(Token(match.group(3).strip("\"“”")))
    return [t for t in found if t.text]


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The known word nearest to a mistyped one ("regulaton" -> "regulation"), or None if none is close."""
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def parse(text: str, topics: Sequence[str], follows: Follows | None = None) -> Command:
    """The command in the text after `/ai-news`. Never raises: bad input becomes `Invalid`. Without `follows`
    (the entity gazetteer), subscriptions are to topics only."""
    words = text.split()
    if not words:
        return Help()
    head, args = words[0].lower(), words[1:]
    public = bool(args) and args[-1].lower() == PUBLIC
    rest = args[:-1] if public else args
    known = {t.lower(): t for t in topics}

    if head == "help":
        return Help()
    if head in ("topics", "sources", "briefing", "subscriptions"):
        if rest:
            return Invalid(f"`{head}` takes no arguments.", usage=head)
        if head == "topics":
            return ListTopics(public)
        if head == "sources":
            return ListSources(public)
        if head == "briefing":
            return LatestBriefing(public)
        return ListSubscriptions(public)
    if head == "search":
        if not rest:
            return Invalid("Tell me what to search for.", usage="search")
        return Search(" ".join(rest), public)
    rest_text = text.strip().split(None, 1)[1] if len(words) > 1 else ""
    if head == "subscribe":
        return _parse_subscribe(tokens(rest_text), known, topics, follows)
    if head == "unsubscribe":
        names = tokens(rest_text)
        if not names:
            return Invalid("Name the topic, organization, model or law to unsubscribe from.", usage="unsubscribe")
        name = " ".join(t.text for t in names)
        return Unsubscribe(known.get(name.lower(), name))
    if head == "quiet":
        return _parse_quiet(args)
    if head == "setup":
        return _parse_setup(args, known, topics)
    if head in known:
        return _parse_topic_query(known[head], rest, public)
    suggestion = closest(head, [*topics, *COMMAND_WORDS])
    return Invalid(f"I don't know the topic or command “{words[0]}”.", suggestion=suggestion,
                   unknown_topic=True)


def _parse_topic_query(topic: str, rest: Sequence[str], public: bool) -> Command:
    count = DEFAULT_STORIES
    for word in rest:
        if _COUNT.match(word) and 1 <= int(word) <= MAX_STORIES:
            count = int(word)
        else:
            return Invalid(f"After a topic I expect a number of stories (1 to {MAX_STORIES}) or `public`, "
                           f"not “{word}”.", usage="topic")
    return TopicQuery(topic, count, public)


def _unknown_topic(word: str, topics: Sequence[str], usage: str) -> Invalid:
    return Invalid(f"There is no topic “{word}”.", usage=usage, suggestion=closest(word, topics),
                   unknown_topic=True)


def _parse_subscribe(args: Sequence[Token], known: dict[str, str], topics: Sequence[str],
                     follows: Follows | None) -> Command:
    """`<topic> [importance]`, or `<name> [importance]` for an organization, model or law (quoted when it could be
    read otherwise: `"SB 53"`, `"EU AI Act"`)."""
    if not args:
        return Invalid("Name a topic (or, in quotes, an organization, model or law), and optionally the minimum "
                       "importance (0 to 1).", usage="subscribe")
    threshold = None
    if len(args) >= 2 and not args[-1].quoted:
        threshold = parse_importance(args[-1].text)
        if threshold is not None:
            args = args[:-1]
        elif not args[0].quoted and args[0].text.lower() in known:
            return Invalid(f"“{args[-1].text}” is not an importance between 0 and 1 (e.g. 0.7, or 70%).",
                           usage="subscribe")
    name = " ".join(t.text for t in args)
    quoted = any(t.quoted for t in args)
    if len(args) == 1 and name.lower() in known:
        return Subscribe(known[name.lower()], threshold)
    if not quoted and args[0].text.lower() in known:
        return Invalid("After a topic I expect only the minimum importance (0 to 1).", usage="subscribe")
    followed = follows.resolve(name) if follows is not None else None
    if followed is not None:
        return Subscribe(followed.name, threshold, followed.kind)
    if follows is None:
        return _unknown_topic(name, topics, "subscribe")
    choices = [*topics, *([entity] if (entity := follows.suggest(name)) else [])]
    return Invalid(f"I know no topic, organization, model or law called “{name}”.", usage="subscribe",
                   suggestion=closest_name(name, choices), unknown_topic=True)


def _parse_quiet(args: Sequence[str]) -> Command:
    if not args:
        return ShowQuiet()
    if len(args) == 1 and args[0].lower() in ("off", "stop", "none"):
        return QuietOff()
    tz: str | None = None
    span = list(args)
    if len(span) >= 2 and ":" not in span[-1]:
        tz = resolve_zone(span[-1])
        if tz is None:
            return Invalid(f"“{span[-1]}” is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, "
                           "UTC).", usage="quiet", suggestion=closest_zone(span[-1]))
        span = span[:-1]
    try:
        start, end = parse_quiet(" ".join(span))
    except ValueError as exc:
        return Invalid(f"{exc}.", usage="quiet")
    return Quiet(start, end, tz)


def parse_importance(text: str) -> float | None:
    """'0.7' or '70%' -> 0.7; None unless it is a number within 0..1 (0..100%)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        return None
    if percent:
        value /= 100
    if not 0.0 <= value <= 1.0 or value != value:  # NaN fails every comparison but the last
        return None
    return round(value, 4)


def _parse_setup(args: Sequence[str], known: dict[str, str], topics: Sequence[str]) -> Command:
    if not args:
        return ShowSetup()
    if len(args) == 1 and args[0].lower() in ("off", "stop", "none"):
        return StopSetup()
    if len(args) < 2:
        return Invalid("Give the local time and the time zone, e.g. `setup 08:00 Europe/Berlin`.", usage="setup")
    try:
        at = parse_hhmm(args[0]).strftime("%H:%M")
    except ValueError as exc:
        return Invalid(f"{exc}.", usage="setup")
    tz = resolve_zone(args[1])
    if tz is None:
        return Invalid(f"“{args[1]}” is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC).",
                       usage="setup", suggestion=closest_zone(args[1]))
    chosen: list[str] = []
    for word in (w for arg in args[2:] for w in arg.split(",") if w):
        if word.lower() == "all":
            continue
        topic = known.get(word.lower())
        if topic is None:
            return _unknown_topic(word, topics, "setup")
        if topic not in chosen:
            chosen.append(topic)
    return Setup(at, tz, tuple(chosen))


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def resolve_zone(text: str) -> str | None:
    """The IANA name of a time zone, matched without regard to case ('europe/berlin' -> 'Europe/Berlin')."""
    name = _zones().get(text.strip().lower())
    if name is None:
        try:
            zone(text)
        except ValueError:
            return None
        return text.strip()
    return name


def closest_zone(text: str) -> str | None:
    found = difflib.get_close_matches(text.strip().lower(), list(_zones()), n=1, cutoff=0.75)
    return _zones()[found[0]] if found else None


# --- answers -------------------------------------------------------------------------------------------------

AnswerKind = Literal["ok", "usage", "error", "limited"]


@dataclass(frozen=True)
class Line:
    """One entry of an answer (a story, a topic, a source, a subscription, a command). Plain text throughout."""

    title: str
    url: str | None = None
    details: tuple[str, ...] = ()
    text: str = ""
    code: bool = False


@dataclass(frozen=True)
class Answer:
    """What `/ai-news` says back. `public` answers are posted in the channel, the others only to the user."""

    title: str
    text: str = ""
    lines: tuple[Line, ...] = ()
    note: str = ""
    public: bool = False
    kind: AnswerKind = "ok"
    # For `briefing`: the edition whose thread the adapter links to, and the channel it was posted in.
    edition_id: str | None = None
    edition_channel: str | None = None


@dataclass(frozen=True)
class CommandContext:
    """Who asks, where: `channel` and `user` are platform-qualified ("slack:C0456", "slack:T0123:U0789")."""

    channel: str
    user: str
    platform: str = field(default="")

    def __post_init__(self) -> None:
        if not self.platform:
            object.__setattr__(self, "platform", self.channel.split(":", 1)[0])


def age(when: datetime, now: datetime) -> str:
    """'just now', '5m ago', '3h ago', '2d ago'."""
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600:.0f}h ago"
    return f"{seconds // 86400:.0f}d ago"


def one_line(item: ClassifiedItem) -> str:
    """The first sentence of an item's summary, on one line and short."""
    first = next(iter(sentences(item.summary)), "")
    return shorten(fold_space(first), LINE_LENGTH)


def story_line(item: ClassifiedItem, now: datetime) -> Line:
    return Line(title=item.title, url=item.url, details=(item.source_name or item.source, age(item.published, now)),
                text=one_line(item))


def help_answer(note: str = "") -> Answer:
    lines = tuple(Line(title=f"{COMMAND} {usage}", text=what, code=True) for usage, what in USAGE.values())
    return Answer(title=f"{COMMAND}: AI news by topic, briefings and alerts", lines=lines,
                  note=note or "Add `public` to a question to post the answer in the channel.", kind="ok")


def usage_answer(invalid: Invalid, topics: Sequence[str]) -> Answer:
    """Usage help for a malformed command; for an unknown topic, the closest match and every topic."""
    text = invalid.problem
    if invalid.suggestion:
        text += f" Did you mean {invalid.suggestion}?"
    lines: tuple[Line, ...] = ()
    if invalid.usage is not None:
        usage, what = USAGE[invalid.usage]
        lines = (Line(title=f"{COMMAND} {usage}", text=what, code=True),)
    note = f"`{COMMAND} help` lists every command."
    if invalid.unknown_topic:
        note = f"Topics: {', '.join(topics)}. {note}"
    return Answer(title="That command needs a fix", text=text, lines=lines, note=note, kind="usage")


class Commands:
    """Answers `/ai-news` from the Redis store. One per process, shared by every request."""

    def __init__(
        self,
        store: Store,
        taxonomy: Taxonomy,
        sources: SourcesConfig,
        *,
        rate_limit: int = 10,
        clock: Callable[[], datetime] | None = None,
        follows: Follows | None = None,
        min_importance: float = DEFAULT_MIN_IMPORTANCE,
        max_per_hour: int | None = None,
    ) -> None:
        self.store = store
        self.taxonomy = taxonomy
        self.sources = sources
        self.rate_limit = rate_limit
        self.clock = clock or (lambda: datetime.now(UTC))
        self.follows = follows
        self.min_importance = min_importance
        self.max_per_hour = max_per_hour

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, taxonomy: Taxonomy, sources: SourcesConfig, *,
                      clock: Callable[[], datetime] | None = None) -> Commands:
        """The commands of a chat role: its rate limit, the alert defaults, and the entity gazetteer for follows."""
        return cls(store, taxonomy, sources, rate_limit=settings.command_rate_limit, clock=clock,
                   follows=load_follows(settings.config_file("entities.yaml")),
                   min_importance=settings.alert_min_importance, max_per_hour=settings.alert_max_per_hour)

    @property
    def topics(self) -> tuple[str, ...]:
        return self.taxonomy.slugs

    def parse(self, text: str) -> Command:
        return parse(text, self.topics, self.follows)

    async def allow(self, ctx: CommandContext) -> Answer | None:
        """None if the user may run a command now; otherwise the answer saying when to try again."""
        now = self.clock()
        count = await self.store.count_command(ctx.user, now)
        if count <= self.rate_limit:
            return None
        wait = 60 - int(now.timestamp()) % 60
        log.info("rate limit: user %s sent %d commands this minute (limit %d)", ctx.user, count, self.rate_limit)
        return Answer(title="Slow down a little",
                      text=f"You can send {self.rate_limit} commands a minute. Try again in {wait} s.",
                      kind="limited")

    async def answer(self, ctx: CommandContext, text: str) -> Answer:
        """The answer to `/ai-news <text>` in that channel, rate limit included."""
        limited = await self.allow(ctx)
        if limited is not None:
            return limited
        return await self.run(ctx, self.parse(text))

    async def run(self, ctx: CommandContext, command: Command) -> Answer:
        match command:
            case Invalid():
                return usage_answer(command, self.topics)
            case Help():
                return help_answer()
            case TopicQuery():
                return await self._topic(command)
            case Search():
                return await self._search(command)
            case LatestBriefing():
                return await self._briefing(ctx, command)
            case ListTopics():
                return self._topics(command)
            case ListSources():
                return await self._sources(command)
            case Subscribe():
                return await self._subscribe(ctx, command)
            case Unsubscribe():
                return await self._unsubscribe(ctx, command)
            case ListSubscriptions():
                return await self._subscriptions(ctx, command)
            case Setup():
                return await self._setup(ctx, command)
            case ShowSetup():
                return await self._show_setup(ctx)
            case StopSetup():
                return await self._stop_setup(ctx)
            case Quiet():
                return await self._quiet(ctx, command)
            case ShowQuiet():
                return await self._show_quiet(ctx)
            case QuietOff():
                return await self._quiet_off(ctx)

    def _title(self, slug: str) -> str:
        topic = self.taxonomy.get(slug)
        return topic.title if topic is not None else slug

    async def _topic(self, query: TopicQuery) -> Answer:
        now = self.clock()
        items = [i for i in await self.store.recent(topic=query.topic, since=now - STORY_WINDOW, until=now,
                                                    limit=query.count) if i.about_ai is not False]
        title = f"{self._title(query.topic)}: the latest stories"
        if not items:
            return Answer(title=title, text=f"No {query.topic} stories in the last 7 days.", public=query.public)
        return Answer(title=title, lines=tuple(story_line(i, now) for i in items), public=query.public,
                      note=f"{len(items)} of the last 7 days, newest first.")

    async def _search(self, query: Search) -> Answer:
        now = self.clock()
        items = await self.store.search(query.words, limit=SEARCH_RESULTS)
        title = f"Search: {shorten(query.words, 100)}"
        if not items:
            return Answer(title=title, text="Nothing in the archive matches every word.", public=query.public)
        return Answer(title=title, lines=tuple(story_line(i, now) for i in items), public=query.public,
                      note=f"{len(items)} newest match(es).")

    async def _briefing(self, ctx: CommandContext, query: LatestBriefing) -> Answer:
        briefing = await self.store.latest_briefing(ctx.channel)
        if briefing is None:
            edition = await self.store.edition(ctx.channel)
            hint = (f"The next one comes at {edition.time} {edition.timezone}." if edition is not None else
                    f"Set one up with `{COMMAND} setup 08:00 Europe/Berlin`.")
            return Answer(title="No briefing yet", text=f"This channel has had no daily briefing yet. {hint}")
        lines = tuple(Line(title=k.title, url=k.url, text=k.text) for k in briefing.key_developments)
        return Answer(title=briefing.title, text=briefing.executive_summary, lines=lines, public=query.public,
                      note=f"Daily briefing of {briefing.date.isoformat()} ({briefing.timezone}).",
                      edition_id=edition_id(briefing.channel, briefing.date), edition_channel=briefing.channel)

    def _topics(self, query: ListTopics) -> Answer:
        lines = tuple(Line(title=t.slug, details=(t.title,), text=t.description, code=True)
                      for t in self.taxonomy.topics)
        return Answer(title="Topics", lines=lines, public=query.public,
                      note=f"Ask with `{COMMAND} <topic>`, e.g. `{COMMAND} {self.topics[0]}`.")

    async def _sources(self, query: ListSources) -> Answer:
        now = self.clock()
        states = await self.store.source_states([s.id for s in self.sources.sources])
        rows = []
        for source in self.sources.sources:
            state = states.get(source.id, SourceState())
            status = state.status if source.enabled else "off"
            rows.append((_STATUS_ORDER.get(status, 9), source.name, status, source, state))
        rows.sort(key=lambda row: (row[0], row[1].lower()))
        counts: dict[str, int] = {}
        lines = []
        for _, _, status, source, state in rows:
            counts[status] = counts.get(status, 0) + 1
            details = [status]
            if state.last_success is not None:
                details.append(f"last success {age(state.last_success, now)}")
            if state.failures:
                details.append(f"{state.failures} failure(s)")
            error = state.last_error if status in ("failing", "disabled") and state.last_error else ""
            lines.append(Line(title=source.name, url=source.url, details=tuple(details), text=shorten(error, 160)))
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda c: _STATUS_ORDER[c[0]]))
        return Answer(title="Sources", text=summary or "No sources are configured.", lines=tuple(lines),
                      public=query.public)

    async def _subscribe(self, ctx: CommandContext, command: Subscribe) -> Answer:
        threshold = self.min_importance if command.min_importance is None else command.min_importance
        subscription = Subscription(kind=command.kind, name=command.name, min_importance=threshold)
        new = await self.store.put_subscription(ctx.channel, subscription)
        log.info("%s subscribed to %s (min importance %.2f) by %s", ctx.channel, subscription.describe(), threshold,
                 ctx.user)
        if subscription.kind == "topic":
            return Answer(title=f"{'Subscribed' if new else 'Updated'}: {command.name}",
                          text=f"This channel gets an alert when a {command.name} story of importance "
                               f"{threshold:g} or more arrives.{self._cap_note()}",
                          note=f"`{COMMAND} unsubscribe {command.name}` stops it.")
        also = ""
        if subscription.kind == "organization" and self.follows is not None:
            made = self.follows.models_of(subscription.name)
            if made:
                also = f" Stories that name only its models ({', '.join(made[:6])}) count too."
        return Answer(title=f"{'Following' if new else 'Updated'}: {subscription.name} ({subscription.kind})",
                      text=f"This channel gets an alert when a story about {subscription.name} of importance "
                           f"{threshold:g} or more arrives.{also}{self._cap_note()}",
                      note=f"`{COMMAND} unsubscribe \"{subscription.name}\"` stops it.")

    def _cap_note(self) -> str:
        if self.max_per_hour is None:
            return ""
        return (f" At most {self.max_per_hour} alerts an hour: more come as one digest at the end of the "
                "hour.")

    async def _unsubscribe(self, ctx: CommandContext, command: Unsubscribe) -> Answer:
        current = await self.store.channel_subscriptions(ctx.channel)
        wanted = command.name.lower()
        resolved = self.follows.resolve(command.name) if self.follows is not None else None
        found = next((s for s in current if s.name.lower() == wanted or (
            resolved is not None and s.kind == resolved.kind and s.name == resolved.name)), None)
        if found is not None and await self.store.unsubscribe(ctx.channel, found.field):
            log.info("%s unsubscribed from %s by %s", ctx.channel, found.describe(), ctx.user)
            what = f"{found.name} stories" if found.kind == "topic" else f"alerts about {found.name}"
            return Answer(title=f"Unsubscribed: {found.name}", text=f"No more {what} in this channel.")
        suggestion = closest_name(command.name, [s.name for s in current])
        text = f"This channel is not subscribed to “{command.name}”."
        if suggestion:
            text += f" Did you mean {suggestion}?"
        note = (f"Subscribed: {', '.join(s.name for s in current)}." if current
                else "This channel has no subscriptions.")
        return Answer(title="Nothing to unsubscribe", text=text, note=note, kind="usage")

    async def _subscriptions(self, ctx: CommandContext, query: ListSubscriptions) -> Answer:
        current = await self.store.channel_subscriptions(ctx.channel)
        quiet = await self.store.quiet_hours(ctx.channel)
        quiet_text = (f"Quiet hours {quiet.start}-{quiet.end} ({quiet.timezone}): alerts then wait for "
                      f"{quiet.end} and come as one digest." if quiet is not None else "")
        if not current:
            return Answer(title="Subscriptions", text=" ".join(p for p in ("This channel gets no topic alerts.",
                                                                           quiet_text) if p),
                          public=query.public, note=f"`{COMMAND} subscribe <topic>` starts them.")
        lines = tuple(Line(title=s.name, details=(self._title(s.name) if s.kind == "topic" else s.kind,),
                           text=f"importance {s.min_importance:g} or more", code=True) for s in current)
        notes = [quiet_text or f"No quiet hours (`{COMMAND} quiet 22:00-07:00` sets them)."]
        if self.max_per_hour is not None:
            notes.append(f"At most {self.max_per_hour} alerts an hour; more come as one digest at the end of the "
                         "hour.")
        return Answer(title="Subscriptions", lines=lines, public=query.public, note=" ".join(notes))

    async def _quiet(self, ctx: CommandContext, command: Quiet) -> Answer:
        timezone = command.timezone
        if timezone is None:
            edition = await self.store.edition(ctx.channel)
            timezone = edition.timezone if edition is not None else "UTC"
        quiet = QuietHours(start=command.start, end=command.end, timezone=timezone)
        await self.store.set_quiet_hours(ctx.channel, quiet)
        log.info("%s: quiet hours %s set by %s", ctx.channel, quiet.describe(), ctx.user)
        return Answer(title=f"Quiet hours: {quiet.start}-{quiet.end}",
                      text=f"No alerts in this channel from {quiet.start} to {quiet.end} ({quiet.timezone}); what "
                           f"arrives then comes as one digest at {quiet.end}.",
                      note=f"`{COMMAND} quiet off` ends them; `{COMMAND} quiet {quiet.start}-{quiet.end} "
                           "<time zone>` sets another zone.")

    async def _show_quiet(self, ctx: CommandContext) -> Answer:
        quiet = await self.store.quiet_hours(ctx.channel)
        if quiet is None:
            return Answer(title="No quiet hours", text="Alerts come in this channel at any time of day.",
                          note=f"`{COMMAND} quiet 22:00-07:00` sets quiet hours.")
        return Answer(title=f"Quiet hours: {quiet.start}-{quiet.end}",
                      text=f"No alerts from {quiet.start} to {quiet.end} ({quiet.timezone}); what arrives then "
                           f"comes as one digest at {quiet.end}.", note=f"`{COMMAND} quiet off` ends them.")

    async def _quiet_off(self, ctx: CommandContext) -> Answer:
        if await self.store.quiet_hours(ctx.channel) is None:
            return Answer(title="No quiet hours", text="This channel has no quiet hours.")
        await self.store.set_quiet_hours(ctx.channel, None)
        log.info("%s: quiet hours removed by %s", ctx.channel, ctx.user)
        return Answer(title="Quiet hours off",
                      text="Alerts come in this channel at any time of day again. A digest already waiting keeps "
                           "its time.")

    async def _setup(self, ctx: CommandContext, command: Setup) -> Answer:
        previous = await self.store.edition(ctx.channel)
        try:
            edition = Edition(channel=ctx.channel, time=command.time, timezone=command.timezone,
                              topics=command.topics, format=previous.format if previous else "full", origin="chat")
        except ValueError as exc:  # a channel name the edition model refuses: nothing the user typed
            log.error("cannot set up an edition for %s: %s", ctx.channel, exc)
            return Answer(title="Cannot set up this channel", text="This channel cannot get a daily briefing.",
                          kind="error")
        await self.store.put_edition(edition)
        log.info("edition of %s set from chat by %s: %s %s topics=%s", ctx.channel, ctx.user, edition.time,
                 edition.timezone, ",".join(edition.topics) or "all")
        return Answer(title="Daily briefing set up", text=self._describe(edition),
                      note=f"`{COMMAND} setup off` stops it.")

    def _describe(self, edition: Edition) -> str:
        now = self.clock()
        day, moment = edition.latest_due(now)
        upcoming = edition.moment(day + timedelta(days=1)) if moment <= now else moment
        local = upcoming.astimezone(edition.zone)
        topics = ", ".join(edition.topics) if edition.topics else "all topics"
        return (f"Every day at {edition.time} {edition.timezone}, about {topics}. "
                f"Next: {local:%a %d %b %H:%M} ({edition.timezone}).")

    async def _show_setup(self, ctx: CommandContext) -> Answer:
        edition = await self.store.edition(ctx.channel)
        if edition is None:
            return Answer(title="No daily briefing", text="This channel gets no daily briefing.",
                          note=f"`{COMMAND} setup 08:00 Europe/Berlin` sets one up.")
        origin = "set from chat" if edition.origin == "chat" else "set in the configuration file"
        return Answer(title="Daily briefing", text=f"{self._describe(edition)} ({origin})")

    async def _stop_setup(self, ctx: CommandContext) -> Answer:
        edition = await self.store.edition(ctx.channel)
        if edition is None:
            return Answer(title="No daily briefing", text="This channel gets no daily briefing.")
        if edition.origin != "chat":
            return Answer(title="Set by the operator",
                          text="This channel's briefing comes from the configuration file (channels.yaml); "
                               "ask whoever runs ai-news to remove it there.", kind="usage")
        await self.store.delete_edition(ctx.channel)
        log.info("edition of %s stopped from chat by %s", ctx.channel, ctx.user)
        return Answer(title="Daily briefing stopped", text="This channel gets no daily briefing any more.")


_STATUS_ORDER = {"disabled": 0, "failing": 1, "new": 2, "ok": 3, "off": 4}
