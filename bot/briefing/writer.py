"""Writes one edition's briefing from its window's items: the offline composition, with the LLM analyst upstream
when one is configured. Used by the composer role, `ai-news post` and `ai-news compose`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from bot.briefing.compose import ComposeOptions, compose, plan_stories
from bot.briefing.synthesis import Baseline
from bot.editions import BriefingFormat
from bot.entities import load_gazetteer
from bot.models import Briefing, ClassifiedItem
from bot.settings import Settings
from bot.taxonomy import Taxonomy

if TYPE_CHECKING:  # the models (numpy, the classifier) load only when an item needs the about-AI decision, the
    # analyst's module only when an LLM is configured
    from bot.briefing.analyst import Analyst, AnalystReport
    from bot.enrich import Enricher

log = logging.getLogger(__name__)

# Items archived before the about-AI decision existed get it here, on the way into a briefing.
Decide = Callable[[Sequence[ClassifiedItem]], list[ClassifiedItem]]


@dataclass(frozen=True)
class BriefingRequest:
    """What a briefing is written for."""

    channel: str
    day: date
    timezone: str = "UTC"
    format: BriefingFormat = "full"
    topics: tuple[str, ...] = ()
    include_backfill: bool = False


class BriefingWriter:
    def __init__(self, taxonomy: Taxonomy, *, makers: Mapping[str, str] | None = None,
                 publishers: Mapping[str, str] | None = None, decide: Decide | None = None,
                 analyst: Analyst | None = None) -> None:
        self.taxonomy = taxonomy
        self.makers = dict(makers or {})
        self.publishers = dict(publishers or {})
        self.decide = decide
        self.analyst = analyst if analyst is not None and analyst.enabled else None
        self.last_report: AnalystReport | None = None

    def options(self, edition: BriefingRequest, baseline: Baseline | None) -> ComposeOptions:
        return ComposeOptions(format=edition.format, topics=edition.topics, makers=self.makers,
                              publishers=self.publishers, baseline=baseline,
                              include_backfill=edition.include_backfill)

    def decided(self, items: Sequence[ClassifiedItem]) -> list[ClassifiedItem]:
        undecided = [i for i in items if i.about_ai is None]
        if not undecided or self.decide is None:
            return list(items)
        decided = {i.id: i for i in self.decide(undecided)}
        return [decided.get(i.id, i) if i.about_ai is None else i for i in items]

    async def write(self, items: Sequence[ClassifiedItem], edition: BriefingRequest,
                    baseline: Baseline | None = None) -> Briefing:
        items = self.decided(items)
        options = self.options(edition, baseline)
        plan = plan_stories(items, options)
        if self.analyst is None:
            return compose(items, self.taxonomy, channel=edition.channel, day=edition.day,
                           timezone=edition.timezone, options=options, plan=plan)
        from bot.briefing.analyst import AnalystReport

        started = time.monotonic()
        report = AnalystReport(enabled=True)
        budget = self.analyst.budget()
        analyses = await self.analyst.analyze(plan, self.taxonomy, budget, report)
        options = replace(options, analyses=analyses)
        briefing = compose(items, self.taxonomy, channel=edition.channel, day=edition.day,
                           timezone=edition.timezone, options=options, plan=plan)
        texts = {d.story_id: d.text() for d in plan}
        briefing = await self.analyst.synthesize(briefing, texts, budget, report)
        report.elapsed = time.monotonic() - started
        self.last_report = report
        log.info("%s (model %s at %s)", report.describe(), self.analyst.model, self.analyst.endpoint_for_logs)
        return briefing


def build_writer(settings: Settings, taxonomy: Taxonomy, enricher: Enricher | None = None) -> BriefingWriter:
    """The briefing writer: the gazetteer's names, the about-AI decision for items archived without one, and the
    LLM analyst when LLM_BASE_URL and LLM_MODEL are set. The classifier's modules and models are imported and
    loaded only when an item needs the decision (archived items carry it), so composing from the archive
    needs neither numpy nor the models."""
    gazetteer = load_gazetteer(settings.config_file("entities.yaml"))
    loaded = [enricher] if enricher is not None else []

    def decide(items: Sequence[ClassifiedItem]) -> list[ClassifiedItem]:
        if not loaded:
            from bot.offline import build_enricher

            loaded.append(build_enricher(settings, taxonomy))
        deciding = loaded[0]
        found = [deciding.extractor.extract(f"{i.title}. {i.summary}") for i in items]
        decisions = deciding.decide_ai([(i.title, i.summary) for i in items], found)
        return [i.model_copy(update={"about_ai": d.about_ai, "ai_score": d.score})
                for i, d in zip(items, decisions, strict=True)]

    analyst = None
    if settings.llm_base_url:  # with no endpoint there is no analyst
        from bot.briefing.analyst import Analyst

        analyst = Analyst.from_settings(settings)
    return BriefingWriter(taxonomy, makers=gazetteer.makers, publishers=gazetteer.publishers, decide=decide,
                          analyst=analyst if analyst is not None and analyst.enabled else None)
