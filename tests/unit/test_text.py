from __future__ import annotations

import html
import random
import re

from bot import text as text_module
from bot.text import fold_space, plain_text, sentences, shorten


def test_plain_text_strips_markup_scripts_and_entities() -> None:
    html = "<p>Hello&nbsp;<b>world</b> &amp; friends</p><script>alert('x')</script><style>p{}</style><p>Bye</p>"
    assert plain_text(html) == "Hello world & friends Bye"


def test_plain_text_folds_whitespace_and_caps_length() -> None:
    assert plain_text("  a \n\n b\t c ") == "a b c"
    capped = plain_text("word " * 100, max_length=30)
    assert len(capped) <= 30 and capped.endswith("…")


def test_shorten_keeps_short_text() -> None:
    assert shorten("short", 10) == "short"


def test_sentences() -> None:
    assert sentences("OpenAI released a model. It is 2x faster! Why? Nobody knows.") == [
        "OpenAI released a model.", "It is 2x faster!", "Why?", "Nobody knows."]
    assert sentences("Version 3.5 is out. Next.") == ["Version 3.5 is out.", "Next."]


def test_bidi_controls_and_invisible_characters_are_removed() -> None:
    # A right-to-left override makes "txt.exe" read as "exe.txt" in chat; zero-width characters hide text.
    assert plain_text("Invoice \u202etxt.exe") == "Invoice txt.exe"
    assert plain_text("Open\u200bAI re\u2060leases\ufeff GPT\u00ad-5 \u2066isolated\u2069 \u200fmark\u200e") == (
        "OpenAI releases GPT-5 isolated mark")
    assert plain_text("<b>Ev\u202ail</b> &#8238;text") == "Evil text"
    assert plain_text("zero\u200c\u200dwidth in latin") == "zerowidth in latin"
    assert plain_text("control\x00\x07 bytes\x1b[31m") == "control bytes[31m"


def test_joiners_that_carry_meaning_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji made of three, joined
    assert plain_text(f"New {family} feature") == f"New {family} feature"
    persian = "می\u200cخواهم"  # the zero-width non-joiner is part of Persian spelling
    assert plain_text(persian) == persian


# The one-pass reading of simple markup must collect exactly what html.parser does; markup it cannot read the
# same way must go to html.parser.
_MARKUP_TOKENS = [
    "<p>", "</p>", "<br>", "<br/>", "<br />", "<BR/>", '<a href="x>y">', "<a href='q\"'>", "</a>", "<b>", "</b >",
    "<div class=\"c\" id='d'>", "</div>", "<span title=x>", '<img src="a" alt=""/>', '<img src="a"/ >', "<li>",
    '<p\x0bclass="x">', "<p\u3000x>", "<script>", "</script>", "<style>x</style>", "<!-- c -->", "<!x>", "<?p?>",
    "&amp;", "&amp", "&lt;", "&#60;", "&#x3c;", "&amp;lt;", "&nbsp;", "&", ";", "<", ">", " ", "\n", "\t", "text",
    "é", "\u200b", "=", '"', "'", "/", '<a b="1"c="2">', '<a  b = "1" >', "<x-y:z.w>", "</x-y:z.w>", "<a disabled>",
    "<input disabled/>", "<p/>", "</>", "< p>", "<p<", "<a b='<'>", "<h1>", "</h1>", "<svg>", "<title>",
    "<textarea>", "&notit;", "&copy", "&#0;", "<table><tr><td>", "<1>", '<a b="x"/>', "<a b c>", "</a\n>",
    '<A HREF="X">', "<p\r>", "&amp;amp;", "x&", "&#x",
]


def _html_parser_text(markup: str) -> str:
    parser = text_module._TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def test_simple_markup_is_read_as_html_parser_reads_it() -> None:
    rng = random.Random(20261202)
    read_fast = 0
    for _ in range(20_000):
        markup = "".join(rng.choice(_MARKUP_TOKENS) for _ in range(rng.randint(1, 8)))
        fast = text_module._simple_markup_text(markup)
        if fast is not None:
            read_fast += 1
            assert fast == _html_parser_text(markup), markup
        assert plain_text(markup) == fold_space(html.unescape(_html_parser_text(markup))), markup
    assert read_fast > 2_000  # the fast path is taken, not only the fallback


def test_markup_the_one_pass_cannot_read_goes_to_html_parser() -> None:
    for markup in ("a < b", "<!-- c -->x", "<script>x</script>y", "<a href=x>y</a>", "<p\x0bclass='x'>t",
                   "<a b='<'>x", "<svg><text>t</text></svg>after", "<title>t</title>"):
        assert text_module._simple_markup_text(markup) is None, markup
    assert text_module._simple_markup_text('<p class="x">a &amp;amp; b<br/>c</p>') == " a &amp; b  c "
    assert plain_text('<p class="x">a &amp;amp; b<br/>c</p>') == "a & b c"


def test_fold_space_skips_nothing_it_should_remove() -> None:
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0xA0)] + list("\u00a0\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a"
                                                    "\u202e\u2060\u2064\u2066\u2069\u3000\u2028\ufeff\u0627\u0915")
    alphabet.append("\U0001f600")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert fold_space(text) == re.sub(r"\s+", " ", text_module._INVISIBLE.sub("", text)).strip(), repr(text)


def test_a_model_named_only_as_a_rival_is_compared() -> None:
    from bot.text import compared_models

    assert compared_models("Show HN: Tarsier – vision for LLM web agents that beats GPT-4o", ["GPT-4o"]) == {"GPT-4o"}
    assert compared_models("Qwen3 is faster than Llama 4 Scout on a laptop", ["Qwen3", "Llama 4 Scout"]) == {
        "Llama 4 Scout"}
    assert compared_models("GPT-4o vs. Claude 3 Opus: a week of coding", ["GPT-4o", "Claude 3 Opus"]) == {
        "Claude 3 Opus"}
    assert compared_models("Hot take on OpenAI's new GPT-4o", ["GPT-4o"]) == frozenset()
    # the rest of a list of rivals is compared with too, not what follows the list
    assert compared_models("Microsoft Releases Phi-2, a Small LLM That Outperforms Llama 2 and Mistral 7B",
                           ["Phi-2", "Llama 2", "Mistral 7B"]) == {"Llama 2", "Mistral 7B"}
    assert compared_models("Beats GPT-4o, Claude 3 Opus or Gemini 1.5", ["GPT-4o", "Claude 3 Opus", "Gemini 1.5"]) == {
        "GPT-4o", "Claude 3 Opus", "Gemini 1.5"}
    assert compared_models("Qwen3 beats Llama 4 on math and DeepSeek V3 ships",
                           ["Qwen3", "Llama 4", "DeepSeek V3"]) == {"Llama 4"}
