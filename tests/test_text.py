"""Normalisation: the one function aliases and item text both go through."""

from __future__ import annotations

import pytest

from pipeline.text import (
    DROPPED,
    MAX_CHARS,
    SpanMap,
    bounded,
    clean,
    fold,
    fold_char,
    normalize,
    strip_html,
    tokenize,
)

SAME = {
    "case and compatibility forms": ("ＡＬＩＢＡＢＡ", "alibaba"),
    "typographic apostrophe reads as ascii": ("Alibaba’s", "alibaba's"),
    "arabic yeh and kaf fold to urdu letters": ("علي بابا كراتشي", "علی بابا کراتشی"),
    "alef maksura folds to yeh": ("على", "علی"),
    "heh variants fold together": ("ۀ ه ة", "ہ ہ ہ"),
    "tatweel is dropped": ("بـــابا", "بابا"),
    "harakat are dropped": ("عَلِیّ", "علی"),
    "zero width non-joiner is dropped": ("علی\u200cبابا", "علیبابا"),
    "hamza alefs fold to alef": ("أإآ", "ااا"),
    "persian digits become ascii": ("۱۱.۱۱", "11.11"),
    "traditional chinese folds to simplified": ("阿里雲 螞蟻集團 支付寶", "阿里云 蚂蚁集团 支付宝"),
    "html tags and entities are stripped": ("<p>Ant&nbsp;<b>Group</b></p>", "ant group"),
    "whitespace collapses": ("Daraz \n\t  Pakistan", "daraz pakistan"),
    "latin diacritics are dropped": (
        "Chávez São Paulo Erdoğan Nguyễn",
        "chavez sao paulo erdogan nguyen",
    ),
    "letters that are no base letter plus marks stay": ("Straße Øre æ", "strasse øre æ"),
}


def test_an_accented_name_in_an_item_is_quoted_as_the_item_writes_it() -> None:
    display = clean("Who are Chávez's opponents?")
    norm = normalize(display)
    start = norm.index("chavez")
    assert SpanMap(display, norm).span(start, start + len("chavez")) == "Chávez"


@pytest.mark.parametrize(("raw", "expected"), list(SAME.values()), ids=list(SAME))
def test_normalize_folds_variants_to_one_form(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_strip_html_drops_scripts_styles_and_comments() -> None:
    text = "<script>alert('Alibaba')</script><style>p{}</style><!-- Daraz -->Pakistan"
    assert strip_html(text).strip() == "Pakistan"


def test_clean_keeps_letters_for_display_but_bounds_the_length() -> None:
    assert clean("  Alibaba’s <i>Daraz</i> — “Pakistan”…  ") == 'Alibaba\'s Daraz - "Pakistan"...'
    assert len(clean("x" * (MAX_CHARS * 5))) == MAX_CHARS


def test_fold_keeps_ascii_text_the_same_length() -> None:
    text = "Alibaba-owned Daraz.pk, Karachi (2026)"
    assert fold(text) == text.lower()


def test_fold_char_is_fold_of_one_character() -> None:
    assert (fold_char("ß"), fold_char("ـ"), fold_char("ي")) == ("ss", "", "ی")


SPANS = {
    "ascii": ("Alibaba’s Daraz", "daraz", "Daraz"),
    "dropped tatweel and harakat": ("عَلِیّ بـابا", "علی بابا", "عَلِیّ بـابا"),
    "expanded sharp s": ("Straße ALIBABA", "alibaba", "ALIBABA"),
    "expansion and deletion of equal length": ("ﷲ بـابا x", "x", "x"),
}


@pytest.mark.parametrize(("display", "word", "expected"), list(SPANS.values()), ids=list(SPANS))
def test_span_map_finds_the_display_text_behind_a_folded_span(
    display: str, word: str, expected: str
) -> None:
    norm = fold(display)
    start = norm.index(word)
    assert SpanMap(display, norm).span(start, start + len(word)) == expected


def test_bounded_turns_every_non_word_character_into_a_space() -> None:
    assert bounded("alibaba's daraz.pk, (2026)") == "alibaba s daraz pk   2026 "
    assert bounded("पाकिस्तान। चीन") == "पाकिस्तान  चीन"  # vowel signs stay, the danda goes


def test_dropped_finds_the_characters_fold_deletes() -> None:
    assert [m.group() for m in DROPPED.finditer("بـابا عَلی")] == ["ـ", "َ"]


def test_tokenize_splits_words_and_cjk_characters() -> None:
    assert tokenize("Alibaba-owned Daraz 阿里云") == ["alibaba-owned", "daraz", "阿", "里", "云"]


@pytest.mark.parametrize(
    "hostile",
    ["\ud800 lone surrogate", "nul \x00 inside", "\U0010ffff\ufffe", "<" * 10_000, "&#x110000;"],
)
def test_normalize_never_raises_on_hostile_text(hostile: str) -> None:
    assert isinstance(normalize(hostile), str)
