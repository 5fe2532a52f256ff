from __future__ import annotations

from bot.text import plain_text, sentences, shorten


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
