"""The `ai-news` command line. Entry point of every process: reads settings once, configures logging."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.settings import ROLE_NAMES, ConfigError, ServiceError, Settings, load_settings
from bot.taxonomy import load_taxonomy

if TYPE_CHECKING:  # `ai-news classify` never builds the message models
    from bot.models import Briefing

log = logging.getLogger("ai-news")

DEMO_PREFIX = "ainews-demo"
MAX_ERROR_LINES = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-news",
        description="Keeps teams current on AI in Slack and Discord.",
    )
    parser.add_argument("--version", action="version", version=f"ai-news {__version__}")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                        help="overrides LOG_LEVEL")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run one or more roles until SIGTERM/SIGINT")
    run.add_argument("--role", action="extend", nargs="+", choices=[*ROLE_NAMES, "all"], metavar="ROLE",
                     help=f"roles to run ('--role a b' or '--role a --role b'): {', '.join(ROLE_NAMES)}, or all "
                          f"(every role whose settings are present, in one process: also the default)")

    demo = sub.add_parser("demo", help="ingest the bundled sample feeds through Kafka and Redis, print a briefing")
    demo.add_argument("--days", type=_at_least(1), default=7, help="window of the briefing, in days (default 7)")

    sub.add_parser("topics", help="list the topics of config/topics.yaml and their Kafka topics")

    ingest = sub.add_parser("ingest", help="fetch sources now and print each newly seen item as a JSON line")
    ingest.add_argument("--once", action="store_true", required=True,
                        help="fetch each SOURCE once, publish, index, print (the only mode for now)")
    ingest.add_argument("source", nargs="+", metavar="SOURCE",
                        help="a source id from sources.yaml, a feed URL, or a local file")

    sources = sub.add_parser("sources", help="list every source with its status, last success and last error")
    sources.add_argument("--enable", action="append", default=[], metavar="ID",
                         help="re-enable a source that was disabled after failing (repeatable)")
    sources.add_argument("--json", action="store_true",
                         help="one JSON object per source, with the last error in full")
    classify = sub.add_parser("classify", help="enrich JSON lines (title, summary, url, source, published) offline")
    classify.add_argument("file", nargs="?", default="-", help="a JSON-lines file, or - for standard input")

    training = sub.add_parser("train", help="fit the topic and about-AI models on the labeled sets and save them")
    training.add_argument("--out", type=Path, help="where to write the model (default: the one ai-news ships)")
    training.add_argument("--examples", type=Path, action="append", default=[], metavar="FILE",
                          help="more labeled JSON lines to train on (repeatable); use with CLASSIFIER_MODEL")
    training.add_argument("--relevance-out", type=Path, metavar="FILE",
                          help="where to write the about-AI model (default: the one ai-news ships)")
    training.add_argument("--relevance-examples", type=Path, action="append", default=[], metavar="FILE",
                          help="more JSON lines {title, summary, ai} for the about-AI model; use with "
                               "RELEVANCE_MODEL")

    evaluation = sub.add_parser("eval", help="cross-validate the topic and about-AI models; --briefing: score "
                                             "briefings on hand-labeled days")
    evaluation.add_argument("--folds", type=_at_least(2), default=5, help="number of folds, 2 or more (default 5)")
    evaluation.add_argument("--holdout", type=Path, metavar="FILE",
                            help="also score a JSON-lines file of labeled headlines never used in training")
    evaluation.add_argument("--briefing", type=Path, metavar="DIR",
                            help="instead, compose each hand-labeled day in DIR and score the briefings")
    evaluation.add_argument("--details", action="store_true",
                            help="with --briefing: list every story that missed a target")
    evaluation.add_argument("--leave-day-out", action="store_true",
                            help="with --briefing: classify each day with models retrained without its entries "
                                 "(slow: two trainings a day)")
    evaluation.add_argument("--second-editor", type=Path, metavar="FILE",
                            help="with --briefing: instead of composing, compare a second editor's sections of the "
                                 "AI entries (JSON lines {day, url, topic, also}) with the labels")

    composing = sub.add_parser("compose", help="compose a briefing from a JSON-lines file of items, offline")
    composing.add_argument("--items", required=True, metavar="FILE",
                           help="JSON lines of items (classified or not: items without topics are classified), "
                                "or - for standard input")
    composing.add_argument("--date", required=True, type=_date, metavar="YYYY-MM-DD", help="the edition's date")
    composing.add_argument("--tz", default="UTC", metavar="ZONE", help="IANA time zone (default UTC)")
    composing.add_argument("--at", default="08:00", metavar="HH:MM", help="local edition time (default 08:00)")
    composing.add_argument("--topics", type=_topics_arg, default=(), metavar="A,B", help="only these topics")
    composing.add_argument("--compact", action="store_true", help="the compact edition: fewer, shorter stories")
    composing.add_argument("--include-backfill", action="store_true",
                           help="also compose items archived from a source's first poll (left out by default)")
    composing.add_argument("--format", choices=FORMATS, default="markdown", help="output (default markdown)")

    posting = sub.add_parser("post", help="compose a channel's edition from the archive and publish it now")
    posting.add_argument("--channel", required=True, metavar="PLATFORM:ID", help="e.g. slack:C0123456789")
    posting.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="default: today in the channel's zone")
    posting.add_argument("--tz", metavar="ZONE", help="override the channel's time zone")
    posting.add_argument("--at", metavar="HH:MM", help="override the channel's edition time")
    posting.add_argument("--dry-run", action="store_true",
                         help="print the edition instead of publishing it (needs only Redis)")
    posting.add_argument("--format", choices=FORMATS, help="with --dry-run: output format (default markdown)")
    posting.add_argument("--include-backfill", action="store_true",
                         help="also compose items archived from a source's first poll (left out by default)")

    bench = sub.add_parser("bench", help="measure a hot path against the raw library it builds on")
    bench.add_argument("what", choices=["ingest", "classify", "compose", "slack", "discord", "alerts", "pipeline",
                                        "all"],
                       help="ingest: parse+normalize+dedupe vs feedparser.parse; "
                            "classify: the whole `ai-news classify` process vs the bare vectorizer and model; "
                            "compose: `ai-news post --dry-run` on 10,000 archived items vs loading them from Redis; "
                            "slack: /ai-news latency under concurrent signed requests vs a bare bolt app; "
                            "discord: /ai-news latency under concurrent interactions vs a bare discord.py handler; "
                            "alerts: publish -> alert posted in every subscribed channel vs a bare aiokafka round "
                            "trip; pipeline: local feeds -> scheduler, ingest, indexer processes -> archive vs a bare "
                            "aiokafka produce+consume of as many messages; all: every bench, one table")
    bench.add_argument("--lines", type=_at_least(100), default=10_000,
                       help="classify: lines to classify; compose: items in the window (100 or more, default 10000)")
    bench.add_argument("--rounds", type=_at_least(1), default=20, help="passes over the corpus (default 20)")
    bench.add_argument("--requests", type=_at_least(10), default=2000,
                       help="slack: signed requests to send; discord: interactions per client (10 or more, "
                            "default 2000)")
    bench.add_argument("--concurrency", type=_at_least(1), default=50,
                       help="slack, discord: requests or interactions in flight (default 50)")
    bench.add_argument("--corpus", type=Path, help="a feed file or a folder of them (default: the bundled samples)")
    bench.add_argument("--channels", type=_at_least(1), default=100,
                       help="alerts: channels subscribed to the items' topic (default 100)")
    bench.add_argument("--items", type=_at_least(1), default=20,
                       help="alerts: items published one at a time (default 20)")
    bench.add_argument("--burst", type=_at_least(1), default=10,
                       help="alerts: items then published at once (default 10)")
    bench.add_argument("--events", type=_at_least(0), default=0,
                       help="compose: spread the items over this many stories of hundreds of items each "
                            "(default 0: the items' own stories)")

    bench.add_argument("--feeds", type=_at_least(1), default=100,
                       help="pipeline: feeds on the local feed server (default 100)")
    bench.add_argument("--feed-items", type=_at_least(1), default=200,
                       help="pipeline: new items in each feed (default 200: 20,000 items in all)")
    bench.add_argument("--workers", type=_workers_arg, default=(1, 2), metavar="N[,N]",
                       help="pipeline: ingest workers of each run, e.g. 1,2 (the default: one run with 1, one with 2)")
    bench.add_argument("--partitions", type=_at_least(1), default=6,
                       help="pipeline: partitions of each topic (default 6)")
    bench.add_argument("--only", type=_benches_arg, metavar="A,B",
                       help=f"all: only these benches ({', '.join(BENCHES)})")
    bench.add_argument("--quick", action="store_true",
                       help="all: small sizes, a few seconds a bench (a check that each works, not a measure)")
    bench.add_argument("--json", action="store_true", help="all: the rows as JSON on standard output")

    chat = sub.add_parser("discord", help="Discord: the link that adds the bot to a server")
    chat_sub = chat.add_subparsers(dest="discord_command", metavar="ACTION", required=True)
    chat_sub.add_parser("invite", help="print the install URL: the bot and /ai-news, with exactly the permissions "
                                       "it uses (needs DISCORD_APPLICATION_ID)")
    return parser


FORMATS = ("markdown", "json", "slack", "discord")
BENCHES = ("ingest", "classify", "compose", "slack", "discord", "alerts", "pipeline")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date as YYYY-MM-DD") from None


def _at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small: {low} or more")
        return value

    return parse


def _workers_arg(text: str) -> tuple[int, ...]:
    counts = tuple(_at_least(1)(part.strip()) for part in text.split(",") if part.strip())
    if not counts:
        raise argparse.ArgumentTypeError("give one or more worker counts, e.g. 1,2")
    return counts


def _benches_arg(text: str) -> tuple[str, ...]:
    chosen = _topics_arg(text)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown bench {', '.join(unknown or [text])}; benches: {', '.join(BENCHES)}")
    return chosen


def _topics_arg(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def render(briefing: Briefing, fmt: str) -> str:
    """A briefing as Markdown, JSON, or the Slack or Discord messages that would be posted (as JSON)."""
    if fmt == "json":
        return briefing.model_dump_json(indent=2) + "\n"
    if fmt == "slack":
        from adapters.slack.render import render_briefing as slack_messages

        return json.dumps([m.payload() for m in slack_messages(briefing)], indent=2, ensure_ascii=False) + "\n"
    if fmt == "discord":
        from adapters.discord.render import render_briefing as discord_messages

        rendered = discord_messages(briefing)
        return json.dumps({"root": rendered.root.payload(), "thread_name": rendered.thread_name,
                           "thread": [m.payload() for m in rendered.thread]}, indent=2, ensure_ascii=False) + "\n"
    from adapters.console import render_markdown

    return render_markdown(briefing)


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner with `message` on stderr while a long command works, when stderr is a terminal; nothing otherwise
    (logs, pipes and CI stay clean)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


@contextmanager
def bench_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress display on stderr for a long bench: what it does now, and how far (done of total) when known."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("starting", total=None)
        shown = [""]

        def update(text: str, done: int, total: int) -> None:
            if text != shown[0] and not err.is_terminal:
                err.print(f"ai-news bench: {text}", highlight=False, soft_wrap=True)
            shown[0] = text
            bar.update(task, description=text, completed=done, total=total or None)

        yield update


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    if args.log_level is None:  # the progress display says what happens; the services' INFO lines would bury it
        logging.getLogger().setLevel(logging.WARNING)
    if args.what == "pipeline":
        from bot.cmd.bench.pipeline import bench_pipeline

        with bench_progress() as progress:
            result = asyncio.run(bench_pipeline(settings, args.feeds, args.feed_items, args.workers, args.partitions,
                                                progress))
        print(result.report())
        return 0 if all(run.archived == run.items for run in result.runs) else 1
    from bot.cmd.bench.all import Sizes, as_json, bench_all, table

    sizes = Sizes.quick() if args.quick else Sizes()
    with bench_progress() as progress:
        rows = asyncio.run(bench_all(settings, sizes, args.only or BENCHES, progress))
    print(as_json(rows) if args.json else table(rows))
    return 1 if any(row.figure.endswith(": failed") for row in rows) else 0


def _configure_logging(level: str, *, quiet_libraries: bool = True) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", stream=sys.stderr)
    if quiet_libraries and level != "DEBUG":
        logging.getLogger("aiokafka").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `ai-news` alone: what there is to run
        parser.print_help()
        return 0
    if args.command == "post" and args.format is not None and not args.dry_run:
        parser.error("post --format applies to --dry-run (what would be posted); without it the edition is "
                     "published to Kafka for the chat roles")
    try:
        overrides = {"log_level": args.log_level} if args.log_level else {}
        if args.command == "demo":
            return _demo(args, overrides)
        settings = load_settings(**overrides)
        _configure_logging(settings.log_level)
        if args.command == "topics":
            return _topics(settings)
        if args.command == "run":
            return _run(settings, args.role)
        if args.command == "ingest":
            return _ingest(settings, args.source)
        if args.command == "sources":
            return _sources(settings, args.enable, args.json)
        if args.command == "bench":
            if args.what in ("pipeline", "all"):
                return _bench(settings, args)
            if args.what == "classify":
                from bot.offline import bench_classify

                with working(f"bench classify: {args.lines} lines, 3 runs of the whole process"):
                    classified = bench_classify(settings, args.lines)
                print(classified.report())
            elif args.what == "compose":
                from bot.cmd.bench.compose import bench_compose

                with working(f"bench compose: {args.lines} items, 3 runs of the whole process"):
                    composed = asyncio.run(bench_compose(settings, args.lines, events=args.events))
                print(composed.report())
            elif args.what == "slack":
                from bot.cmd.bench.chat import bench_slack_report

                with working(f"bench slack: {args.requests} signed requests, {args.concurrency} at a time"):
                    report = asyncio.run(bench_slack_report(settings, args.requests, args.concurrency))
                print(report)
            elif args.what == "alerts":
                from bot.cmd.bench.chat import bench_alerts_report

                with working(f"bench alerts: {args.channels} channels, {args.items} items then {args.burst} at once"):
                    report = asyncio.run(bench_alerts_report(settings, args.channels, args.items, args.burst))
                print(report)
            elif args.what == "discord":
                from bot.cmd.bench.chat import bench_discord_report

                with working(f"bench discord: {args.requests} interactions, {args.concurrency} at a time"):
                    report = asyncio.run(bench_discord_report(settings, args.requests, args.concurrency))
                print(report)
            else:
                from bot.cmd.bench.ingest import bench_ingest_report

                with working(f"bench {args.what}: {args.rounds} rounds"):
                    report = asyncio.run(bench_ingest_report(settings, args.what, args.rounds, args.corpus))
                print(report)
            return 0
        if args.command == "discord":
            from bot.cmd.invite import discord_invite

            print(discord_invite(settings))
            return 0
        if args.command == "classify":
            return _classify(settings, args.file)
        if args.command == "compose":
            return _compose(settings, args)
        if args.command == "post":
            return _post(settings, args)
        if args.command == "train":
            from bot.offline import train_model

            with working("training the topic and about-AI models"):
                report = train_model(settings, args.out, args.examples, args.relevance_out, args.relevance_examples)
            print(report)
            return 0
        if args.command == "eval":
            if args.second_editor is not None and args.briefing is None:
                raise ConfigError("--second-editor needs --briefing DIR: the labeled days to compare its sections with")
            if args.briefing is not None and args.second_editor is not None:
                from bot.briefing.evaluate import agreement, read_days, read_second_editor

                print(agreement(read_days(args.briefing), read_second_editor(args.second_editor)))
                return 0
            if args.briefing is not None:
                from bot.offline import evaluate_briefings

                with working(f"composing and scoring the labeled days of {args.briefing}"):
                    report = evaluate_briefings(settings, args.briefing, details=args.details,
                                                leave_day_out=args.leave_day_out)
                print(report)
                return 0
            from bot.offline import evaluation_report

            with working(f"{args.folds}-fold cross-validation of both models"):
                report = evaluation_report(settings, args.folds, args.holdout)
            print(report)
            return 0
    except ConfigError as exc:
        print(f"ai-news: configuration error: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"ai-news: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ai-news sources --json | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 2


def _run(settings: Settings, roles: list[str] | None) -> int:
    from bot.runtime import check_roles, default_roles, run, skipped_roles

    every = not roles or "all" in roles
    chosen = default_roles(settings) if every else list(dict.fromkeys(roles or ()))
    check_roles(chosen)
    try:
        asyncio.run(run(settings, chosen, skipped_roles(settings) if every else None))
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    return 0


def _ingest(settings: Settings, sources: list[str]) -> int:
    from bot.cmd.ingest_once import ingest_once

    with working(f"fetching {len(sources)} source(s), publishing and archiving what is new"):
        result = asyncio.run(ingest_once(settings, sources))
    for item in result.items:
        sys.stdout.write(item.model_dump_json() + "\n")
    for error in result.errors:
        print(f"ai-news: source {error}", file=sys.stderr)
    print(f"ai-news: {len(result.items)} new item(s) from {len(sources)} source(s), {len(result.errors)} failed",
          file=sys.stderr)
    return 1 if result.errors else 0


def _classify(settings: Settings, file: str) -> int:
    from bot.offline import classify_offline

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        lines = text.splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"ai-news: cannot read {file}: {exc}", file=sys.stderr)
        return 2
    # Every line and its result live until the batch ends: the cycle collector would rescan them, in vain,
    # again and again (about a sixth of the run), so it is off for this short-lived process.
    gc.freeze()
    gc.disable()
    result = classify_offline(settings, lines)
    if result.outputs:
        sys.stdout.write("\n".join(result.outputs) + "\n")
    for error in result.errors:
        print(f"ai-news: {error}", file=sys.stderr)
    return 1 if result.errors else 0


def _compose(settings: Settings, args: argparse.Namespace) -> int:
    from bot.offline import ComposeRequest, compose_offline

    try:
        text = sys.stdin.read() if args.items == "-" else Path(args.items).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"ai-news: cannot read {args.items}: {exc}", file=sys.stderr)
        return 2
    request = ComposeRequest(day=args.date, timezone=args.tz, at=args.at, topics=args.topics,
                             format="compact" if args.compact else "full", include_backfill=args.include_backfill)
    result = compose_offline(settings, text.splitlines(), request)
    for error in result.errors[:MAX_ERROR_LINES]:
        print(f"ai-news: {args.items}: {error} (skipped)", file=sys.stderr)
    if len(result.errors) > MAX_ERROR_LINES:
        print(f"ai-news: {args.items}: {len(result.errors) - MAX_ERROR_LINES} more bad lines skipped "
              f"({len(result.errors)} in all)", file=sys.stderr)
    if result.items and result.backfill == result.items and not args.include_backfill:
        print(f"ai-news: all {result.items} items in the window are backfill (archived from a source's first poll, "
              f"which briefings leave out); --include-backfill composes them", file=sys.stderr)
    elif result.backfill and not args.include_backfill:
        print(f"ai-news: {result.backfill} of {result.items} items in the window are backfill and left out "
              f"(--include-backfill composes them)", file=sys.stderr)
    sys.stdout.write(render(result.briefing, args.format))
    return 1 if result.errors else 0


def _post(settings: Settings, args: argparse.Namespace) -> int:
    # A short-lived process whose window of items (thousands of models, each with its dicts and tuples) lives until
    # it exits: the cycle collector would scan them, in vain, again and again (about a fifth of the run).
    gc.freeze()
    gc.disable()
    from bot.cmd.post import post

    result = asyncio.run(post(settings, args.channel, args.date, args.tz, args.at, dry_run=args.dry_run,
                              include_backfill=args.include_backfill))
    edition = result.edition
    where = f"{edition.channel} for {result.day} ({edition.time} {edition.timezone})"
    if args.dry_run:
        assert result.briefing is not None
        sys.stdout.write(render(result.briefing, args.format or "markdown"))
        left_out = []
        if result.backfill and not args.include_backfill:
            left_out.append(f"{result.backfill} backfill (a source's first poll; --include-backfill composes them)")
        if result.not_ai:
            left_out.append(f"{result.not_ai} not about AI")
        detail = f", left out: {'; '.join(left_out)}" if left_out else ""
        print(f"ai-news: edition of {where}: {result.items} items in the window{detail}; not published (--dry-run)",
              file=sys.stderr)
    elif result.briefing is None:
        print(f"ai-news: the edition of {where} was published before; nothing sent", file=sys.stderr)
    else:
        stories = sum(len(s.stories) for s in result.briefing.sections)
        print(f"ai-news: published edition {result.briefing.edition_id} of {where} to "
              f"{settings.kafka_topic_prefix}.briefings: {stories} stories in {len(result.briefing.sections)} "
              f"sections", file=sys.stderr)
    return 0


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    seconds = (now - when).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f}s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f}m"
    elif seconds < 2 * 86400:
        text = f"{seconds / 3600:.0f}h"
    else:
        text = f"{seconds / 86400:.0f}d"
    return f"in {text}" if future else f"{text} ago"


def _sources(settings: Settings, enable: list[str], as_json: bool = False) -> int:
    from bot.cmd.sources import source_rows
    from bot.sources import failure_reason

    rows = asyncio.run(source_rows(settings, enable))
    now = datetime.now(UTC)
    if as_json:
        for row in rows:
            state = row.state
            error = state.last_error if state.failures or state.disabled else None
            sys.stdout.write(json.dumps({
                "id": row.source.id, "name": row.source.name, "kind": row.source.kind, "url": row.source.url,
                "status": row.status, "enabled": row.source.enabled, "failures": state.failures,
                "last_success": state.last_success.isoformat() if state.last_success else None,
                "next_poll": state.next_due.isoformat() if state.next_due and row.source.enabled else None,
                "items": state.items_total, "reason": failure_reason(error) if error else None, "error": error,
            }) + "\n")
        return 0
    table = [("SOURCE", "KIND", "STATUS", "LAST SUCCESS", "FAILURES", "NEXT POLL", "NEW", "LAST ERROR")]
    for row in rows:
        state = row.state
        error = state.last_error or "" if state.failures or state.disabled else ""
        table.append((row.source.id, row.source.kind, row.status, _age(state.last_success, now),
                      str(state.failures), _age(state.next_due, now) if row.source.enabled else "-",
                      str(state.items_total), failure_reason(error) if error else ""))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for r in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=False)) + "  " + r[-1])
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())), file=sys.stderr)
    return 0


def _topics(settings: Settings) -> int:
    from bot.bus import TopicTable

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    table = TopicTable(settings.kafka_topic_prefix, taxonomy.slugs)
    width = max(len(t.slug) for t in taxonomy.topics)
    for topic in taxonomy.topics:
        print(f"{topic.slug:<{width}}  {table.items(topic.slug):<{width + 14}}  {topic.title}: {topic.description}")
    return 0


def _demo(args: argparse.Namespace, overrides: dict[str, str]) -> int:
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn

    from bot.cmd.demo import demo

    settings = load_settings(**overrides)
    # The demo keeps its topics and keys apart from any real deployment on the same Kafka and Redis.
    settings = settings.model_copy(update={"kafka_topic_prefix": DEMO_PREFIX, "redis_key_prefix": f"{DEMO_PREFIX}:"})
    err = Console(stderr=True)
    level = overrides.get("log_level", "WARNING")
    logging.basicConfig(level=level, handlers=[RichHandler(console=err, show_path=False)], format="%(message)s")
    if level != "DEBUG":
        logging.getLogger("aiokafka").setLevel(logging.ERROR)

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=False) as bar:
        current: list[TaskID] = []

        def finish_step() -> None:
            if current:
                total = bar.tasks[-1].total or 1
                bar.update(current[-1], completed=total, total=total)

        class _Display:
            def step(self, text: str) -> None:
                finish_step()
                current.append(bar.add_task(text, total=None))

            def note(self, text: str) -> None:
                bar.console.print(f"  [dim]{text}[/dim]")

            def advance(self, done: int, total: int) -> None:
                bar.update(current[-1], completed=done, total=total)

        display = _Display()
        try:
            markdown = asyncio.run(demo(settings, display, days=args.days))
        except (ServiceError, RuntimeError) as exc:
            err.print(f"[red]ai-news demo failed:[/red] {exc}")
            return 1
        finish_step()
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
