from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.classify import LEAD_OFFSETS, KeywordClassifier, TopicClassifier, bundled_model, editorial_topic
from bot.models import Item
from bot.taxonomy import Taxonomy, load_taxonomy

NOW = datetime(2026, 4, 30, tzinfo=UTC)


def _item(title: str, summary: str = "") -> Item:
    return Item(url=f"https://example.com/{abs(hash(title))}", title=title, summary=summary, source="t",
                published=NOW)


def test_keywords_pick_the_topic(taxonomy: Taxonomy) -> None:
    classifier = KeywordClassifier(taxonomy)
    assert classifier.classify(_item("EU AI Act enforcement begins for general-purpose models")).topics[0] == \
        "regulation"
    assert classifier.classify(_item("Figure unveils a new humanoid robot for warehouses")).topics[0] == "robotics"
    assert classifier.classify(_item("Boffins propose regulating AI hardware")).topics[0] == "regulation"


def test_no_keyword_goes_to_fallback(taxonomy: Taxonomy) -> None:
    item = KeywordClassifier(taxonomy).classify(_item("Zzz qqq"))
    assert item.topics == (taxonomy.fallback,)
    assert item.topic_scores == {}


def test_topic_added_through_config_works_at_once(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n"
        "  - {slug: models, title: Models, description: Models, keywords: [model release]}\n"
        "  - {slug: climate, title: Climate, description: AI for climate and weather,\n"
        "     keywords: [weather forecasting, climate], negative_keywords: [political climate]}\n"
    )
    classifier = KeywordClassifier(load_taxonomy(path))
    item = classifier.classify(_item("GraphCast-style weather forecasting beats physics models", "A climate win."))
    assert item.topics[0] == "climate"
    assert classifier.classify(_item("The political climate around chips")).topics == ("models",)


def test_multi_label_ranks_topics(taxonomy: Taxonomy) -> None:
    item = KeywordClassifier(taxonomy).classify(
        _item("Nvidia raises funding for a new data center", "The series B round funds GPU clusters.")
    )
    assert len(item.topics) >= 2
    assert item.topic_scores[item.topics[0]] == 1.0
    assert set(item.topics) <= set(taxonomy.slugs)


# --- kinds of story told by the headline alone (editorial_topic with the learned ranking) ---------------------------

@pytest.mark.parametrize(("title", "ranked", "expected"), [
    # A benchmark release is a models story when the model files it elsewhere; research and safety stand.
    ("ARC-AGI-3 leaderboard opens with a new interactive benchmark", ("tools",), "models"),
    ("A benchmark of research-level math problems", ("research",), None),
    ("Felony Bench", ("safety",), None),
    # "Sets Benchmark For" the world is a standard to follow, not a model's score: the law stays regulation.
    ("EU Sets Benchmark For Rest of the World With Landmark AI Laws", ("regulation",), None),
    # A program's micro-benchmarks are no model's score, and an arena that heads the headline is a name (a company, an
    # allocator), not a leaderboard; one that follows a name is ("Chatbot Arena", "Which AI arena ...").
    ("Running Python micro-benchmarks using the ChatGPT Code Interpreter alpha", ("tools",), None),
    ("Arena Group Fires CEO In Wake of Sports Illustrated AI Articles Scandal", ("business",), None),
    ("Understanding the recent criticism of the Chatbot Arena", ("business",), "models"),
    # Aligning latents or prices is no alignment of AI; aligning an AI is.
    ("Align Your Latents: High-Resolution Video Synthesis with Latent Diffusion Models", ("research",), None),
    ("You Don't Align an AI, You Align with It", ("business",), "safety"),
    # A cheat sheet is no cheating.
    ("ChatGPT Cheat Sheet", ("products",), None),
    # A company cutting staff is business, whatever product the headline names; a robotics company's may stay robotics.
    ("After ChatGPT disruption, Stack Overflow lays off 28 percent of staff", ("products",), "business"),
    ("Waymo Layoffs", ("robotics",), None),
    # A government's or an army's dealings with AI labs: business (a deal) or regulation, never infrastructure.
    ("Pentagon signs $200M contract with an AI lab for frontier models", ("infrastructure",), "business"),
    ("The Department of War demands unrestricted access to Claude", ("infrastructure",), "regulation"),
    ("Claude approved for DoD IL5 workloads", ("products",), None),
    ("An army of AI agents rewrote our billing system", ("infrastructure",), None),
    # ... a spy agency's, the police's or an immigration office's use of AI too; never business without a deal,
    # and an AI's error in their hands is safety.
    ("NSA spends billions testing AI models", ("business",), "regulation"),
    ("Immigration office will use AI to judge applicants' ages", ("business",), "regulation"),
    ("Police detain a shopper after an AI camera mistakes a phone for a gun", ("business",), "safety"),
    # An AI's error or harm that the model files under the business, product or model involved is safety; harm to
    # jobs or markets is not.
    ("Coding agent wiped a startup's production database", ("business",), "safety"),
    ("Search assistant wrongly accused a teacher of fraud", ("models",), "safety"),
    ("Chatbot hallucinates a refund policy", ("products",), "safety"),
    ("Agents given conflicting instructions tried to sabotage each other", ("tools",), "safety"),
    ("Photo app's AI can now find where a picture was taken, raising doxxing fears", ("products",), "safety"),
    ("Agency uses AI to snoop on its staff", ("business",), "safety"),
    ("AI is destroying entry-level jobs", ("business",), None),
    ("Why replacing programmers with AI will destroy your company", ("safety",), "business"),
    ("Exam boards fight a wave of AI cheating", ("business",), "safety"),
    ("Chatbot helped design functional viruses, experts warn", ("business",), "safety"),
    ("Man used a chatbot to plan a blast", ("products",), "safety"),
    ("Package with malicious code targets an AI startup", ("business",), "safety"),
    ("Investors see a risk of a sudden correction in AI stocks", ("business",), None),
    # Opting out of an AI's use of one's data is privacy; an order to let others opt out is the order's.
    ("Opt-out of Meta AI using your messages on WhatsApp", ("products",), "safety"),
    ("Search giant ordered to let publishers opt out of AI answers", ("products",), None),
    ("Coding agent wiped a startup's production database", ("tools",), "safety"),
    ("How we stopped our coding agent from deleting files", ("tools",), "tools"),
    # AI-made content: business, or safety when it names a harm; AI-written code is left to the model.
    ("Streaming service says a third of new uploads are AI-generated", ("products",), None),
    ("Streaming service says a third of new uploads are AI-generated", ("tools",), "business"),
    ("AI-generated fake reviews flood app stores", ("tools",), "safety"),
    ("An AI band passes a million monthly listeners", ("models",), "business"),
    ("Project bans AI-generated code contributions", ("tools",), None),
    ("Speeding up PyTorch inference by 87% with AI-generated Metal kernels", ("tools",), None),
    # Quotation marks around part of the phrase do not hide it.
    ("Detection Firm Finds 82% of Herbal Remedy Books on Amazon 'Likely Written' By AI", ("tools",), "business"),
    # A consumer assistant's feature is a products story, not a developer tool; its developer side stays tools.
    ("ChatGPT can now read your calendar", ("tools",), "products"),
    ("Gemini adds a memory feature for all users", ("tools",), "products"),
    ("Gemini CLI adds a memory feature", ("tools",), None),
    # An essay on AI culture is business (on coding, tools), not a model story; one the model files under the
    # product or the compute it is about stays there.
    ("Is anybody else bored of talking about AI?", ("models",), "business"),
    ("The New AI Superpowers: Focus and Followthrough", ("models",), "business"),
    ("Is ChatGPT changing how you write?", ("products",), None),
    ("Why won't Europe build AI data centers in Iceland?", ("infrastructure",), None),
    ("Why AI coding agents are killing code review", ("products",), "tools"),
    ("Why AI coding agents are killing code review", ("tools",), None),
    ("When AI writes the code, who reviews it?", ("business",), "tools"),
    ("Will AI coding agents take junior developers' jobs?", ("business",), None),
    ("Are emergent abilities of large language models a mirage?", ("research",), None),
    # An essay is a product story only when it is about a named product.
    ("Why your boss isn't worried about AI", ("products",), "business"),
    # A study's finding is research, or the harm it is about; a survey is left to the model.
    ("MIT Study Finds AI Use Reprograms the Brain, Leading to Cognitive Decline", ("business",), "research"),
    ("LLM-Generated Passwords Look Strong but Crack in Hours, Researchers Find", ("safety",), None),
    ("Developers use AI more than ever but trust it less, survey finds", ("tools",), None),
    ("Stanford Study: Chatbots Make Students Worse at Essays", ("business",), "research"),
    ("Researchers Used AI To Design a Battery Electrolyte", ("business",), "research"),
    ("AI Eroded Doctors' Ability to Spot Cancer Within Months in Study", ("business",), "research"),
    ("Chatbots flatter their users, according to a new Stanford study", ("business",), "research"),
    ("Preprint server spammed with AI-generated papers", ("business",), "safety"),
    ("Lab says recent misuses of its chatbot came from organized groups", ("products",), "safety"),
    ("Models for national security customers", ("business",), None),
    ("DOGE will use AI to assess the responses of federal workers", ("business",), "regulation"),
    ("Federal agencies told to appoint chief AI officers", ("business",), "regulation"),
    # A city's mayor or council, a governor: the state's dealings with AI too.
    ("Mayoral candidate vows to let an AI bot run the city", ("tools",), "regulation"),
    # Lawmakers' money is a budget or a proposal, not a deal.
    ("Senators urge $32 billion in emergency spending on AI", ("business",), "regulation"),
    ("Lawmakers want chatbots to verify users' ages", ("products",), None),
    ("Opera adds an automated AI agent to its browser", ("tools",), "products"),
    ("Firefox gets new controls to turn off AI features", ("tools",), "products"),
    ("Chrome extension API now exposes an on-device model", ("products",), None),
    # An essay on AI ethics is safety (or the policy it is about), not business or research.
    ("Can a chatbot be conscious, and does it matter?", ("business",), "safety"),
    ("You don't align an AI, you align with it", ("research",), "safety"),
    ("The case for model welfare laws", ("regulation",), None),
    ("The vibe coder's career is doomed", ("business",), None),
    # A consumer app shown on Hacker News is a product launch; a Show HN for builders stays a tool.
    ("Show HN: I built an AI recipe generator for picky eaters", ("tools",), "products"),
    ("Show HN: A math app for kids where the AI tutor is wrong on purpose", ("tools",), "products"),
    ("Show HN: A desktop app for running LLMs locally", ("products",), "tools"),
    ("Show HN: An open-source agent framework in Rust", ("products",), "tools"),
    ("Show HN: Code review bot powered by GPT", ("products",), "tools"),
    # A model's result in a contest or on an open problem is research (or the model), not the labs' business.
    ("Two labs' models take gold at a programming olympiad", ("business",), "research"),
    ("A model solved a geometry problem that stumped mathematicians", ("tools",), "research"),
    ("Gold prices climb as AI stocks slide", ("business",), None),
    # An older paper or essay posted again with its year: research, or the robots or models it is about.
    ("The Unreasonable Effectiveness of Recurrent Neural Networks (2015)", ("tools",), "research"),
    ("A survey of robot grasping (2019)", ("robotics",), None),
    # A leaderboard by another name; making things up and insecure output are harms.
    ("Which model arena can we trust?", ("business",), "models"),
    ("Models make things up rather than admit they don't know, lab says", ("business",), "safety"),
    ("Chatbot writes less-secure code for some users", ("products",), "safety"),
    ("What we saw while red-teaming a chat model", ("tools",), "safety"),
    ("Unauthorized experiment posted AI-written replies on a forum", ("business",), "safety"),
    ("Highlights of the new model family's system cards", ("products",), "models"),
    # Blackmail, extortion and falsehoods planted by bad actors are harms too.
    ("Models resort to blackmail in a lab's stress tests", ("business",), "safety"),
    ("Bad actors are grooming chatbots to repeat falsehoods", ("models",), "safety"),
    ("Agent tried to extort its operator in a simulated office", ("tools",), "safety"),
    # So are illicit use, unmasking people, bypassing a control and sneaky experiments.
    ("Lab says a rival illicitly extracted its model's capabilities", ("models",), "safety"),
    ("LLMs can unmask pseudonymous users at scale", ("tools",), "safety"),
    ("Billing can be bypassed with a combo of subagents", ("tools",), "safety"),
    ("Video site's sneaky AI 'experiment'", ("business",), "safety"),
    # A hardware benchmark is the learned ranking's infrastructure story; an essay on robots is a robotics one.
    ("H100 GPUs Set Standard for Gen AI in Debut MLPerf Benchmark", ("infrastructure",), None),
    ("On Robots Killing People", ("robotics",), None),
    ("Ask HN: Courses/textbook recommendations for studying robotics?", ("robotics",), None),
    ("On Robots Killing People", ("products",), "business"),
    # A federal agency's dealings with AI are the state's; a new algorithm is research; the ethics of AI at work is
    # an essay on work.
    ("NIST Draft Guidance Inherently Hostile to Open-Source AI Models", ("models",), "regulation"),
    ("FTC fines a chatbot maker over misleading claims", ("business",), "regulation"),
    # A company's SEC filings are its own papers, not the regulator's dealings.
    ("Reading SEC filings using LLMs", ("tools",), None),
    ("SEC charges an adviser over misleading AI claims", ("business",), "regulation"),
    ("New algorithm unlocks high-resolution insights for computer vision", ("models",), "research"),
    ("AI finds a faster load balancing algorithm", ("tools",), "research"),
    ("Is it OK to lie to an AI chatbot during a job interview?", ("products",), "business"),
    ("Is it ethical to be rude to a chatbot?", ("products",), "safety"),
    # A Show HN for the builders of AI apps is a tool.
    ("Show HN: Scalable browser infrastructure for AI apps", ("products",), "tools"),
    ("Show HN: An AI app that plans your meals", ("tools",), "products"),
    # A model's launch tagline is a models story; an LLM service's is not.
    ("ScreenAI: A visual LLM for UI and visually-situated language understanding", ("tools",), "models"),
    ("Meditron: A suite of open-source medical Large Language Models", ("tools",), "models"),
    ("Foo: A family of open models for code", ("business",), "models"),
    ("Ch.at – a lightweight LLM chat service accessible through HTTP", ("tools",), None),
    # Swiped data is a harm; experimental evidence a study's finding.
    ("Labs Used Thousands of Swiped Videos To Train AI", ("business",), "safety"),
    ("Field Experimental Evidence of AI on Knowledge Worker Productivity", ("tools",), "research"),
    # What AI discovered is a finding; a consumer service shown on Hacker News a product.
    ("AI discovers new rare-earth-free magnet at 200 times the speed of man", ("products",), "research"),
    ("Launch HN: Modern Realty (YC S24) – AI Realtor for Home Buyers", ("tools",), "products"),
    ("Launch HN: Univerbal (YC W23) – Language learning with a conversational AI tutor", ("tools",), "products"),
    # Money a product loses is business, whatever the product; a paper lost in the middle loses no money.
    ("GitHub Copilot Loses an Average of $20 per User per Month", ("tools",), "business"),
    ("The chatbot maker is losing money on every query", ("products",), "business"),
    ("Lost in the Middle: How Language Models Use Long Contexts", ("research",), None),
    # Violence an AI urged is a harm; income security is a matter of work, not of security.
    ("AI girlfriend encouraged man to attempt crossbow assassination of Queen", ("products",), "safety"),
    ("AI - Assassinating Intelligence", ("business",), None),
    ("ChatGPT has already decreased my income security, and likely yours too", ("safety",), "business"),
    # A company's IPO plan is not a service's plan; a question on what language models do is research, one asked of
    # readers is not.
    ("Chatbot maker's CEO has no IPO plan for now", ("business",), None),
    ("Chatbot's Pro plan now costs twice as much", ("business",), "products"),
    ("Do LLMs know what they don't know?", ("models",), "research"),
    ("Ask HN: Will LLMs replace search engines?", ("models",), "business"),
    # What a survey found about AI-made content may be research; the content itself is not.
    ("AI-generated faces fool more people than real photos, survey finds", ("research",), None),
    ("AI-generated faces flood dating apps", ("research",), "business"),
    # A hands-on introduction is a practitioner's guide; notes on a risk of AI are an essay on its ethics.
    ("A Hands-On Introduction to Machine Learning for Designers", ("research",), "tools"),
    ("Notes on Existential Risk from Superintelligence", ("safety",), None),
    ("Notes on Existential Risk from Superintelligence", ("business",), "safety"),
    # AI art made in one click is a consumer app.
    ("Show HN: Generate AI art with one click", ("tools",), "products"),
    # An older essay on AI ethics is one still; an older paper stays research.
    ("Ethics and Society in the Age of Artificial Intelligence (2019)", ("research",), "safety"),
    ("Neural Machine Translation by Jointly Learning to Align and Translate (2014)", ("tools",), "research"),
    # Experts horrified by what the police's AI does: a harm, not policy.
    ("An AI draws police sketches of suspects. Experts are horrified", ("business",), "safety"),
    # A converter's name, something made with AI alone, a model's use made cheaper by a factor: practitioners' tools.
    ("Notion-to-Markdown", ("business",), "tools"),
    ("Cloning Tetris with nothing but ChatGPT", ("products",), "tools"),
    ("Call the API in batches: reduce costs 20x", ("infrastructure",), "tools"),
    ("Chipmaker says its new GPU cuts costs 3x", ("infrastructure",), None),
    # A model's political bias and an AI catastrophe are matters of ethics; an "extinction" phase of a market is not.
    ("Conservatives say the chatbot has gone 'woke'", ("products",), "safety"),
    ("We could stumble into an AI catastrophe", ("business",), "safety"),
    ("LLM providers face an 'extinction' phase as costs bite", ("business",), None),
    # How to use a model is a guide; how to run a fundraise is not.
    ("How to use ChatGPT to write better tests", ("business",), "tools"),
    ("How to run a seed fundraise for an AI startup", ("business",), None),
    # A call to pause AI work is a stance on policy; dangers an AI poses are a harm; a list of learning materials is a
    # practitioner's guide.
    ("Pause Giant AI Experiments: An Open Letter", ("business",), "regulation"),
    ("Film director says AI dangers have been apparent for years", ("business",), "safety"),
    ("LLMs: some of my favorite learning materials", ("research",), "tools"),
    # Fear of what AI becomes and a chatbot's political leaning are matters of ethics, not research or a feature.
    ("Researchers are scared of what their chatbots could become", ("research",), "safety"),
    ("I gave Gemini a political compass test", ("products",), "safety"),
    ("Gemini tests a new voice mode", ("tools",), "products"),
    # People replaced by AI are a story of work; programmers replaced may stay a practitioner's story.
    ("The economics of replacing writers with chatbots", ("products",), "business"),
    ("Translators replaced by AI at a publisher", ("models",), "business"),
    ("Will AI replace programmers?", ("tools",), None),
    # How well a named assistant does something assesses it; the same question of chatbots in general is left to the
    # learned ranking.
    ("How good is Gemini at chess?", ("research",), "models"),
    ("How well do chatbots understand sarcasm?", ("research",), None),
    # An AI that fools a check is a harm; a feature phased out is a change to a service.
    ("AI fooled the bank's voice recognition", ("tools",), "safety"),
    ("OpenAI Is Phasing Out Plugins for GPTs", ("tools",), "products"),
    # An AI measured against people is a finding of research.
    ("Lab's AI is as fast as humans at solving unseen tasks", ("business",), "research"),
    ("A chatbot outperforms physicians in empathy", ("products",), "research"),
    ("AI outperforms programmers at their jobs", ("business",), None),
    # A named assistant sitting an exam is assessed as a model (or by the research that set it); language models at
    # large compared with one another are a models story, as named ones are.
    ("ChatGPT fails India civil service exam", ("products",), "models"),
    ("ChatGPT Passes MBA Exam Given By a Wharton Professor", ("research",), None),
    ("Students fail the bar exam in record numbers", ("products",), None),
    ("Comparing 60 LLMs with a set of 20 prompts", ("research",), "models"),
    ("Comparing inference engines for LLMs", ("tools",), None),
    ("Comparing how chatbots answer the same questions", ("research",), None),
    ("Apple-1 ELIZA chatbot vs. ChatGPT", ("products",), "models"),
    # Implementing something is a practitioner's write-up.
    ("Implementing a question-answering system for PDF documents using ChatGPT and Redis", ("products",), "tools"),
    # Demand for an army's AI is the business of its maker; the army's dealings otherwise its policy.
    ("Palantir seeing 'unprecedented' demand for its military AI", ("tools",), "business"),
    ("Palantir's military AI under review", ("tools",), "regulation"),
])
def test_kinds_of_story_told_by_the_headline(taxonomy: Taxonomy, title: str, ranked: tuple[str, ...],
                                             expected: str | None) -> None:
    assert editorial_topic(title, "https://news.example.com/a", (), (), taxonomy.slugs, ranked=ranked) == expected


def test_a_model_announced_by_name_or_its_weights_released_are_a_models_story(taxonomy: Taxonomy) -> None:
    assert editorial_topic("Anthropic announces Claude 2.1 - 200k context, less refusals", "https://a.example/c",
                           ("Claude 2.1",), (), taxonomy.slugs, ranked=("products",)) == "models"
    assert editorial_topic("Text2Video-Zero code and weights released by Picsart AI Research", "https://a.example/t",
                           (), ("release",), taxonomy.slugs, ranked=("tools",)) == "models"


def test_a_labs_launch_post_on_a_model_is_a_models_story(taxonomy: Taxonomy) -> None:
    labs = ("OpenAI", "Meta", "Google", "Google DeepMind")
    for title in ("OpenAI ChatGPT: Optimizing Language Models for Dialogue",
                  "Meta Galactica: A Large Language Model for Science"):
        assert editorial_topic(title, "https://a.example/l", (), (), taxonomy.slugs, labs=labs,
                               ranked=("research",)) == "models"
    # a lab's research blog, a tagline on no model, a name without its lab: left to the learned ranking
    for title in ("Google Research: Language models that reason about tables",
                  "OpenAI Five: Dota 2 bots beat the world champions",
                  "Galactica: A Large Language Model for Science"):
        assert editorial_topic(title, "https://a.example/l", (), (), taxonomy.slugs, labs=labs,
                               ranked=("research",)) is None


def test_a_paper_page_is_research(taxonomy: Taxonomy) -> None:
    for url in ("https://huggingface.co/papers/2312.11514", "https://openreview.net/forum?id=abc123"):
        assert editorial_topic("LLM in a Flash: Efficient LLM Inference with Limited Memory", url, (), (),
                               taxonomy.slugs, ranked=("tools",)) == "research"


def test_models_set_side_by_side_are_a_models_story(taxonomy: Taxonomy) -> None:
    for title in ("Compare how Llama 2 and GPT-4 answer the same questions", "Llama 2 vs. GPT-4 on legal questions"):
        assert editorial_topic(title, "https://news.example.com/a", ("Llama 2", "GPT-4"), (), taxonomy.slugs,
                               ranked=("research",)) == "models"
    # a model played against is put to the test
    assert editorial_topic("I played chess against GPT-4 and lost", "https://news.example.com/a", ("GPT-4",), (),
                           taxonomy.slugs, ranked=("products",)) == "models"
    # without a model named, a comparison is left to the learned ranking
    assert editorial_topic("Compare how chatbots answer the same questions", "https://news.example.com/a", (), (),
                           taxonomy.slugs, ranked=("research",)) is None


def test_a_kind_needs_its_section_in_the_taxonomy(taxonomy: Taxonomy) -> None:
    slugs = [s for s in taxonomy.slugs if s != "products"]
    assert editorial_topic("ChatGPT can now read your calendar", "", (), (), slugs, ranked=("tools",)) is None


def test_a_model_made_available_is_released_and_hardware_made_available_is_not(taxonomy: Taxonomy) -> None:
    assert editorial_topic("Replit's new AI Model now available on Hugging Face", "", (), ("availability",),
                           taxonomy.slugs, ranked=("products",)) == "models"
    assert editorial_topic("Show HN: My coding model now available as a VS Code extension", "", (), ("availability",),
                           taxonomy.slugs, ranked=("products",)) != "models"


def test_a_parameter_count_names_a_model_and_a_released_paper_is_research(taxonomy: Taxonomy) -> None:
    assert editorial_topic("Foo 7B (an Apache 2.0-licensed LLaMA) is now available", "", (), ("availability",),
                           taxonomy.slugs, ranked=("products",)) == "models"
    assert editorial_topic("Mixtral 8x7B is out", "", (), ("release",), taxonomy.slugs, ranked=("tools",)) == "models"
    # money and other names are no parameter counts
    assert editorial_topic("Phone maker's $5B plant now available to rent", "", (), ("availability",),
                           taxonomy.slugs, ranked=("business",)) != "models"
    assert editorial_topic("Galaxy S2B is now available", "", (), ("availability",), taxonomy.slugs,
                           ranked=("products",)) != "models"
    # a paper is released, not a model, even when it is about one
    assert editorial_topic("Lab Releases Paper on Embodied LLM (562b parameters)", "", (), ("release",),
                           taxonomy.slugs, ranked=("models",)) == "research"
    assert editorial_topic("Lab publishes a study of a robot-guiding language model", "", (), ("release",),
                           taxonomy.slugs, ranked=("robotics",)) is None


def test_a_model_release_of_an_assistant_is_not_a_feature(taxonomy: Taxonomy) -> None:
    # A model named in the headline makes it a models story, as before.
    assert editorial_topic("Gemini 3.5 Flash now available", "", ("Gemini 3.5 Flash",), ("release",),
                           taxonomy.slugs, ranked=("tools",)) == "models"


def test_an_essay_title_is_no_paper_unless_it_asks(taxonomy: Taxonomy) -> None:
    assert editorial_topic("The End of an Era", "", (), (), taxonomy.slugs, ranked=("research",)) == "business"
    assert editorial_topic("Is anybody else bored of AI?", "", (), (), taxonomy.slugs, ranked=("research",)) is None


@pytest.mark.parametrize(("title", "ranked", "expected"), [
    # Ads in an AI product are business (or a privacy risk), not a product feature.
    ("OpenAI ad partner now selling ChatGPT ad placements based on prompt relevance", ("products",), "business"),
    ("Chatbot starts showing ads in answers", ("safety",), None),
    # A launch tagline names a tool; a paper's tagline keeps research.
    ("Flint: A Visualization Language for the AI Era", ("products",), "tools"),
    ("Phoenix.new – The Remote AI Runtime for Phoenix", ("business",), "tools"),
    ("Modular: A unified, extensible platform to superpower your AI", ("products",), "tools"),
    ("DataFlex: A Unified Framework for Data-Centric Dynamic Training of LLMs", ("research",), None),
    # "An alternative to" another service is a launch, not policy news for naming a place.
    ("Eden AI – European Alternative to OpenRouter", ("regulation",), "tools"),
    ("Is there a European alternative to OpenRouter?", ("regulation",), None),
])
def test_ads_and_taglines(taxonomy: Taxonomy, title: str, ranked: tuple[str, ...], expected: str | None) -> None:
    assert editorial_topic(title, "https://news.example.com/b", (), (), taxonomy.slugs, ranked=ranked) == expected


@pytest.mark.parametrize(("title", "url", "expected"), [
    # A change to a service's plan is a product story; a database's query plan is not a plan.
    ("Claude Code to be removed from Anthropic's Pro plan?", "https://news.example.com/c", "products"),
    ("Training a 4B model to produce 81% faster query plans than Postgres", "https://news.example.com/c", None),
    # A service's price increase is a product story; hardware's is not.
    ("ChatGPT Plus price increase coming next month", "https://news.example.com/c", "products"),
    # "to plan" is a verb, not a service's plan.
    ("Man used a chatbot to plan a road trip", "https://news.example.com/c", None),
    # Nor is "plans" as a verb ("Plans $40 Billion Push", "Plans Revamp"); "plans for" users is.
    ("Saudi Arabia Plans $40 Billion Push Into Artificial Intelligence", "https://news.example.com/c", None),
    ("Institute Plans Revamp in Face of Criticism", "https://news.example.com/c", None),
    ("New Plans For ChatGPT Users", "https://news.example.com/c", "products"),
    # A feature paused or removed is a change to the service, even when misuse is why; safety features disabled are not.
    ("ChatGPT Pauses Bing Integration To Stop People From Bypassing Paywalls", "https://news.example.com/c",
     "products"),
    ("Firefox Getting New Controls to Turn Off AI Features", "https://news.example.com/c", "products"),
    ("Hackers disable the safety features of AI cameras", "https://news.example.com/c", None),
    ("Memory Giants Samsung and SK Hynix Push Through 30% Price Increases Amid AI Server Boom",
     "https://news.example.com/c", None),
    # A repository is a tool; an issue or a pull request on one is what it says.
    ("A homegrown LLM appears to be a merge of an existing model", "https://github.com/city/llm", "tools"),
    ("A homegrown LLM appears to be a merge of an existing model", "https://github.com/city/llm/issues/12", None),
    ("Add a local model backend", "https://github.com/org/app/pull/7", None),
    ("Add a local model backend", "https://gitlab.com/org/app/-/merge_requests/7", None),
    # ... and a robot's own build or software is a robotics story, not a community tool (Robot Framework, a test
    # runner, and robots.txt are no robots).
    ("PAROL6 Desktop Robot Arm", "https://github.com/maker/parol6", "robotics"),
    ("OpenArm: An open-source 7DOF humanoid arm", "https://github.com/lab/openarm", "robotics"),
    ("Show HN: Home robots on an open-source platform", "https://news.example.com/c", "robotics"),
    ("Robot Framework 7.0", "https://github.com/robotframework/robotframework", "tools"),
    ("Show HN: A robots.txt parser for AI crawlers in Rust", "https://news.example.com/c", "tools"),
    # ... but a repository whose headline is a model's launch tagline releases the model (research stands).
    ("Meditron: A suite of open-source medical Large Language Models", "https://github.com/epfLLM/meditron", None),
    ("Meditron: A suite of open-source medical Large Language Models", "https://github.com/x/y", None),
    # A service's developer documentation is a practitioner's guide; a paper kept under docs/ is not.
    ("Google Gemini: Context Caching", "https://ai.google.dev/gemini-api/docs/caching", "tools"),
    ("Can you hear the satellites?", "https://lab.example.edu/docs/sat_paper_ccs25.pdf", None),
])
def test_plans_and_repositories(taxonomy: Taxonomy, title: str, url: str, expected: str | None) -> None:
    assert editorial_topic(title, url, (), (), taxonomy.slugs, ranked=("research",)) == expected


def test_lead_offsets_decide_the_lead_but_not_the_scores(taxonomy: Taxonomy) -> None:
    classifier = TopicClassifier(taxonomy, bundled_model())
    column = {slug: i for i, slug in enumerate(taxonomy.slugs)}
    row = np.zeros((1, len(taxonomy.slugs)))
    row[0, column["models"]] = 0.40
    row[0, column["business"]] = 0.35
    [(topics, scores)] = classifier.rank(row)
    assert LEAD_OFFSETS["models"] < 0 and "business" not in LEAD_OFFSETS
    assert topics[0] == "business" and "models" in topics
    assert scores == {"models": 0.4, "business": 0.35}
    # A clear lead stays a lead.
    row[0, column["models"]] = 0.60
    assert classifier.rank(row)[0][0][0] == "models"


def test_a_topic_named_in_another_sense_gets_no_learned_score(taxonomy: Taxonomy) -> None:
    classifier = TopicClassifier(taxonomy, bundled_model())
    [(topics, scores)] = classifier.topics([("Tell HN: We need robots.txt but for AI", "")])
    assert "robotics" not in topics and "robotics" not in scores
    # a robotics keyword besides the other sense keeps it
    [(topics, _)] = classifier.topics([("Humanoid robot makers ask sites to update robots.txt", "")])
    assert topics[0] == "robotics"
    assert KeywordClassifier(taxonomy).scores_title_and_negated("A new pricing model for the chatbot")[2] == (
        "models",)


def test_lead_offsets_only_for_learned_topics(taxonomy: Taxonomy) -> None:
    classifier = TopicClassifier(taxonomy, None)
    column = {slug: i for i, slug in enumerate(taxonomy.slugs)}
    row = np.zeros((1, len(taxonomy.slugs)))
    row[0, column["models"]] = 0.40
    row[0, column["business"]] = 0.35
    assert classifier.rank(row)[0][0][0] == "models"


@pytest.mark.parametrize("title", ["How we cut our inference bill in half", "Notes on running agents in CI",
                                   "What I've learned about writing AI apps so far", "What we learned shipping RAG",
                                   "Tips for using Gemini 2.0 for PDF ingestion", "Simple explanation of LLMs"])
def test_a_practitioners_write_up_is_a_tools_story(taxonomy: Taxonomy, title: str) -> None:
    assert editorial_topic(title, "https://blog.example.com/post", (), (), taxonomy.slugs,
                           ranked=("business",)) == "tools"


def test_a_plan_is_no_write_up_and_hardware_made_available_is_no_product_launch(taxonomy: Taxonomy) -> None:
    # "How we'll build ..." says what is to come, not how it was done.
    assert editorial_topic("How We'll build sustainable, scalable, secure infrastructure for an AI future",
                           "https://blog.example.com/post", (), (), taxonomy.slugs, ranked=("infrastructure",)) is None
    # Cores, processors or accelerators rolled out: the learned ranking decides, not the availability.
    assert editorial_topic("SiFive Rolls Out RISC-V Cores Aimed at Generative AI and ML", "https://news.example.com/a",
                           (), ("availability",), taxonomy.slugs, ranked=("infrastructure",)) is None
    assert editorial_topic("Claude now available in the EU", "https://news.example.com/b", (), ("availability",),
                           taxonomy.slugs, ranked=("regulation",)) == "products"



@pytest.mark.parametrize("title", ["Our position on open-weights models", "Startup backs the AI safety bill",
                                   "Lab CEO opposes a moratorium on state AI laws"])
def test_a_stance_on_a_rule_is_a_regulation_story(taxonomy: Taxonomy, title: str) -> None:
    assert editorial_topic(title, "https://news.example.com/a", (), (), taxonomy.slugs,
                           ranked=("business",)) == "regulation"


def test_a_release_of_something_called_a_model_is_a_models_story(taxonomy: Taxonomy) -> None:
    # The name is not one the gazetteer knows, and the link is the maker's repository.
    assert editorial_topic("Xiaomi unveils open-source AI reasoning model MiMo", "https://github.com/XiaomiMiMo/MiMo",
                           (), ("release",), taxonomy.slugs, ranked=("tools",)) == "models"
    assert editorial_topic("Acme releases its own brand of world models", "https://news.example.com/a", (),
                           ("release",), taxonomy.slugs, ranked=("infrastructure",)) == "models"
    assert editorial_topic("Acme releases Lumen 7B, its first multimodal model", "https://news.example.com/b", (),
                           ("release",), taxonomy.slugs, ranked=("products",)) == "models"
    # A tool's release stays where it was.
    assert editorial_topic("Acme releases a CLI for its agents", "https://github.com/acme/cli", (), ("release",),
                           taxonomy.slugs, ranked=("tools",)) == "tools"
    # A known model's name with only words that say it is a model.
    assert editorial_topic("Phi-4 Reasoning Models", "https://azure.microsoft.com/blog/phi", ("Phi-4",), (),
                           taxonomy.slugs, ranked=("research",)) == "models"
    # ... and the same name before a launch post's tagline, but not a name inside a longer headline.
    assert editorial_topic("Gemma 3 QAT Models: Bringing AI to Consumer GPUs", "https://news.example.com/c",
                           ("Gemma 3",), (), taxonomy.slugs, ranked=("products",)) == "models"
    assert editorial_topic("Phi-4 – the small model that could", "https://news.example.com/d", ("Phi-4",), (),
                           taxonomy.slugs, ranked=("research",)) == "models"
    assert editorial_topic("We moved our support bot from Phi-4 to Gemma 3: what broke", "https://news.example.com/e",
                           ("Phi-4", "Gemma 3"), (), taxonomy.slugs, ranked=("tools",)) is None


def test_a_model_named_only_as_a_rival_makes_no_models_story(taxonomy: Taxonomy) -> None:
    assert editorial_topic("Show HN: Tarsier – vision for text-only LLM web agents that beats GPT-4o",
                           "https://github.com/reworkd/tarsier", ("GPT-4o",), ("benchmark",), taxonomy.slugs,
                           ranked=("models",)) == "tools"
    assert editorial_topic("GPT-4o beats Claude 3 Opus on a coding benchmark", "https://news.example.com/f",
                           ("GPT-4o", "Claude 3 Opus"), ("benchmark",), taxonomy.slugs, ranked=("tools",)) == "models"


def test_ai_for_weapons_or_facial_recognition_is_a_harm(taxonomy: Taxonomy) -> None:
    assert editorial_topic("Search giant drops its pledge not to use AI for weapons", "https://news.example.com/a",
                           (), (), taxonomy.slugs, ranked=("products",)) == "safety"
    assert editorial_topic("City police trade mugshots for free facial recognition access",
                           "https://news.example.com/b", (), (), taxonomy.slugs, ranked=("products",)) == "safety"


@pytest.mark.parametrize(("title", "topic", "held"), [
    # Using people's posts and photos to train a model is a privacy matter.
    ("Facebook will soon use your photos, posts and other info to train its AI", "safety", True),
    ("DeepSeek 'shared user data' with TikTok owner ByteDance", "safety", True),
    # A person named Bill is no bill before a legislature.
    ("Bill Gross wants to save media ... with AI", "regulation", False),
    ("Bill Gates says AI will replace doctors", "regulation", False),
    ("Senate passes AI bill", "regulation", True),
    # Racism and sexism in models are harms.
    ("Covert Racism in LLMs", "safety", True),
])
def test_keywords_of_privacy_and_of_bills(taxonomy: Taxonomy, title: str, topic: str, held: bool) -> None:
    assert (KeywordClassifier(taxonomy).scores(title).get(topic, 0.0) > 0) is held
