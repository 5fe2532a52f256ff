"""Facts with evidence and roles, publishers, and what an editor strikes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bot.briefing.facts import actor_of, amounts_in, events_in, launches_model
from bot.briefing.publishers import _parts, aggregators_of, publisher_of, site_of
from bot.briefing.quality import boilerplate_summary, filler
from bot.briefing.why import distinct_models, model_key, named_in

MAKERS = {"Qwen": "Alibaba", "DeepSeek": "DeepSeek", "Claude": "Anthropic"}


@pytest.mark.parametrize(("title", "summary", "kind"), [
    ("OpenAI acquires Statsig for $1.1 billion", "", "acquisition"),
    ("Sierra raises $350 million at a $10 billion valuation", "", "funding"),
    ("California enacts SB 53", "", "law"),
    ("The EU AI Act's rules for general-purpose models take effect", "", "law"),
    ("Hackers breached the vendor's database", "", "security"),
    ("Elevated errors for Claude Opus 5", "", "outage"),
    ("Grok 4.6 is now available on Vertex AI", "", "availability"),
    ("Introducing Shieldstral", "", "release"),
    ("Authors sue OpenAI over training data", "", "court"),
    ("Chatbot maker pushed a grieving family into arbitration", "", "court"),
    ("Tutoring company settles with regulators", "", "court"),
    ("It's Now Officially Illegal to Use AI to Impersonate a Human Actor in Hollywood", "", "law"),
    ("The tutoring company settled claims that its software screened out older applicants", "", "court"),
    ("Cognizant and Anthropic expand their partnership", "", "partnership"),
    ("Researcher who co-wrote a landmark paper is leaving the lab", "", "hire"),
    ("Chief scientist quits the startup", "", "hire"),
    ("Three senior researchers have resigned from OpenAI", "", "hire"),
    ("Crypto Botnet on X is Powered by ChatGPT", "", "security"),
])
def test_events_reported_as_done(title: str, summary: str, kind: str) -> None:
    assert [e.kind for e in events_in(title, summary)][:1] == [kind]


@pytest.mark.parametrize("title", [
    "Why OpenAI should acquire Cursor",
    "OpenAI is reportedly in talks to raise $40 billion",
    "What if Apple bought Mistral?",
    "The bill would ban AI companions for minors",
    "Leaked transcript shows what OpenAI told investors",
    "Lawmakers propose a law that would fine deepfake makers",
    "Browser May Soon Use AI To Replace Compromised Passwords",
])
def test_proposals_rumours_and_leaks_of_words_are_no_events(title: str) -> None:
    kinds = [e.kind for e in events_in(title, "")]
    assert not set(kinds) & {"acquisition", "funding", "law", "security", "restriction"}, kinds


@pytest.mark.parametrize("title", ["Engineer leaves a note in the kernel source", "Leaves of a tree, by researchers",
                                   "I resigned myself to using a chatbot"])
def test_leaving_a_thing_behind_is_no_departure(title: str) -> None:
    assert "hire" not in [e.kind for e in events_in(title, "")]


@pytest.mark.parametrize("text", [
    "Is AI reasoning right for the wrong reasons? The science is far from settled.",
    "New Proof Settles Decades-Old Bet About Connected Networks",
])
def test_a_settled_question_is_no_court_case(text: str) -> None:
    assert "court" not in [e.kind for e in events_in(text, "")]


@pytest.mark.parametrize(("title", "models", "launch"), [
    ("Kimi K2.6", ("Kimi K2.6",), True),
    ("Kimi K2.6: The new leading open weights model", ("Kimi K2.6",), True),
    ("Grok 4 Heavy Protects it's System prompt", ("Grok 4",), False),
    ("GPT-5: Overdue, overhyped and underwhelming", ("GPT-5",), False),
    ("Google releases Gemma 4 in four sizes", ("Gemma 4",), True),
    # a model measured against people is a finding about it; against models, its benchmark result
    ("GPT-4 Outperforms Elite Crowdworkers, Saving Researchers $500k", ("GPT-4",), False),
    ("Gemma 4 beats radiologists at reading scans", ("Gemma 4",), False),
    ("Gemma 4 outperforms Llama 3 on every benchmark", ("Gemma 4",), True),
    # announcing a model by its name launches it; a piece on what it does does not
    ("Anthropic announces Claude 2.1 - 200k context, less refusals", ("Claude 2.1",), True),
    ("Claude 2.1 refuses to kill a Python process", ("Claude 2.1",), False),
])
def test_which_headlines_launch_their_model(title: str, models: tuple[str, ...], launch: bool) -> None:
    assert launches_model(title, models, {e.kind for e in events_in(title, "")}) is launch


def test_setting_a_benchmark_for_others_is_no_benchmark_result() -> None:
    assert "benchmark" not in [e.kind for e in events_in(
        "EU Sets Benchmark For Rest of the World With Landmark AI Laws", "")]
    assert "benchmark" in [e.kind for e in events_in(
        "Model X tops the leaderboard and sets a new benchmark for speed", "")]
    # nor is a program's micro-benchmark
    assert "benchmark" not in [e.kind for e in events_in(
        "Running Python micro-benchmarks using the ChatGPT Code Interpreter alpha", "")]


def test_the_month_of_may_is_no_hedge() -> None:
    assert [e.kind for e in events_in("Startup hacked in May, customer data stolen", "")] == ["security"]
    assert [e.kind for e in events_in("Lab Raised $5M In May To Build Agents", "")] == ["funding"]


def test_amounts_carry_their_roles() -> None:
    text = ("Fireworks AI raised $250 million at a $17.5B valuation. The company has $1B in annualized revenue. "
            "It charges $0.90 per million tokens. The EU fined it €2 million. Google paid $2.7 billion in the deal.")
    roles = {a.value: a.role for a in amounts_in(text)}
    assert roles == {"$250 million": "raised", "$17.5B": "valuation", "$1B": "revenue", "$0.90": "price",
                     "€2 million": "fine", "$2.7 billion": "deal"}
    assert [a.role for a in amounts_in("The company has $5 billion.")] == [None]  # unclear: no role


@pytest.mark.parametrize(("title", "summary", "url", "orgs", "actor"), [
    ("German gets $55 million for its AI lab", "", "https://x.test/a", (), None),
    ("Building an agentic software factory", "", "https://x.test/a", (), None),
    ("Now you can run Llama on a phone", "", "https://x.test/a", (), "Llama"),
    ("What we learned from a year of agents", "", "https://x.test/a", (), None),
    ("Sierra raises $350 million", "Sierra, a startup, said so.", "https://x.test/a", (), None),
    ("Sierra raises $350 million", "The round values Sierra at $10 billion.", "https://x.test/a", (), "Sierra"),
    ("Fireworks AI raises $250 million", "", "https://x.test/a", (), "Fireworks AI"),
    ("Sunday Robotics releases ACT-2", "", "https://x.test/a", (), "Sunday Robotics"),
    ("Cursor ships a new agent", "", "https://cursor.com/blog", (), "Cursor"),
    ("Why OpenAI should acquire Cursor", "", "https://x.test/a", ("OpenAI", "Cursor"), "OpenAI"),
    ("Show HN: Reverse Minesweeper", "", "https://sunflowers.test", (), "Reverse Minesweeper"),
    # A Title Case verb ends a name; a status page's domain names its service.
    ("Claude Is Down", "", "https://status.claude.com", (), "Claude"),
    ("Claude Is Down", "", "https://x.test/a", (), None),
    ("Sunday Robotics Has Raised $35M", "", "https://x.test/a", (), "Sunday Robotics"),
])
def test_who_acts_is_a_known_or_recognised_name(title: str, summary: str, url: str, orgs: tuple[str, ...],
                                                actor: str | None) -> None:
    assert actor_of(title, f"{title}. {summary}", url, orgs) == actor


def test_model_names_spelled_alike_are_one_model() -> None:
    assert model_key("Qwen3-Next-80B-A3B") == model_key("Qwen3-Next 80B-A3B")
    assert distinct_models(["Kimi K3", "Kimi-K3", "GPT-5"]) == ("Kimi K3", "GPT-5")
    assert distinct_models(["DeepSeek-V3", "DeepSeek-V3.2-Exp"]) == ("DeepSeek-V3.2-Exp",)
    assert named_in("DeepSeek-V3.2-Exp", "DeepSeek halves prices with its V3.2-Exp model", MAKERS)
    assert not named_in("Qwen2.5-Max", "Alibaba ships Qwen3-Next", MAKERS)


def test_publishers_and_aggregators() -> None:
    assert site_of("https://blog.google/technology/x") == "blog.google"
    assert site_of("https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert site_of("https://github.com/vercel-labs/scriptc") == "github.com/vercel-labs"
    assert site_of("https://danluu.github.io/post") == "danluu.github.io"
    # Spaces named after their kind: the subreddit, not "reddit.com/r".
    assert site_of("https://www.reddit.com/r/LocalLLaMA/comments/abc/x") == "reddit.com/r/localllama"
    assert site_of("https://www.reddit.com/r") == "reddit.com/r"
    assert site_of("https://www.linkedin.com/in/someone") == "linkedin.com/in/someone"
    # A video or a post by id is no author's space: the site publishes it.
    assert site_of("https://www.youtube.com/watch?v=ePsQksj99LM") == "youtube.com"
    assert site_of("https://www.youtube.com/@veritasium/videos") == "youtube.com/@veritasium"
    assert site_of("https://x.com/i/status/1") == "x.com"
    names = {"x.ai": "xAI", "spectrum.ieee.org": "IEEE Spectrum"}
    assert publisher_of("https://x.ai/news/grok", "AI Research Feed", names).name == "xAI"
    assert publisher_of("https://spectrum.ieee.org/a", "IEEE", names).name == "IEEE Spectrum"
    hn = aggregators_of([("Hacker News", "https://a.test/1")])
    assert publisher_of("https://a.test/1", "Hacker News", names, hn).name == "a.test"
    assert publisher_of("https://reuters.test/1", "Reuters", names, hn).name == "Reuters"
    many = aggregators_of([("Digest", f"https://site{n}.test/x") for n in range(3)])
    assert many == frozenset({"Digest"})
    two = aggregators_of([("Digest", "https://a.test/1"), ("Digest", "https://b.test/2"), ("Blog", "https://c.test")])
    assert two == frozenset()


@pytest.mark.parametrize("url", [
    "https://news.example.com/bench/1", "HTTPS://WWW.Example.COM/A/b?x=1#f", "http://user@host.com:80/x/y",
    "https://[::1]/a", "https://host.com", "https://host.com?q=1", "https://host.com#frag", " https://lead.com/x",
    "https://ho\tst.com/p", "https://github.com/pa\nth/x", "https://github.com//Org//Repo", "https://HoSt.CoM./x",
    "https://github.com/?a/b", "https://github.com#x/y", "//github.com/x", "mailto:x@github.com",
])
def test_a_link_read_without_urlsplit_gives_what_urlsplit_gives(url: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    assert _parts(url) == (host, parts.path)


def test_filler_and_boilerplate() -> None:
    assert filler("Most relevant to teams choosing which model to build on.")
    assert filler("Hacker News is the only source on it so far; expect more detail as others report.")
    assert filler("This highlights the growing importance of open models.")
    assert not filler("Pixtral 12B's weights are open: teams can run it on their own hardware.")
    assert boilerplate_summary("Reported by Hacker News.")
    assert boilerplate_summary("Contribute to x/y development by creating an account on GitHub.")
    assert boilerplate_summary("GLM-5.3 Soon", "GLM-5.3 Soon")
    assert not boilerplate_summary("Mistral released Pixtral 12B, which reads images and text.")


@pytest.mark.parametrize("title", ["Getty Images Is Suing Stability AI for $1.8T", "Authors are suing a chatbot maker"])
def test_suing_is_a_court_case(title: str) -> None:
    assert "court" in [e.kind for e in events_in(title, "")]
