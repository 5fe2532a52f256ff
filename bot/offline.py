"""The commands that need no services: classify, train, eval, bench classify. Kept apart from the runtime so
that a process which only classifies imports neither Kafka, Redis nor scikit-learn."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.briefing.headlines import COMMON_FILE, COMMON_SHARE, common_words, save_common_words
from bot.classify import (
    MODEL_FILE,
    TopicClassifier,
    bundled_examples,
    bundled_model,
    evaluate,
    evaluate_holdout,
    example_text,
    load_examples,
    train,
)
from bot.enrich import Enricher, LineResults, classify_lines
from bot.entities import EntityExtractor, load_gazetteer
from bot.relevance import MODEL_FILE as RELEVANCE_FILE
from bot.relevance import (
    RelevanceExample,
    RelevanceModel,
    bundled_relevance_examples,
    bundled_relevance_model,
    evaluate_relevance,
    load_relevance_examples,
    train_relevance,
)
from bot.settings import ConfigError, Settings
from bot.stories import MemoryStoryIndex
from bot.taxonomy import Taxonomy, load_taxonomy
from bot.textmodel import TextModel, bundled_word_vectors

# `ai-news classify` needs none of the briefing's modules nor the message models: they load where used.
if TYPE_CHECKING:
    from bot.editions import BriefingFormat
    from bot.models import Briefing, ClassifiedItem


def load_model(settings: Settings) -> TextModel:
    path = settings.classifier_model
    if path is None:
        return bundled_model()
    try:
        return TextModel.load(path, bundled_word_vectors())
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"CLASSIFIER_MODEL {path}: not a usable model file ({exc}); build one with "
                          "`ai-news train --out FILE`") from None


def load_relevance(settings: Settings) -> RelevanceModel:
    path = settings.relevance_model
    if path is None:
        return bundled_relevance_model()
    try:
        return RelevanceModel.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"RELEVANCE_MODEL {path}: not a usable about-AI model file ({exc}); build one with "
                          "`ai-news train --relevance-out FILE`") from None


def build_enricher(settings: Settings, taxonomy: Taxonomy) -> Enricher:
    """The shipped (or configured) models with the taxonomy's keywords, and the gazetteer."""
    classifier = TopicClassifier(taxonomy, load_model(settings))
    return Enricher(classifier, EntityExtractor(load_gazetteer(settings.config_file("entities.yaml"))),
                    load_relevance(settings))


def classify_offline(settings: Settings, lines: list[str]) -> LineResults:
    """`ai-news classify`: no services; stories are matched within the input."""
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    enricher = build_enricher(settings, taxonomy)
    return classify_lines(enricher, lines, workers=min(os.cpu_count() or 1, 4))


@dataclass
class ComposeRequest:
    day: date
    timezone: str = "UTC"
    at: str = "08:00"
    topics: tuple[str, ...] = ()
    format: BriefingFormat = "full"
    channel: str = "console:compose"
    include_backfill: bool = False


def read_compose_items(settings: Settings, taxonomy: Taxonomy, lines: Sequence[str], now: datetime,
                       enricher: Enricher | None = None) -> tuple[list[ClassifiedItem], list[str]]:
    """JSON lines of items: classified ones as they are, the others (no `topics`) classified here (by `enricher`,
    else the configured models); each invalid line becomes an error naming its number."""
    from bot.models import ClassifiedItem, Item

    ready: list[ClassifiedItem] = []
    raw: list[Item] = []
    errors: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            if data.get("topics"):
                ready.append(ClassifiedItem.model_validate(data))
            else:
                data.setdefault("source", "file")
                raw.append(Item.model_validate(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "item"
            errors.append(f"line {number}: {where}: {first['msg']}")
        except ValueError as exc:
            errors.append(f"line {number}: not a JSON item: {exc}")
    if raw:
        enricher = enricher or build_enricher(settings, taxonomy)
        ready += asyncio.run(enricher.classify_items(raw, MemoryStoryIndex(), now=now))
    return ready, errors


@dataclass
class ComposeResult:
    briefing: Briefing
    errors: list[str]
    items: int  # in the window
    backfill: int  # of those, archived from a first poll
    not_ai: int  # of those, not about AI


def compose_offline(settings: Settings, lines: Sequence[str], request: ComposeRequest) -> ComposeResult:
    """`ai-news compose`: no services. The window is the 24 h before the date's edition time; each topic's
    7-day average comes from the file's items before the window."""
    from bot.briefing.compose import baseline_of, in_window
    from bot.briefing.writer import BriefingRequest, build_writer
    from bot.editions import Edition

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    unknown = [t for t in request.topics if taxonomy.get(t) is None]
    if unknown:
        close = difflib.get_close_matches(unknown[0], taxonomy.slugs, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"unknown topic {unknown[0]!r}{hint}; topics: {', '.join(taxonomy.slugs)}")
    try:
        edition = Edition(channel=request.channel, time=request.at, timezone=request.timezone,
                          topics=request.topics, format=request.format)
    except ValidationError as exc:
        raise ConfigError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    start, end = edition.window(request.day)
    items, errors = read_compose_items(settings, taxonomy, lines, end)
    window = in_window(items, start, end)
    writer = build_writer(settings, taxonomy)
    target = BriefingRequest(channel=edition.channel, day=request.day, timezone=edition.timezone,
                             format=edition.format, topics=edition.topics, include_backfill=request.include_backfill)
    briefing = asyncio.run(writer.write(window, target, baseline_of(items, start)))
    return ComposeResult(briefing, errors, len(window), sum(i.backfill for i in window),
                         sum(i.about_ai is False for i in window))


def train_model(settings: Settings, out: Path | None, extra: list[Path], relevance_out: Path | None = None,
                relevance_extra: Sequence[Path] = ()) -> str:
    """`ai-news train`: fit the topic model on the bundled labeled set (plus any extra files) and the about-AI
    model on its labeled feed items (plus any extra files), and save both."""
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    mine = []
    for path in extra:
        for number, example in enumerate(_read_examples([path]), start=1):
            unknown = [t for t in example.topics if taxonomy.get(t) is None]
            if unknown:
                raise ConfigError(f"{path}: example {number} ({example.title[:60]!r}): topic {unknown[0]!r} is not in "
                                  f"{settings.config_file('topics.yaml')} (topics: {', '.join(taxonomy.slugs)}); "
                                  f"add it there first, or fix the example")
            mine.append(example)
    examples = bundled_examples() + mine
    # Every input is read before anything is written: a bad file leaves both shipped models as they were.
    relevance_examples = bundled_relevance_examples() + _read_relevance_examples(relevance_extra)
    started = time.perf_counter()
    model = train(examples, taxonomy.slugs)
    seconds = time.perf_counter() - started
    target = out or Path(__file__).resolve().parent / "data" / MODEL_FILE
    _save(model.save, target)
    lines = [f"topics: trained on {len(examples)} examples, {len(model.classes)} topics, {len(model.terms)} terms "
             f"in {seconds:.2f} s; data digest {model.digest}; saved to {target}"]
    extractor = EntityExtractor(load_gazetteer(settings.config_file("entities.yaml")))
    started = time.perf_counter()
    relevance, evaluation = train_relevance(extractor, relevance_examples)
    seconds = time.perf_counter() - started
    relevance_target = relevance_out or Path(__file__).resolve().parent / "data" / RELEVANCE_FILE
    _save(relevance.save, relevance_target)
    lines.append(f"about AI: trained on {len(relevance_examples)} examples in {seconds:.2f} s; threshold "
                 f"{relevance.threshold:.2f} (cross-validated precision {evaluation.precision:.3f}, recall "
                 f"{evaluation.recall:.3f}); data digest {relevance.digest}; saved to {relevance_target}")
    if relevance_out is None:  # the composer reads the shipped list only
        common = common_words(e.title for e in relevance_examples)
        common_target = Path(__file__).resolve().parent / "data" / COMMON_FILE
        _save(lambda target: save_common_words(common, target), common_target)
        lines.append(f"common headline words: {len(common)}, each in more than one in {round(1 / COMMON_SHARE)} of the "
                     f"{len(relevance_examples)} headlines; saved to {common_target}")
    return "\n".join(lines)


def _save(save: Callable[[Path], None], target: Path) -> None:
    try:
        save(target)
    except OSError as exc:
        raise ConfigError(f"cannot write the model to {target}: {exc.strerror or exc}; give a writable path "
                          f"(the folder must exist)") from None


def _read_relevance_examples(paths: Sequence[Path]) -> list[RelevanceExample]:
    files = []
    for path in paths:
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read about-AI examples: {exc}") from None
    return load_relevance_examples(files)


def _read_examples(paths: list[Path]) -> list:  # type: ignore[type-arg]
    files = []
    for path in paths:
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read labeled examples: {exc}") from None
    return load_examples(files)


def evaluation_report(settings: Settings, folds: int, holdout: Path | None = None) -> str:
    """Cross-validation on the labeled set; with `holdout`, also the scores on headlines it never saw."""
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    examples = bundled_examples()
    smallest = min(sum(e.topics[0] == slug for e in examples) for slug in taxonomy.slugs
                   if any(e.topics[0] == slug for e in examples))
    if folds > smallest:
        raise ConfigError(f"--folds {folds}: at most {smallest} (the smallest topic has {smallest} labeled "
                          f"examples, and each fold needs one of each)")
    report = evaluate(taxonomy, examples, folds=folds).report()
    extractor = EntityExtractor(load_gazetteer(settings.config_file("entities.yaml")))
    report += "\n\n" + evaluate_relevance(extractor, bundled_relevance_examples(), folds=folds).report()
    if holdout is not None:
        unseen = _read_examples([holdout])
        report += "\n\n" + evaluate_holdout(taxonomy, examples, unseen).report()
    return report


@dataclass(frozen=True)
class ClassifyBench:
    count: int
    distinct: int
    repeats: int
    wholes: list[float]  # seconds of each whole `ai-news classify` process
    bares: list[float]  # seconds of each bare transform + predict
    cpus: list[float]  # CPU seconds of each whole process and its workers

    @property
    def rate(self) -> float:
        return self.count / statistics.median(self.wholes)

    @property
    def bare_rate(self) -> float:
        return self.count / statistics.median(self.bares)

    def report(self) -> str:
        count, wholes, cpus = self.count, self.wholes, self.cpus
        whole, bare = statistics.median(wholes), statistics.median(self.bares)
        return "\n".join([
            f"{count} lines from the labeled set ({self.distinct} distinct); medians of {self.repeats} interleaved "
            f"runs on {os.cpu_count()} cores",
            f"ai-news classify, whole process (start, model, topics, entities, importance, stories, JSON in and out): "
            f"{whole:.2f} s = {count / whole:,.0f} items/s (runs: {', '.join(f'{w:.2f}' for w in wholes)} s)",
            f"CPU time of that process and its workers: {statistics.median(cpus):.2f} s (a time-shared host's "
            f"stolen cycles inflate the wall clock, not this)",
            f"bare TfidfVectorizer.transform + LinearSVC.predict on the same texts (in-process, after import and fit): "
            f"{bare:.2f} s = {count / bare:,.0f} items/s",
            f"ratio: {bare / whole:.2f} (whole process / bare predict, in items/s)",
        ])


def bench_classify(settings: Settings, count: int, repeats: int = 3) -> ClassifyBench:
    """The whole `ai-news classify` process on `count` lines, against the bare vectorizer and model predict
    (scikit-learn's TfidfVectorizer.transform and LinearSVC.predict) on the same texts, in the same run.
    Both are repeated, interleaved, and the medians reported: this machine's speed varies from run to run."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    from bot.classify import MIN_DF, NGRAMS, training_data

    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    examples = bundled_examples()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = []
    for n in range(count):
        example = examples[n % len(examples)]
        lines.append(json.dumps({
            "title": example.title, "summary": example.summary, "source": f"source-{n % 40}",
            "url": f"https://news.example.com/{n}", "published": (start + timedelta(minutes=n)).isoformat(),
        }))
    data = training_data(examples, taxonomy.slugs)
    vectorizer = TfidfVectorizer(ngram_range=(1, NGRAMS), min_df=MIN_DF, sublinear_tf=True, strip_accents="unicode")
    model = LinearSVC(C=1.0, class_weight="balanced", random_state=0).fit(
        vectorizer.fit_transform(data.texts), data.labels, sample_weight=data.weights)
    same = [example_text(examples[n % len(examples)].title, examples[n % len(examples)].summary)
            for n in range(count)]
    wholes, bares, cpus = [], [], []
    with tempfile.TemporaryDirectory(prefix="ai-news-bench-") as folder:
        path = Path(folder) / "lines.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = {**os.environ, "AINEWS_CONFIG_DIR": str(settings.ainews_config_dir.resolve())}
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "bot.cli", "classify", str(path)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
            wholes.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                raise RuntimeError(f"ai-news classify failed: {done.stderr.decode(errors='replace')[-500:]}")
            started = time.perf_counter()
            model.predict(vectorizer.transform(same))
            bares.append(time.perf_counter() - started)
    return ClassifyBench(count, len(examples), repeats, wholes, bares, cpus)


def title_key(title: str) -> str:
    return " ".join(title.casefold().split())


def common_words_without(titles: set[str]) -> frozenset[str]:
    """The common headline words of the bundled labeled sets less the examples whose title is one of `titles`."""
    return common_words(e.title for e in bundled_relevance_examples() if title_key(e.title) not in titles)


def enricher_without(settings: Settings, taxonomy: Taxonomy, titles: set[str]) -> Enricher:
    """Both models trained on the bundled labeled sets less the examples whose title is one of `titles`."""
    extractor = EntityExtractor(load_gazetteer(settings.config_file("entities.yaml")))
    topics = train([e for e in bundled_examples() if title_key(e.title) not in titles], taxonomy.slugs)
    relevance, _ = train_relevance(
        extractor, [e for e in bundled_relevance_examples() if title_key(e.title) not in titles])
    return Enricher(TopicClassifier(taxonomy, topics), extractor, relevance)


def evaluate_briefings(settings: Settings, folder: Path, *, details: bool = False,
                       leave_day_out: bool = False) -> str:
    """`ai-news eval --briefing DIR`: compose each labeled day of the folder and score it against its labels.
    With `leave_day_out`, each day is classified by models trained without that day's entries (the labeled sets
    hold the AI entries of the tuning days): figures for days the models did not see. With LLM_BASE_URL and
    LLM_MODEL set, each day is written as the composer writes it, the LLM analyst deciding what it may (about AI,
    section, summary, bullets): figures for that model."""
    from bot.briefing.compose import ComposeOptions, baseline_of, compose, in_window, plan_stories
    from bot.briefing.evaluate import read_days, report, score_day
    from bot.briefing.writer import BriefingRequest, build_writer
    from bot.editions import Edition

    days = read_days(folder)
    taxonomy = load_taxonomy(settings.config_file("topics.yaml"))
    gazetteer = load_gazetteer(settings.config_file("entities.yaml"))
    rows = [row for day_rows in days.values() for row in day_rows]
    lines = [json.dumps({k: v for k, v in row.items() if k in ("title", "summary", "url", "source", "published")})
             for row in rows]
    latest = max(datetime.fromisoformat(str(r["published"]).replace("Z", "+00:00")) for r in rows)
    items, errors = read_compose_items(settings, taxonomy, lines, latest)
    if errors:
        raise ConfigError(f"{folder}: {len(errors)} entries are not items, e.g. {errors[0]}")
    writer = build_writer(settings, taxonomy) if settings.llm_base_url else None
    analysed = []
    scores = []
    for day, day_rows in days.items():
        common = None
        if leave_day_out:
            left_out = {title_key(str(r["title"])) for r in day_rows}
            enricher = enricher_without(settings, taxonomy, left_out)
            items, _ = read_compose_items(settings, taxonomy, lines, latest, enricher)
            common = common_words_without(left_out)
        edition = Edition(channel="console:eval", time="06:00", timezone="UTC")
        start, end = edition.window(date.fromisoformat(day))
        options = ComposeOptions(makers=gazetteer.makers, publishers=gazetteer.publishers,
                                 baseline=baseline_of(items, start), common_words=common)
        window = in_window(items, start, end)
        plan = plan_stories(window, options)
        if writer is not None and writer.analyst is not None:
            request = BriefingRequest(channel=edition.channel, day=date.fromisoformat(day), timezone="UTC")
            briefing = asyncio.run(writer.write(window, request, options.baseline))
            if writer.last_report is not None:
                analysed.append(f"{day}: {writer.last_report.describe()}")
        else:
            briefing = compose(window, taxonomy, channel=edition.channel, day=date.fromisoformat(day),
                               options=options, plan=plan)
        urls = {d.story_id: [i.url for i in d.items] for d in plan}
        stories = [(section.topic, story.title, story.summary, story.why_it_matters, urls.get(story.story_id, []))
                   for section in briefing.sections for story in section.stories]
        scores.append(score_day(day, day_rows, stories))
    heading = "leave-one-day-out: each day classified by models trained without its entries\n" if leave_day_out \
        else ""
    if writer is not None and writer.analyst is not None:
        heading += (f"with the LLM analyst (model {writer.analyst.model} at {writer.analyst.endpoint_for_logs}); "
                    "each answer checked against its sources, the offline text kept where one fails\n"
                    + "".join(f"  {line}\n" for line in analysed))
    return heading + report(scores, details=details)
