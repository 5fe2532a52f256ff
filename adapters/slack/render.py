"""Block Kit for a Briefing (a root message, then one thread reply per section), for a command answer and for
the App Home tab. Pure functions: models in, JSON-ready dicts out.

Block Kit limits are kept here: at most 50 blocks per message, 3,000 characters per section text, 150 per
header, and about 12,000 characters of block text per message (Slack refuses much more with
`msg_blocks_too_long`). Anything longer is split over several blocks, and a section too big for one message
continues in the next reply. Every message has a fallback `text` for notifications. Every text taken from a
Briefing or an item is escaped (`mrkdwn.escape`, `mrkdwn.link`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.mrkdwn import escape, link, split, truncate
from bot.alerts import ChannelRules, alert_kicker, digest_line, digest_note, digest_title, health_text
from bot.commands import Answer, Line, one_line
from bot.editions import Edition
from bot.models import Alert, AlertDigest, Briefing, HealthEvent, Section, SourceLink, Story, Table

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER = 150
MAX_CONTEXT_TEXT = 2000
MESSAGE_BUDGET = 12_000
MAX_FALLBACK = 3000
MAX_HOME_BLOCKS = 100
TABLE_CELL = 40


@dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage worth of content: fallback text and blocks."""

    text: str
    blocks: tuple[Block, ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


# --- block builders ------------------------------------------------------------------------------------------

def header(text: str) -> Block:
    """A header from already-escaped text, cut to 150 characters."""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER) or " ",
                                       "emoji": False}}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def sections(text: str) -> list[Block]:
    """Section blocks for already-escaped mrkdwn of any length (3,000 characters each at most)."""
    return [{"type": "section", "text": mrkdwn(piece)} for piece in split(text, MAX_SECTION_TEXT)]


def context(text: str) -> list[Block]:
    """Context blocks (small grey text) for already-escaped mrkdwn: one element of 2,000 characters at most each."""
    return [{"type": "context", "elements": [mrkdwn(piece)]} for piece in split(text, MAX_CONTEXT_TEXT)]


def divider() -> Block:
    return {"type": "divider"}


def block_chars(block: Block) -> int:
    """The characters of text a block carries (what counts toward Slack's per-message size limit)."""
    total = 0
    stack: list[Any] = [block]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            text = value.get("text")
            if isinstance(text, str):
                total += len(text)
            stack.extend(v for k, v in value.items() if k != "text" or not isinstance(v, str))
        elif isinstance(value, list):
            stack.extend(value)
    return total


def pack(blocks: Sequence[Block], fallback: str, continued: str | None) -> list[SlackMessage]:
    """Blocks as one message, or several within 50 blocks and the size budget each; every further message
    starts with a `continued` header (already-escaped text) when one is given."""
    messages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        chars = block_chars(block)
        current = messages[-1]
        if current and (len(current) >= MAX_BLOCKS or size + chars > MESSAGE_BUDGET):
            start = [header(continued)] if continued else []
            messages.append(start)
            size = sum(block_chars(b) for b in start)
        messages[-1].append(block)
        size += chars
    text = truncate(fallback, MAX_FALLBACK) or " "
    return [SlackMessage(text=text if n == 0 else truncate(f"{fallback} (continued)", MAX_FALLBACK),
                         blocks=tuple(blocks_)) for n, blocks_ in enumerate(messages) if blocks_]


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


# --- briefing --------------------------------------------------------------------------------------------------

def _date_line(briefing: Briefing) -> str:
    return f"{briefing.date:%A, %d %B %Y} · {escape(briefing.timezone)}"


def render_root(briefing: Briefing) -> list[SlackMessage]:
    """The thread's root: title, date, executive summary and key developments (more messages if very long)."""
    title = escape(briefing.title)
    blocks: list[Block] = [header(title), *context(_date_line(briefing))]
    if briefing.executive_summary:
        blocks += sections(escape(briefing.executive_summary))
    if briefing.key_developments:
        blocks += sections("*Key developments*")
        lines = [f"*{link(k.url, k.title)}*: {escape(k.text)}" if k.text else f"*{link(k.url, k.title)}*"
                 for k in briefing.key_developments]
        blocks += sections(bullets(lines))
    replies = len(briefing.sections) + bool(briefing.outlook) + bool(briefing.sources)
    if replies:
        blocks += context(f"{replies} more in the thread: "
                          + escape(", ".join(s.heading for s in briefing.sections)
                                   + (", outlook" if briefing.outlook else "")
                                   + (", sources" if briefing.sources else "")))
    fallback = f"{title} ({briefing.date.isoformat()})"
    if briefing.executive_summary:
        fallback += f": {escape(briefing.executive_summary)}"
    return pack(blocks, fallback, continued=f"{title} (continued)")


def _sources_line(sources: Sequence[SourceLink]) -> str:
    return "Sources: " + " · ".join(link(s.url, s.source or s.title) + (f" via {escape(s.via)}" if s.via else "")
                                    for s in sources)


def story_blocks(story: Story) -> list[Block]:
    title = link(story.sources[0].url, story.title) if story.sources else escape(story.title)
    parts = [f"*{title}*"]
    if story.summary:
        parts.append(escape(story.summary))
    if story.why_it_matters:
        parts.append("*Why it matters:*\n" + bullets(escape(point) for point in story.why_it_matters))
    blocks = sections("\n".join(parts))
    if story.sources:
        blocks += context(_sources_line(story.sources))
    return blocks


def table_text(table: Table) -> str:
    """A table as an aligned monospace block (escaped), cells cut to fit."""
    def cell(value: str) -> str:
        flat = " ".join(value.split()).replace("```", "'''")
        return flat if len(flat) <= TABLE_CELL else flat[:TABLE_CELL - 1] + "…"

    rows = [[cell(c) for c in table.columns], *([cell(c) for c in row] for row in table.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.columns))]
    lines = [" | ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return escape("\n".join(lines))


def table_blocks(table: Table) -> list[Block]:
    """The table in code blocks: as many as it takes, each with the header row."""
    text = table_text(table)
    head, rule, *rows = text.split("\n")
    room = MAX_SECTION_TEXT - len(head) - len(rule) - 10
    blocks: list[Block] = []
    chunk: list[str] = []
    for row in rows:
        if chunk and sum(len(r) + 1 for r in chunk) + len(row) > room:
            blocks.append({"type": "section", "text": mrkdwn("```" + "\n".join([head, rule, *chunk]) + "```")})
            chunk = []
        chunk.append(row[:room])
    blocks.append({"type": "section", "text": mrkdwn("```" + "\n".join([head, rule, *chunk]) + "```")})
    return blocks


def render_section(section: Section) -> list[SlackMessage]:
    heading = escape(section.heading)
    blocks: list[Block] = [header(heading)]
    for story in section.stories:
        blocks += story_blocks(story)
    if section.table is not None and section.table.rows:
        blocks += table_blocks(section.table)
    fallback = f"{heading}: " + escape("; ".join(s.title for s in section.stories)) if section.stories else heading
    return pack(blocks, fallback, continued=f"{heading} (continued)")


def render_outlook(points: Sequence[str]) -> list[SlackMessage]:
    blocks = [header("Outlook"), *sections(bullets(escape(p) for p in points))]
    return pack(blocks, "Outlook: " + escape(" ".join(points)), continued="Outlook (continued)")


def render_sources(sources: Sequence[SourceLink]) -> list[SlackMessage]:
    lines = [f"{link(s.url, s.title)} ({escape(s.source)})" if s.source else link(s.url, s.title) for s in sources]
    blocks = [header("Sources"), *sections(bullets(lines))]
    return pack(blocks, f"Sources: {len(sources)} links", continued="Sources (continued)")


def render_briefing(briefing: Briefing) -> list[SlackMessage]:
    """Every message of a briefing's thread, in order: the root first, then the replies."""
    messages = render_root(briefing)
    for section in briefing.sections:
        messages += render_section(section)
    if briefing.outlook:
        messages += render_outlook(briefing.outlook)
    if briefing.sources:
        messages += render_sources(briefing.sources)
    return messages


# --- alerts ------------------------------------------------------------------------------------------------------

ALERT_SOURCES_SHOWN = 8
BRIEFING_LINK = "Today's briefing thread"


def render_alert(alert: Alert, thread_url: str | None = None) -> SlackMessage:
    """One compact message: topic and why this channel gets it, the linked title, the source, one sentence, why it
    is important, the sources so far, and the channel's latest briefing thread."""
    item = alert.item
    source = item.source_name or item.source
    blocks: list[Block] = [*context(escape(f"{alert_kicker(alert.topic)} · {alert.reason}" if alert.reason
                                           else alert_kicker(alert.topic)))]
    head = f"*{link(item.url, item.title)}*"
    sentence = one_line(item)
    blocks += sections(head + (f"\n{escape(sentence)}" if sentence else ""))
    details = [escape(source)]
    if alert.why:
        details.append(escape(alert.why))
    blocks += context(" · ".join(details))
    if len(alert.sources) > 1:
        shown = [link(s.url, s.source or s.title) for s in alert.sources[:ALERT_SOURCES_SHOWN]]
        more = len(alert.sources) - len(shown)
        blocks += context(f"{len(alert.sources)} sources: " + " · ".join(shown) + (f" and {more} more" if more else ""))
    if thread_url:
        blocks += context(link(thread_url, BRIEFING_LINK))
    fallback = escape(f"{alert_kicker(alert.topic)}: {item.title} ({source})")
    return SlackMessage(text=truncate(fallback, MAX_FALLBACK), blocks=tuple(blocks))


def render_digest(digest: AlertDigest, thread_url: str | None = None) -> SlackMessage:
    """The stories held back from a channel, as one message (cut, with a note, if they would not fit)."""
    title = escape(digest_title(digest))
    blocks: list[Block] = [header(title), *context(escape(digest_note(digest)))]
    lines = [f"• *{link(story.url, story.title)}* · "
             + escape(digest_line(story.sources, story.source, story.importance)) for story in digest.stories]
    body = sections("\n".join(lines))
    room = MAX_BLOCKS - len(blocks) - 3
    used = sum(block_chars(b) for b in blocks)
    kept: list[Block] = []
    for block in body:
        if len(kept) >= room or used + block_chars(block) > MESSAGE_BUDGET - 500:
            break
        kept.append(block)
        used += block_chars(block)
    blocks += kept
    if len(kept) < len(body):
        blocks += context("The list is longer than a message; the rest is left out.")
    if thread_url:
        blocks += context(link(thread_url, BRIEFING_LINK))
    fallback = f"{title}: " + escape("; ".join(story.title for story in digest.stories))
    return SlackMessage(text=truncate(fallback, MAX_FALLBACK), blocks=tuple(blocks))


def render_health(event: HealthEvent) -> SlackMessage:
    """A source's change of health, for the operations channel."""
    title, text = health_text(event)
    blocks = [*sections(f"*{escape(title)}*"), *sections(escape(text))]
    return SlackMessage(text=truncate(escape(f"{title}: {text}"), MAX_FALLBACK), blocks=tuple(blocks))


# --- command answers -------------------------------------------------------------------------------------------

def answer_line(line: Line) -> str:
    if line.code:
        head = f"`{escape(line.title)}`"
    elif line.url:
        head = f"*{link(line.url, line.title)}*"
    else:
        head = f"*{escape(line.title)}*"
    if line.details:
        head += " · " + " · ".join(escape(d) for d in line.details)
    if line.text:
        head += ("  " if line.code else "\n") + escape(line.text)
    return head


def render_answer(answer: Answer, thread_url: str | None = None) -> SlackMessage:
    """An answer as one message (cut, with a note saying so, if it would not fit)."""
    title = escape(answer.title)
    top: list[Block] = sections(f"*{title}*")
    if answer.text:
        top += sections(escape(answer.text))
    if thread_url:
        top += sections(link(thread_url, "Open the briefing's thread"))
    note = context(escape(answer.note)) if answer.note else []
    blocks = list(top)
    room_blocks = MAX_BLOCKS - len(top) - len(note) - 1
    room_chars = MESSAGE_BUDGET - sum(block_chars(b) for b in [*top, *note]) - 200
    line_blocks = sections("\n".join(answer_line(line) for line in answer.lines)) if answer.lines else []
    shown = 0
    for block in line_blocks:
        if len(blocks) - len(top) >= room_blocks or block_chars(block) > room_chars:
            break
        blocks.append(block)
        room_chars -= block_chars(block)
        shown += 1
    if shown < len(line_blocks):
        blocks += context("The list is longer than a message; the rest is left out.")
    blocks += note
    fallback = f"{title}: {escape(answer.text)}" if answer.text else title
    return SlackMessage(text=truncate(fallback, MAX_FALLBACK), blocks=tuple(blocks))


# --- App Home --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HomeChannel:
    """One channel of the workspace as the Home tab shows it."""

    channel_id: str
    edition: Edition | None
    alerts: ChannelRules | None = None

    @property
    def subscribed(self) -> bool:
        return self.alerts is not None and bool(self.alerts.subscriptions)


def channel_mention(channel_id: str) -> str:
    """`<#C0456>` for an id of Slack's alphabet, the escaped text otherwise."""
    return f"<#{channel_id}>" if channel_id.isalnum() and channel_id.isupper() else escape(channel_id)


def render_home(channels: Sequence[HomeChannel], command: str = "/ai-news") -> dict[str, Any]:
    """The Home tab: every channel with a daily briefing or topic alerts, within 100 blocks."""
    blocks: list[Block] = [header("ai-news"),
                           *sections("Daily AI briefings, answers by topic and topic alerts for your channels.")]
    with_editions = [c for c in channels if c.edition is not None]
    with_alerts = [c for c in channels if c.subscribed]
    blocks += [divider(), *sections("*Daily briefings*")]
    if with_editions:
        lines = []
        for channel in with_editions:
            edition = channel.edition
            assert edition is not None
            topics = ", ".join(edition.topics) if edition.topics else "all topics"
            origin = "set from chat" if edition.origin == "chat" else "configured"
            lines.append(f"{channel_mention(channel.channel_id)}: {escape(edition.time)} "
                         f"{escape(edition.timezone)}, {escape(topics)} ({origin})")
        blocks += sections(bullets(lines))
    else:
        blocks += sections(escape(f"No channel has a daily briefing yet: run `{command} setup 08:00 Europe/Berlin` "
                                  "in a channel."))
    blocks += [divider(), *sections("*Topic alerts*")]
    if with_alerts:
        lines = []
        for channel in with_alerts:
            assert channel.alerts is not None
            quiet = channel.alerts.quiet
            lines.append(f"{channel_mention(channel.channel_id)}: "
                         + ", ".join(f"{escape(s.describe())} (importance {s.min_importance:g}+)"
                                     for s in channel.alerts.subscriptions)
                         + (f"; quiet {escape(quiet.describe())}" if quiet is not None else ""))
        blocks += sections(bullets(lines))
    else:
        blocks += sections(escape(f"No channel gets topic alerts yet: run `{command} subscribe robotics` "
                                  "in a channel."))
    blocks += context(escape(f"`{command} help` in any channel lists every command."))
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [*blocks[:MAX_HOME_BLOCKS - 1], *context("More channels than the Home tab can show.")]
    return {"type": "home", "blocks": blocks}
