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
