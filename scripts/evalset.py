"""Build, check and retire the hand-labeled judge sets of `tests/fixtures/eval/`.

A judge set is labeled by hand in parts (one JSONL file per day, the format of `tests/fixtures/eval/README.md`), then:

    python scripts/evalset.py slugs OUT                 # every event slug in use, for labelers to avoid
    python scripts/evalset.py assemble N PART...        # check the parts, write unseen-N/realdays-unseen-N.jsonl
    python scripts/evalset.py overlap N                 # training lines whose titles are the set's (or nearly)
    python scripts/evalset.py takeout TITLES SAVED      # take those training lines out (kept in SAVED)
    ai-news train                                       # retrain without them; commit; judge once
    python scripts/evalset.py restore SAVED N           # put them back and add the set to the training data
    ai-news train

None of the project's classifying code runs here: the set must reach the judge unseen.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "fixtures" / "eval"
DEV = ROOT.parent / "shared" / "fixtures" / "eval" / "realdays-dev.jsonl"
DATA = ROOT / "bot" / "data"
KEYS = ["title", "summary", "url", "source", "published", "feed", "day", "ai", "topic", "also", "event", "note"]
SECTIONS = {"models", "research", "robotics", "products", "business", "infrastructure", "regulation", "safety", "tools"}
FEEDS = {"hackernews": "Hacker News", "lobsters": "Lobsters", "slashdot": "Slashdot", "soylentnews": "SoylentNews"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
ESCAPE = re.compile(r"\\[\\`*_{}\[\]()#+\-.!\"']")


def set_files() -> list[Path]:
    files = sorted(EVAL.glob("*/*.jsonl"))
    return [*files, DEV] if DEV.exists() else files


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def used_slugs(exclude: Path | None = None) -> set[str]:
    return {str(entry["event"]) for path in set_files() if path != exclude for entry in read_jsonl(path)}


def fold(title: str) -> str:
    return " ".join(title.casefold().split())


def check(entries: list[dict[str, object]], used: set[str]) -> list[str]:
    """Every rule of the eval README's format and labels that a script can check."""
    errors: list[str] = []
    events: dict[tuple[str, str], set[tuple[object, ...]]] = defaultdict(set)
    urls: dict[tuple[str, str], set[str]] = defaultdict(set)
    pairs: set[tuple[str, str, str]] = set()
    days_of_slug: dict[str, set[str]] = defaultdict(set)
    for i, e in enumerate(entries, 1):
        where = f"line {i} ({str(e.get('title', ''))[:50]!r})"
        if list(e) != KEYS:
            errors.append(f"{where}: keys {list(e)}")
            continue
        title, day, feed = str(e["title"]), str(e["day"]), str(e["feed"])
        if FEEDS.get(feed) != e["source"]:
            errors.append(f"{where}: feed {feed!r} with source {e['source']!r}")
        if e["summary"] != "":
            errors.append(f"{where}: summary is not empty")
        if title != title.strip() or not title:
            errors.append(f"{where}: surrounding spaces or empty title")
        if ENTITY.search(title) or ESCAPE.search(title):
            errors.append(f"{where}: an HTML entity or markdown escape is left in the title")
        end = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=6)
        published = datetime.strptime(str(e["published"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if not end - timedelta(days=1) <= published < end:
            errors.append(f"{where}: published {e['published']} outside the window of {day}")
        also = e["also"]
        assert isinstance(also, list)
        if e["ai"] is True:
            if e["topic"] not in SECTIONS or e["topic"] in also or len(also) > 2:
                errors.append(f"{where}: topic {e['topic']!r} also {also!r}")
            if any(a not in SECTIONS for a in also) or not e["note"]:
                errors.append(f"{where}: an unknown section in also, or no note on an AI entry")
        elif e["ai"] is False:
            if e["topic"] is not None or also:
                errors.append(f"{where}: a non-AI entry with a section")
        else:
            errors.append(f"{where}: ai is {e['ai']!r}")
        slug = str(e["event"])
        if not SLUG.match(slug):
            errors.append(f"{where}: slug {slug!r}")
        if slug in used:
            errors.append(f"{where}: slug {slug!r} is used by another set")
        days_of_slug[slug].add(day)
        events[(day, slug)].add((e["ai"], e["topic"], tuple(sorted(also))))
        urls[(day, str(e["url"]))].add(slug)
        pair = (day, feed, str(e["url"]))
        if pair in pairs:
            errors.append(f"{where}: the same feed and url twice in a day")
        pairs.add(pair)
    errors += [f"event {s!r} on {d}: its entries differ in labels" for (d, s), v in events.items() if len(v) > 1]
    errors += [f"url {u} on {d}: several events {sorted(v)}" for (d, u), v in urls.items() if len(v) > 1]
    errors += [f"slug {s!r} on several days" for s, d in days_of_slug.items() if len(d) > 1]
    order = [(e["day"], e["published"], e["feed"], e["url"]) for e in entries]
    if order != sorted(order):
        errors.append("entries are not sorted by day, published, feed, url")
    return errors


def assemble(number: int, parts: list[Path]) -> int:
    entries = [entry for part in parts for entry in read_jsonl(part)]
    entries.sort(key=lambda e: (str(e["day"]), str(e["published"]), str(e["feed"]), str(e["url"])))
    out = EVAL / f"unseen-{number}" / f"realdays-unseen-{number}.jsonl"
    errors = check(entries, used_slugs(exclude=out))
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        per_day[str(e["day"])][0] += 1
        per_day[str(e["day"])][1] += e["ai"] is True
    for day, (total, ai) in sorted(per_day.items()):
        print(f"{day}  {total:4d} entries  {ai:3d} AI")
    print(f"wrote {out.relative_to(ROOT)}: {len(entries)} entries")
    return 0


def training_lines() -> list[tuple[Path, int, dict[str, object]]]:
    return [
        (path, index, json.loads(line))
        for folder in ("relevance", "labeled")
        for path in sorted((DATA / folder).glob("*.jsonl"))
        for index, line in enumerate(path.read_text(encoding="utf-8").splitlines())
    ]


def words(title: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", title.casefold())) - {"the", "a", "an", "of", "to", "in", "and", "for", "on"}


def overlap(number: int, near: float) -> int:
    """Training lines whose title is a set title (SAME) or shares most of its words (NEAR)."""
    entries = read_jsonl(EVAL / f"unseen-{number}" / f"realdays-unseen-{number}.jsonl")
    lines = training_lines()
    by_title: dict[str, list[tuple[Path, int]]] = defaultdict(list)
    for path, index, record in lines:
        by_title[fold(str(record["title"]))].append((path, index))
    for e in entries:
        title = str(e["title"])
        mark = "AI " if e["ai"] else "   "
        for path, index in by_title.get(fold(title), []):
            print(f"SAME {mark}{title!r}  {path.relative_to(ROOT)}:{index + 1}")
        mine = words(title)
        if len(mine) < 3:
            continue
        for path, index, record in lines:
            theirs = words(str(record["title"]))
            shared = len(mine & theirs) / len(mine | theirs)
            if near <= shared < 1 and fold(str(record["title"])) != fold(title):
                print(f"NEAR {mark}{title!r} ~ {record['title']!r}  {path.relative_to(ROOT)}:{index + 1}")
    return 0


def takeout(titles_file: Path, saved_file: Path) -> int:
    """Take every training line whose title is listed out of its file, keeping each with its place."""
    wanted = {fold(t) for t in titles_file.read_text(encoding="utf-8").splitlines() if t.strip()}
    saved: dict[str, list[tuple[int, str]]] = {}
    found: set[str] = set()
    for folder in ("relevance", "labeled"):
        for path in sorted((DATA / folder).glob("*.jsonl")):
            keep: list[tuple[int, str]] = []
            out: list[tuple[int, str]] = []
            for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
                key = fold(str(json.loads(line)["title"]))
                (out if key in wanted else keep).append((index, line))
                if key in wanted:
                    found.add(key)
            if out:
                saved[str(path.relative_to(ROOT))] = out
                path.write_text("".join(line + "\n" for _, line in keep), encoding="utf-8")
                print(f"{path.relative_to(ROOT)}: {len(out)} lines out")
    saved_file.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    for missing in sorted(wanted - found):
        print(f"not found: {missing!r}", file=sys.stderr)
    return 1 if wanted - found else 0


def restore(saved_file: Path, number: int) -> int:
    """Put the lines taken out back in their places, then add the judged set to the training data."""
    saved: dict[str, list[list[object]]] = json.loads(saved_file.read_text(encoding="utf-8"))
    for name, out in saved.items():
        path = ROOT / name
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in sorted(out, key=lambda pair: int(str(pair[0]))):
            lines.insert(int(str(index)), str(line))
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    relative = f"tests/fixtures/eval/unseen-{number}/realdays-unseen-{number}.jsonl"
    entries = read_jsonl(ROOT / relative)
    for folder, kind in (("relevance", "eval"), ("labeled", "feed")):
        path = DATA / folder / "evaldays.jsonl"
        seen = {fold(str(json.loads(line)["title"])) for line in path.read_text(encoding="utf-8").splitlines()}
        added = []
        for e in entries:
            # (a one-letter headline, "V" for the TV series, teaches a model nothing and is no training title)
            if fold(str(e["title"])) in seen or (folder == "labeled" and e["ai"] is not True) \
                    or len(str(e["title"]).strip()) < 2:
                continue
            seen.add(fold(str(e["title"])))
            record: dict[str, object] = {"title": e["title"], "summary": e["summary"]}
            if folder == "relevance":
                record["ai"] = e["ai"]
            else:
                record["topics"] = [e["topic"], *list(e["also"])]  # type: ignore[call-overload]
            record["source"] = f"{kind}:{relative} {e['day']}"
            added.append(json.dumps(record, ensure_ascii=False) + "\n")
        with path.open("a", encoding="utf-8") as handle:
            handle.writelines(added)
        print(f"{path.relative_to(ROOT)}: {len(added)} lines added")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("slugs").add_argument("out", type=Path)
    p = sub.add_parser("assemble")
    p.add_argument("number", type=int)
    p.add_argument("parts", type=Path, nargs="+")
    p = sub.add_parser("overlap")
    p.add_argument("number", type=int)
    p.add_argument("--near", type=float, default=0.6)
    p = sub.add_parser("takeout")
    p.add_argument("titles", type=Path)
    p.add_argument("saved", type=Path)
    p = sub.add_parser("restore")
    p.add_argument("saved", type=Path)
    p.add_argument("number", type=int)
    args = parser.parse_args(argv)
    if args.command == "slugs":
        args.out.write_text("".join(s + "\n" for s in sorted(used_slugs())), encoding="utf-8")
        return 0
    if args.command == "assemble":
        return assemble(args.number, args.parts)
    if args.command == "overlap":
        return overlap(args.number, args.near)
    if args.command == "takeout":
        return takeout(args.titles, args.saved)
    return restore(args.saved, args.number)


if __name__ == "__main__":
    sys.exit(main())
