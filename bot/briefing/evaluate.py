"""`ai-news eval --briefing DIR`: the briefing measured on real days labeled by hand.

Each JSON-lines file in DIR holds feed entries with their hand labels (see tests/fixtures/eval/README.md): `day`,
`ai` (is AI the main subject), `topic` and `also` (the sections an editor would accept), `event` (entries about
the same real-world event share it). Each day is composed as `ai-news compose --date DAY --tz UTC --at 06:00`
would, and its stories are checked against the labels:

- about AI: the share of the briefing's stories whose entries are labeled about AI;
- in section: the share of stories about AI placed in a section their label accepts;
- AI events covered: how many of the day's labeled AI events the briefing carries (a filter that drops
  everything would otherwise score well);
- split: AI events spread over two or more stories; merged: stories joining entries of different events;
- boilerplate: summaries that are site boilerplate or a stand-in; filler: bullets that say nothing specific.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.briefing.quality import boilerplate_summary, filler
from bot.models import canonical_url
from bot.settings import ConfigError

TARGETS = "targets: about AI >= 95%, in section >= 85%, split 0, boilerplate 0, filler 0"


@dataclass
class DayScore:
    day: str
    entries: int = 0
    stories: int = 0
    ai_stories: int = 0
    in_section: int = 0
    ai_events: int = 0
    covered: int = 0
    split: int = 0
    merged: int = 0
    boilerplate: int = 0
    bullets: int = 0
    filler: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: DayScore) -> None:
        for name in ("entries", "stories", "ai_stories", "in_section", "ai_events", "covered", "split", "merged",
                     "boilerplate", "bullets", "filler"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _json_rows(path: Path, text: str, what: str, check: Callable[[dict[str, object]], None]
               ) -> Iterator[dict[str, object]]:
    """The JSON objects of a JSON-lines text, each passed by `check` (which raises ValueError for a bad one); a bad
    line is refused with its file and number, as `what` it should have been."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            check(row)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not {what}: {exc}") from None
        yield row


def _labeled_entry(row: dict[str, object]) -> None:
    for key in ("day", "title", "url", "ai", "event"):
        if key not in row:
            raise ValueError(f"'{key}' is missing")
    date.fromisoformat(str(row["day"]))


def read_days(folder: Path) -> dict[str, list[dict[str, object]]]:
    """Labeled entries by day, from every *.jsonl file of the folder."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder of labeled days (JSON-lines files with day, ai, topic, event)")
    days: dict[str, list[dict[str, object]]] = defaultdict(list)
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise ConfigError(f"{folder}: no *.jsonl files of labeled days")
    for path in files:
        for row in _json_rows(path, path.read_text(encoding="utf-8"), "a labeled entry", _labeled_entry):
            days[str(row["day"])].append(row)
    return dict(sorted(days.items()))


def _also(row: dict[str, object]) -> list[object]:
    also = row.get("also")
    return list(also) if isinstance(also, list) else []


def score_day(day: str, rows: Sequence[dict[str, object]], stories: Sequence[tuple[str, str, str, Sequence[str],
                                                                                       Sequence[str]]]) -> DayScore:
    """Score one composed day. `stories`: (section, title, summary, bullets, the URLs of the story's items)."""
    labels: dict[str, dict[str, object]] = {}
    for row in rows:
        labels.setdefault(canonical_url(str(row["url"])), row)
    score = DayScore(day, entries=len(rows))
    ai_events = {str(r["event"]) for r in rows if r["ai"]}
    score.ai_events = len(ai_events)
    where: dict[str, set[int]] = defaultdict(set)
    for index, (section, title, summary, bullets, urls) in enumerate(stories):
        rows_of = [labels[u] for u in urls if u in labels]
        if not rows_of:
            continue
        score.stories += 1
        about = [r for r in rows_of if r["ai"]]
        if about:
            score.ai_stories += 1
            accepted = {str(r["topic"]) for r in about} | {str(t) for r in about for t in _also(r)}
            if section in accepted:
                score.in_section += 1
            else:
                score.problems.append(f"{day} section: “{title}” in {section}, labeled {'/'.join(sorted(accepted))}")
        else:
            score.problems.append(f"{day} not about AI: “{title}”")
        events = {str(r["event"]) for r in rows_of}
        if len(events) > 1:
            score.merged += 1
            score.problems.append(f"{day} merged: “{title}” joins {', '.join(sorted(events))}")
        for event in events:
            where[event].add(index)
        if boilerplate_summary(summary, title):
            score.boilerplate += 1
            score.problems.append(f"{day} boilerplate summary: “{summary[:80]}”")
        score.bullets += len(bullets)
        for bullet in bullets:
            if filler(bullet):
                score.filler += 1
                score.problems.append(f"{day} filler: “{bullet[:90]}”")
    score.covered = sum(1 for event in ai_events if where.get(event))
    for event in ai_events:
        if len(where.get(event, ())) > 1:
            score.split += 1
            score.problems.append(f"{day} split: {event} is in {len(where[event])} stories")
    return score


def report(scores: Sequence[DayScore], *, details: bool = False) -> str:
    total = DayScore("all")
    for score in scores:
        total.add(score)
    header = (f"{'day':<11} {'entries':>7} {'stories':>7} {'about AI':>8} {'in section':>10} {'AI events':>10} "
              f"{'split':>5} {'merged':>6} {'boilerplate':>11} {'filler':>9}")
    lines = [header]
    for s in [*scores, total]:
        lines.append(
            f"{s.day:<11} {s.entries:>7} {s.stories:>7} {_share(s.ai_stories, s.stories):>8} "
            f"{_share(s.in_section, s.ai_stories):>10} {f'{s.covered}/{s.ai_events}':>10} {s.split:>5} "
            f"{s.merged:>6} {s.boilerplate:>11} {f'{s.filler}/{s.bullets}':>9}")
    out = "\n".join(lines)
    if details and total.problems:
        out = "\n".join(total.problems) + "\n\n" + out
    return out + "\n" + TARGETS


def read_second_editor(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    """A second editor's sections for labeled AI entries: JSON lines {day, url, topic, also}, by day and canonical
    URL."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the second editor's labels: {exc.strerror or exc}") from None
    found: dict[tuple[str, str], dict[str, object]] = {}
    for row in _json_rows(path, text, "a second editor's label", _second_label):
        found[(str(row["day"]), canonical_url(str(row["url"])))] = row
    return found


def _second_label(row: dict[str, object]) -> None:
    for key in ("day", "url", "topic"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise ValueError(f"'{key}' is missing or not a string")


def agreement(days: dict[str, list[dict[str, object]]], second: dict[tuple[str, str], dict[str, object]]) -> str:
    """How often a second editor, sectioning the same AI entries from the same guide without seeing the labels,
    files them where the labels accept (the measure `in section` applies to the briefing): per entry and per event
    (its first entry, as a story is read from its lead), with the exact same section, and the other way round."""
    entries = events = accepted = exact = reverse = event_accepted = 0
    seen: set[tuple[str, str]] = set()
    for day, rows in days.items():
        for row in rows:
            other = second.get((day, canonical_url(str(row["url"]))))
            if not row["ai"] or other is None:
                continue
            first_ok = {str(row["topic"]), *map(str, _also(row))}
            second_ok = {str(other["topic"]), *map(str, _also(other))}
            entries += 1
            accepted += other["topic"] in first_ok
            exact += other["topic"] == row["topic"]
            reverse += row["topic"] in second_ok
            if (day, str(row["event"])) not in seen:
                seen.add((day, str(row["event"])))
                events += 1
                event_accepted += other["topic"] in first_ok
    if not entries:
        raise ConfigError("the second editor's labels match none of the labeled AI entries (by day and URL)")
    return "\n".join([
        f"{entries} AI entries ({events} events) sectioned by a second editor",
        f"second editor's section accepted by the labels: {_share(accepted, entries)} of entries, "
        f"{_share(event_accepted, events)} of events",
        f"the labels' section accepted by the second editor: {_share(reverse, entries)}; the same section: "
        f"{_share(exact, entries)}",
    ])
