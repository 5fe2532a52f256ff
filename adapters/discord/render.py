"""Discord rendering of a Briefing (a root message with one embed, then the messages of its thread) and of the
answers of `/ai-news` (one embed).

The root embed carries the date (author line), the title, the executive summary and the key developments.
The thread that the adapter creates from the root message then gets one message per section (its stories,
and its table as fields), an Outlook message and a Sources message. Pure: no I/O, no clock.

Output is raw Discord API payloads (`discord.types.embed.Embed` dicts), so it can be checked, stored and sent
as it is. A discord.py adapter posts each message with
`await channel.send(**message.send_kwargs())`, which gives `discord.Embed` objects and
`discord.AllowedMentions.none()`; an HTTP client posts `message.payload()`, whose `allowed_mentions` is
`{"parse": []}`. Either way nothing in a briefing can notify anyone.

Every embed and every message stays within Discord's limits (title 256, description 4,096, 25 fields, field
name 256 and value 1,024, footer 2,048, author name 256, 6,000 characters across the embeds of a message, 10
embeds per message). A section that does not fit continues in further embeds and messages, split between
stories, then between lines, then between sentences; only a single over-long sentence, title or label is cut,
at a word boundary with an ellipsis.

Feed text is untrusted: Discord Markdown in it is escaped and mentions (`@everyone`, `@here`, `<@123>`,
`<@&123>`, `<#123>`, `</command:123>`) are broken with a zero-width space, so they show as text.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlsplit

import discord
from discord.types.embed import Embed as EmbedPayload
from discord.types.embed import EmbedField
from discord.utils import escape_markdown, escape_mentions

from bot.alerts import alert_kicker, digest_line, digest_note, digest_title, health_text
from bot.commands import Answer, Line, one_line
from bot.models import Alert, AlertDigest, Briefing, HealthEvent, Section, SourceLink, Story, Table
from bot.text import fold_space, sentences, shorten

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
MESSAGE_CHARS_LIMIT = 6000
MESSAGE_EMBEDS_LIMIT = 10
THREAD_NAME_LIMIT = 100

# One line of a description never exceeds this, so a fresh embed always has room for the next line.
LINE_LIMIT = 1000
STORY_TITLE_CHARS = 250
LINK_LABEL_CHARS = 80
KEY_LEAD_CHARS = 200
KEY_TEXT_CHARS = 500
EXECUTIVE_CHARS = 2500
URL_MAX_CHARS = 500

ROOT_COLOR = 0x5865F2
_PALETTE = (0x3498DB, 0x2ECC71, 0xE67E22, 0x9B59B6, 0xE74C3C, 0x1ABC9C, 0xF1C40F, 0x95A5A6, 0xE91E63, 0x607D8B)

ZWSP = "\u200b"
BLOCK_GAP = "\n\n"
_OPEN, _CLOSE = "\ue000", "\ue001"  # brackets of a link label, kept out of reach of escape_markdown
_MASS_MENTION = re.compile(r"@(?=everyone\b|here\b)", re.IGNORECASE)
# <@user>, <@!user>, <@&role>, <#channel>, </command:id>, <id:browse>: break the opening bracket.
_BRACKET_MENTION = re.compile(r"<(?=[@#/]|id:)")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "[": "%5B", "]": "%5D",
               "\n": "", "\r": "", "\t": ""}


class NoMentions(TypedDict):
    parse: list[str]


class MessagePayload(TypedDict):
    embeds: list[EmbedPayload]
    allowed_mentions: NoMentions


class SendKwargs(TypedDict):
    embeds: list[discord.Embed]
    allowed_mentions: discord.AllowedMentions


@dataclass(frozen=True)
class DiscordMessage:
    """One message: its embeds, as Discord API payloads."""

    embeds: tuple[EmbedPayload, ...]

    def payload(self) -> MessagePayload:
        """The JSON body for `POST /channels/{id}/messages`: no mention can notify anyone."""
        return {"embeds": copy.deepcopy(list(self.embeds)), "allowed_mentions": {"parse": []}}

    def send_kwargs(self) -> SendKwargs:
        """Keyword arguments for discord.py's `Messageable.send` (a channel or a thread)."""
        return {"embeds": [discord.Embed.from_dict(copy.deepcopy(e)) for e in self.embeds],
                "allowed_mentions": discord.AllowedMentions.none()}


@dataclass(frozen=True)
class DiscordBriefing:
    """A briefing for Discord: the root message, the name of the thread created from it, the thread's messages."""

    root: DiscordMessage
    thread_name: str
    thread: tuple[DiscordMessage, ...]

    @property
    def messages(self) -> tuple[DiscordMessage, ...]:
        return (self.root, *self.thread)


# Escaping of untrusted text.

def neutralise_mentions(text: str) -> str:
    """Mentions in `text` shown as text: `@everyone`, `@here`, user, role, channel and command mentions."""
    text = escape_mentions(text)
    text = _MASS_MENTION.sub("@" + ZWSP, text)
    return _BRACKET_MENTION.sub("<" + ZWSP, text)


def escape(text: str) -> str:
    """Feed text made safe for a Discord embed: one line, Markdown escaped, mentions neutralised."""
    return neutralise_mentions(escape_markdown(fold_space(text)))


def escape_label(text: str) -> str:
    """Text for the label of a `[label](url)` link: escaped, brackets too."""
    marked = text.replace(_OPEN, "").replace(_CLOSE, "").replace("[", _OPEN).replace("]", _CLOSE)
    return escape(marked).replace(_OPEN, "\\[").replace(_CLOSE, "\\]")


def safe_url(url: str) -> str | None:
    """An http(s) URL usable as a Markdown link target, or None."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    for char, replacement in _URL_UNSAFE.items():
        url = url.replace(char, replacement)
    return url if len(url) <= URL_MAX_CHARS else None


def link(label: str, url: str, *, max_label: int = LINK_LABEL_CHARS) -> str:
    """`[label](url)` with the label escaped and shortened; only the escaped label if the URL is not usable."""
    if not label.strip():
        label = (urlsplit(url).hostname or url).removeprefix("www.")
    text = fit(label, max_label, escape_label)
    target = safe_url(url)
    return f"[{text}]({target})" if target else text


def fit(raw: str, limit: int, render: Callable[[str], str] = escape) -> str:
    """`render(raw)`, shortened at a word boundary with an ellipsis so that it is at most `limit` characters."""
    text = render(raw)
    if len(text) <= limit:
        return text
    budget = limit
    while budget > 1:
        text = render(shorten(fold_space(raw), budget))
        if len(text) <= limit:
            return text
        budget -= max(1, len(text) - limit)
    return "…"


def pieces(raw: str, limit: int = LINE_LIMIT) -> list[str]:
    """`raw` escaped and split into lines of at most `limit` characters between sentences."""
    out: list[str] = []
    current = ""
    for sentence in sentences(raw):
        candidate = f"{current} {sentence}" if current else sentence
        if len(escape(candidate)) <= limit:
            current = candidate
            continue
        if current:
            out.append(escape(current))
        if len(escape(sentence)) <= limit:
            current = sentence
        else:
            out.append(fit(sentence, limit))
            current = ""
    if current:
        out.append(escape(current))
    return out


def _first_sentences(raw: str, limit: int) -> str:
    """As many whole sentences of `raw` as fit in `limit` (escaped), with an ellipsis if some were left out."""
    parts = sentences(raw)
    kept: list[str] = []
    for sentence in parts:
        if len(escape(" ".join([*kept, sentence]))) > limit - 2:
            break
        kept.append(sentence)
    if not kept:
        return fit(raw, limit)
    text = escape(" ".join(kept))
    return text if len(kept) == len(parts) else text + " …"


def embed_length(embed: EmbedPayload) -> int:
    """The characters Discord counts against the 6,000 per message."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    if "footer" in embed:
        total += len(embed["footer"]["text"])
    if "author" in embed:
        total += len(embed["author"]["name"])
    return total


def topic_color(topic: str) -> int:
    """A stable color per topic."""
    return _PALETTE[int(hashlib.sha256(topic.encode("utf-8")).hexdigest(), 16) % len(_PALETTE)]


# Packing of embeds into messages.

class _Messages:
    """Embeds packed into messages, within the per-message embed count and character total."""

    def __init__(self) -> None:
        self.messages: list[DiscordMessage] = []
        self._embeds: list[EmbedPayload] = []
        self._used = 0

    def room(self) -> int:
        """Characters still free in the current message; 0 if it holds its last embed."""
        if len(self._embeds) >= MESSAGE_EMBEDS_LIMIT:
            return 0
        return MESSAGE_CHARS_LIMIT - self._used

    def add(self, embed: EmbedPayload) -> None:
        size = embed_length(embed)
        if size > self.room():
            self.flush()
        if size > self.room():
            raise ValueError(f"embed of {size} characters does not fit in a message")  # a bug in this module
        self._embeds.append(embed)
        self._used += size

    def flush(self) -> None:
        if self._embeds:
            self.messages.append(DiscordMessage(tuple(self._embeds)))
        self._embeds = []
        self._used = 0


class _Writer:
    """Writes one part of the thread (a section, the outlook, the sources) into embeds, from a new message on.

    The first embed carries the part's title, and so does the first embed of its table; an embed that starts a
    further message carries "title (continued)"; further embeds in the same message carry none. Each embed is
    sized, when it is opened, to what its message has left.
    """

    def __init__(self, out: _Messages, title: str, color: int) -> None:
        self._out = out
        self._color = color
        self._started = False
        self._open = False
        self._retitle(title)
        self._embed_title = ""
        self._lines: list[str] = []
        self._description = 0
        self._fields: list[EmbedField] = []
        self._capacity = 0  # characters left for this embed's description and fields

    def _retitle(self, title: str) -> None:
        self._title = fit(title, TITLE_LIMIT)
        self._continued = fit(f"{title} (continued)", TITLE_LIMIT)
        self._title_due = True

    def _start(self, need: int) -> None:
        """Open an embed with room for at least `need` characters besides its title."""
        self._close()
        if not self._started:
            self._out.flush()
            self._started = True
        if self._title_due:
            title = self._title
            if self._out.room() - len(title) < need:
                self._out.flush()
            self._title_due = False
        elif self._out.room() >= need:
            title = ""
        else:
            self._out.flush()
            title = self._continued
        self._open = True
        self._embed_title = title
        self._capacity = self._out.room() - len(title)

    def _close(self) -> None:
        if not self._open:
            return
        embed: EmbedPayload = {"type": "rich", "color": self._color}
        if self._embed_title:
            embed["title"] = self._embed_title
        if self._lines:
            embed["description"] = "\n".join(self._lines)
        if self._fields:
            embed["fields"] = self._fields
        if self._lines or self._fields:
            self._out.add(embed)
        self._open = False
        self._lines = []
        self._description = 0
        self._fields = []

    def _cost(self, text: str, separator: str) -> int:
        return len(text) + (len(separator) if self._lines else 0)

    def _fits(self, text: str, separator: str) -> bool:
        cost = self._cost(text, separator)
        return self._description + cost <= DESCRIPTION_LIMIT and cost <= self._capacity

    def _append(self, text: str, separator: str) -> None:
        cost = self._cost(text, separator)
        # lines are joined with one newline: a blank line between blocks is a leading newline
        self._lines.append(separator[1:] + text if self._lines else text)
        self._description += cost
        self._capacity -= cost

    def block(self, lines: Sequence[str]) -> None:
        """Lines kept in one embed when they fit, else split between lines; blocks are apart by a blank line."""
        lines = [line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 1] + "…" for line in lines if line]
        if not lines:
            return
        text = "\n".join(lines)
        if not self._open or self._fields:
            self._start(LINE_LIMIT)
        if self._fits(text, BLOCK_GAP):
            self._append(text, BLOCK_GAP)
            return
        if self._lines:
            self._start(LINE_LIMIT)
            if self._fits(text, BLOCK_GAP):
                self._append(text, BLOCK_GAP)
                return
        separator = BLOCK_GAP
        for line in lines:
            if not self._fits(line, separator):
                self._start(LINE_LIMIT)
            self._append(line, separator)
            separator = "\n"

    def fields(self, title: str, fields: Iterable[EmbedField]) -> None:
        """Fields in embeds of their own, the first titled `title`."""
        self._close()
        self._retitle(title)
        for entry in fields:
            size = len(entry["name"]) + len(entry["value"])
            if not self._open or self._lines or len(self._fields) >= FIELDS_LIMIT or size > self._capacity:
                self._start(size)
            self._fields.append(entry)
            self._capacity -= size

    def finish(self) -> None:
        self._close()
        self._out.flush()


# The briefing.

def _date_line(briefing: Briefing) -> str:
    day = briefing.date
    return f"AI briefing · {day:%A}, {day.day} {day:%B %Y}"


def _story_lines(story: Story) -> list[str]:
    url = next((s.url for s in story.sources if safe_url(s.url)), None)
    if url is not None:
        head = link(story.title, url, max_label=STORY_TITLE_CHARS)
    else:
        head = fit(story.title, STORY_TITLE_CHARS) or "Untitled story"
    lines = [f"**{head}**"]
    lines += pieces(story.summary)
    if story.why_it_matters:
        lines.append("**Why it matters:**")
        lines += ["• " + fit(point, LINE_LIMIT - 2) for point in story.why_it_matters if point.strip()]
    lines += _link_lines("Sources: ", [link(s.source or s.title, s.url) + (f" via {fit(s.via, LINK_LABEL_CHARS)}"
                                                                           if s.via else "") for s in story.sources])
    return lines


def _link_lines(prefix: str, links: Sequence[str], limit: int = LINE_LIMIT) -> list[str]:
    """Links joined with " · ", wrapped into lines of at most `limit` characters; the first line has `prefix`."""
    lines: list[str] = []
    current = ""
    for item in links:
        if not current:
            current = item if lines else prefix + item
        elif len(current) + 3 + len(item) <= limit:
            current += " · " + item
        else:
            lines.append(current)
            current = item
    if current:
        lines.append(current)
    return lines


def _cell(text: str, limit: int) -> str:
    target = safe_url(text) if text.strip().lower().startswith(("http://", "https://")) else None
    if target:
        host = urlsplit(target).hostname or text
        return link(host.removeprefix("www."), target, max_label=min(LINK_LABEL_CHARS, limit))
    return fit(text, limit)


def _table_fields(table: Table) -> list[EmbedField]:
    """One field per row: the first cell as the name, the other cells as "**Column:** value" lines."""
    fields: list[EmbedField] = []
    for row in table.rows:
        name = fit(row[0], FIELD_NAME_LIMIT) or "—"
        cells = [(column, cell) for column, cell in zip(table.columns[1:], row[1:], strict=True) if cell.strip()]
        lines: list[str] = []
        if cells:
            share = (FIELD_VALUE_LIMIT - 2 - (len(cells) - 1)) // len(cells)
            for column, cell in cells:
                label = f"**{fit(column, max(4, min(60, share // 3)))}:** "
                line = label + _cell(cell, max(8, share - len(label)))
                if len("\n".join([*lines, line])) > FIELD_VALUE_LIMIT - 2:
                    lines.append("…")
                    break
                lines.append(line)
        fields.append({"name": name, "value": "\n".join(lines) or ZWSP, "inline": False})
    return fields


def _section(out: _Messages, section: Section) -> None:
    if not section.stories and (section.table is None or not section.table.rows):
        return
    writer = _Writer(out, section.heading, topic_color(section.topic))
    for story in section.stories:
        writer.block(_story_lines(story))
    if section.table is not None and section.table.rows:
        writer.fields(f"{section.heading} at a glance", _table_fields(section.table))
    writer.finish()


def _root(briefing: Briefing) -> DiscordMessage:
    stories = sum(len(s.stories) for s in briefing.sections)
    sections = sum(1 for s in briefing.sections if s.stories)
    key_lines = []
    for key in briefing.key_developments:
        lead = link(key.title, key.url, max_label=KEY_LEAD_CHARS)
        text = fit(key.text, KEY_TEXT_CHARS)
        key_lines.append(f"• **{lead}**" + (f": {text}" if text else ""))
    key_block: list[str] = []
    budget = DESCRIPTION_LIMIT - 600  # the executive summary keeps at least this much of the description
    if key_lines:
        key_block = ["**Key developments**"]
        for index, line in enumerate(key_lines):
            if len("\n".join([*key_block, line])) > budget - 60:
                key_block.append(f"…and {len(key_lines) - index} more in the thread")
                break
            key_block.append(line)
    keys = "\n".join(key_block)
    room = DESCRIPTION_LIMIT - len(keys) - 2
    summary = _first_sentences(briefing.executive_summary, min(EXECUTIVE_CHARS, room)) \
        if briefing.executive_summary.strip() else ""
    description = "\n\n".join(part for part in (summary, keys) if part) or "No new stories in this window."
    if stories:
        footer = (f"{_count(stories, 'story', 'stories')} in {_count(sections, 'section', 'sections')}; "
                  "one reply per section in the thread")
    else:
        footer = "No stories in this window"
    embed: EmbedPayload = {
        "type": "rich",
        "color": ROOT_COLOR,
        "author": {"name": fit(_date_line(briefing), AUTHOR_NAME_LIMIT)},
        "title": fit(briefing.title, TITLE_LIMIT),
        "description": description,
        "footer": {"text": fit(f"{footer} · {briefing.timezone}", FOOTER_LIMIT)},
    }
    return DiscordMessage((embed,))


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def thread_name(briefing: Briefing) -> str:
    """The name of the thread created from the root message: plain text, at most 100 characters."""
    suffix = f" · {briefing.date.isoformat()}"
    title = fit(briefing.title, THREAD_NAME_LIMIT - len(suffix), lambda text: neutralise_mentions(fold_space(text)))
    return title + suffix if title else briefing.date.isoformat()


def _sources(out: _Messages, links: Sequence[SourceLink]) -> None:
    if not links:
        return
    writer = _Writer(out, "Sources", ROOT_COLOR)
    for source in links:
        name = f" ({fit(source.source, LINK_LABEL_CHARS)})" if source.source.strip() else ""
        writer.block(["• " + link(source.title, source.url, max_label=200) + name])
    writer.finish()


def render_briefing(briefing: Briefing) -> DiscordBriefing:
    """The root message, the thread's name and the thread's messages for one briefing."""
    out = _Messages()
    for section in briefing.sections:
        _section(out, section)
    if briefing.outlook:
        writer = _Writer(out, "Outlook", ROOT_COLOR)
        for point in briefing.outlook:
            lines = pieces(point, LINE_LIMIT - 2)
            if lines:
                writer.block(["• " + lines[0], *lines[1:]])
        writer.finish()
    _sources(out, briefing.sources)
    out.flush()
    return DiscordBriefing(root=_root(briefing), thread_name=thread_name(briefing), thread=tuple(out.messages))


# Alerts, digests and source health.

ALERT_SOURCES_SHOWN = 8
BRIEFING_LINK = "Today's briefing thread"
HEALTH_COLORS = {"failing": 0xE67E22, "disabled": 0xE74C3C, "recovered": 0x2ECC71}


def render_alert(alert: Alert, thread_url: str | None = None) -> DiscordMessage:
    """One embed: the topic and why this channel gets it (author), the linked title, one sentence, the source and
    why the story is important, the sources so far, the channel's latest briefing thread."""
    item = alert.item
    source = item.source_name or item.source
    lines = []
    sentence = one_line(item)
    if sentence:
        lines.append(fit(sentence, LINE_LIMIT))
    lines.append(" · ".join(fit(part, 500) for part in (source, alert.why) if part))
    if len(alert.sources) > 1:
        shown = [link(s.source or s.title, s.url) for s in alert.sources[:ALERT_SOURCES_SHOWN]]
        more = len(alert.sources) - len(shown)
        lines += _link_lines(f"{len(alert.sources)} sources: ", shown)
        if more:
            lines.append(f"and {more} more")
    if thread_url and safe_url(thread_url):
        lines.append(f"[{BRIEFING_LINK}]({safe_url(thread_url)})")
    kicker = f"{alert_kicker(alert.topic)} · {alert.reason}" if alert.reason else alert_kicker(alert.topic)
    embed: EmbedPayload = {"type": "rich", "color": topic_color(alert.topic),
                           "author": {"name": fit(kicker, AUTHOR_NAME_LIMIT)},
                           "title": fit(item.title, TITLE_LIMIT) or "Untitled story",
                           "description": "\n".join(lines)[:DESCRIPTION_LIMIT]}
    target = safe_url(item.url)
    if target:
        embed["url"] = target
    return DiscordMessage((embed,))


def render_digest(digest: AlertDigest, thread_url: str | None = None) -> DiscordMessage:
    """The stories held back from a channel as one embed (cut, with a note, if they do not fit)."""
    note = fit(digest_note(digest), FOOTER_LIMIT)
    closing = f"[{BRIEFING_LINK}]({safe_url(thread_url)})" if thread_url and safe_url(thread_url) else ""
    room = DESCRIPTION_LIMIT - len(closing) - len(ANSWER_CUT) - 8
    lines: list[str] = []
    for story in digest.stories:
        line = (f"• **{link(story.title, story.url, max_label=STORY_TITLE_CHARS)}** · "
                + fit(digest_line(story.sources, story.source, story.importance), 300))
        if len(line) + 1 > room:
            lines.append(f"*{ANSWER_CUT}*")
            break
        lines.append(line)
        room -= len(line) + 1
    if closing:
        lines.append(closing)
    topics = {story.topic for story in digest.stories}
    embed: EmbedPayload = {"type": "rich", "color": topic_color(next(iter(topics))) if len(topics) == 1 else ROOT_COLOR,
                           "title": fit(digest_title(digest), TITLE_LIMIT), "description": "\n".join(lines),
                           "footer": {"text": note}}
    return DiscordMessage((embed,))


def alert_name(message: Alert | AlertDigest) -> str:
    """The name of the forum post an alert or digest becomes in a forum channel."""
    title = message.item.title if isinstance(message, Alert) else digest_title(message)
    return fit(title, THREAD_NAME_LIMIT, lambda text: neutralise_mentions(fold_space(text))) or "ai-news alert"


def render_health(event: HealthEvent) -> DiscordMessage:
    """A source's change of health, for the operations channel."""
    title, text = health_text(event)
    embed: EmbedPayload = {"type": "rich", "color": HEALTH_COLORS.get(event.status, ROOT_COLOR),
                           "title": fit(title, TITLE_LIMIT), "description": fit(text, DESCRIPTION_LIMIT, escape_text)}
    return DiscordMessage((embed,))


# Answers of /ai-news.

ANSWER_COLORS = {"ok": ROOT_COLOR, "usage": 0xE67E22, "error": 0xE74C3C, "limited": 0xF1C40F}
_CODE = re.compile(r"(`[^`\n]+`)")
ANSWER_CUT = "The list is longer than a message; the rest is left out."


def escape_text(text: str) -> str:
    """Text of an answer: escaped like feed text, except `code` spans, which stay code (mentions never work in
    them)."""
    out = []
    for part in _CODE.split(text):
        if _CODE.fullmatch(part):
            out.append(part)
        elif part.strip():
            out.append((" " if part[0].isspace() else "") + escape(part) + (" " if part[-1].isspace() else ""))
        elif part:
            out.append(" ")
    return "".join(out)


def _code(text: str) -> str:
    return "`" + fold_space(text).replace("`", "ˋ") + "`"


def answer_line(line: Line) -> str:
    """One entry of an answer: a linked or bold title (or code), details after dots, its text below."""
    if line.code:
        head = _code(line.title)
    elif line.url:
        head = f"**{link(line.title, line.url, max_label=STORY_TITLE_CHARS)}**"
    else:
        head = f"**{fit(line.title, STORY_TITLE_CHARS)}**"
    if line.details:
        head += " · " + " · ".join(fit(detail, 120) for detail in line.details)
    if line.text:
        head += ("  " if line.code else "\n") + fit(line.text, LINE_LIMIT - len(head) - 2, escape_text)
    return head


def render_answer(answer: Answer, thread_url: str | None = None) -> DiscordMessage:
    """An answer as one embed: the title, the text, a link to the briefing's thread, the lines, the note; cut with
    a note saying so when the lines do not fit."""
    top = [escape_text(answer.text)] if answer.text else []
    if thread_url and safe_url(thread_url):
        top.append(f"[Open the briefing's thread]({safe_url(thread_url)})")
    note = [f"*{escape_text(answer.note)}*"] if answer.note else []
    head = BLOCK_GAP.join(top)
    room = DESCRIPTION_LIMIT - len(head) - sum(len(n) + 2 for n in note) - len(ANSWER_CUT) - 8
    lines: list[str] = []
    for line in answer.lines:
        text = answer_line(line)
        if len(text) + 1 > room:
            lines.append(f"*{ANSWER_CUT}*")
            break
        lines.append(text)
        room -= len(text) + 1
    description = BLOCK_GAP.join(part for part in (head, "\n".join(lines), *note) if part)
    embed: EmbedPayload = {"type": "rich", "color": ANSWER_COLORS.get(answer.kind, ROOT_COLOR),
                           "title": fit(answer.title, TITLE_LIMIT) or "ai-news"}
    if description:
        embed["description"] = description[:DESCRIPTION_LIMIT]
    return DiscordMessage((embed,))
