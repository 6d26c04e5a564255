"""Phrases, detectors and the data-file checks around them."""

from __future__ import annotations

import pytest

from gatekeeper.moderation.normalise import fold, join_spaced_letters, split_words
from gatekeeper.moderation.rules import (
    PhraseBook,
    Rule,
    RulesError,
    WordStream,
    default_detectors,
    leading_keys,
    load_detectors,
    load_phrases,
    looks_like_card,
    looks_like_phone,
    luhn_valid,
)
from ovation_contracts import Category


def test_luhn_accepts_real_card_numbers_and_rejects_typos() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize("text", ["4111 1111 1111 1111", "5555-5555-5555-4444", "2200000000000004"])
def test_card_numbers_are_recognised(text: str) -> None:
    assert looks_like_card(text)


@pytest.mark.parametrize("text", ["1234 5678 9012 3456", "1000 2000 3000 4000", "123456789012"])
def test_other_long_numbers_are_not_cards(text: str) -> None:
    assert not looks_like_card(text)


@pytest.mark.parametrize(
    "text",
    [
        "+7 912 345-67-89",
        "89123456789",
        "8 (800) 555-35-35",
        "+1 202 555 0143",
        "(415) 555-2671",
        "9123456789",
    ],
)
def test_phone_numbers_are_recognised(text: str) -> None:
    assert looks_like_phone(text)


@pytest.mark.parametrize("text", ["1 000 000", "2023 2024 2025", "12.05.2024", "1000000000"])
def test_amounts_years_and_dates_are_not_phone_numbers(text: str) -> None:
    assert not looks_like_phone(text)


@pytest.mark.parametrize(
    ("pattern", "keys"),
    [
        ("i (will|ll) kill you", {"i ", "iwi", "ill"}),
        ("(я )?(тебя|вас) убью", {"я ", "яте", "ява", "теб", "вас"}),
        ("kys", {"kys "}),
        ("изнасил\\w*", {"изн"}),
        ("ki+l", {"ki"}),
    ],
)
def test_a_phrase_is_indexed_by_the_letters_it_can_start_with(pattern: str, keys: set[str]) -> None:
    from gatekeeper.moderation.rules import _optional_spaces

    assert leading_keys(_optional_spaces(pattern)) == keys


def test_a_phrase_that_can_start_with_anything_has_no_keys() -> None:
    assert leading_keys("\\w+ dot com") is None


def test_every_shipped_phrase_is_indexed() -> None:
    from gatekeeper.moderation.rules import _optional_spaces

    unindexed = [pattern for reading, pattern, _ in load_phrases() if reading != "text"]
    unindexed = [pattern for pattern in unindexed if leading_keys(_optional_spaces(pattern)) is None]
    assert unindexed == []


def streams(text: str) -> tuple[WordStream, WordStream]:
    words = join_spaced_letters(split_words(fold(text).text))
    return WordStream.of(words, cyrillic=False), WordStream.of(words, cyrillic=True)


def test_phrases_match_words_run_together_and_report_the_donor_words() -> None:
    rule = Rule(Category.SELF_HARM, "test")
    book = PhraseBook.build([("en", "kill your ?self", rule)])
    text = "pls k i l l y o u r s e l f now"
    latin, cyrillic = streams(text)
    (finding,) = book.scan(latin, cyrillic, fold(text).text)
    assert text[finding.start : finding.end] == "k i l l y o u r s e l f"


def test_a_broken_phrase_pattern_is_reported() -> None:
    with pytest.raises(RulesError, match="not a valid regular expression"):
        PhraseBook.build([("en", "kill (you", Rule(Category.VIOLENCE, "x"))])


def test_a_phrase_group_without_a_name_is_reported() -> None:
    with pytest.raises(RulesError, match="needs a name"):
        load_phrases({"group": [{"category": "spam", "language": "en", "patterns": ["buy now"]}]})


def test_a_detector_with_an_unknown_check_is_reported() -> None:
    data = {"detector": [{"name": "x", "category": "spam", "pattern": "x", "check": "magic"}]}
    with pytest.raises(RulesError, match="unknown check"):
        load_detectors(data)


def test_detectors_find_links_in_disguise() -> None:
    detectors = default_detectors()
    disguised = [
        "example.com",
        "hxxps://evil.xyz/x",
        "пример точка ру",
        "пример точка py",  # the Cyrillic "ру" typed in Latin look-alikes (found by the look-alike property test)
        "example dot com",
        "example[.]com",
    ]
    for text in disguised:
        folded = fold(text).text
        assert detectors.scan(text, folded, split_words(folded)), text


def test_ordinary_sentences_hold_no_links() -> None:
    detectors = default_detectors()
    for text in [
        "great stream.it was fun",
        "see you at 5",
        "i like it. me too",
        "node.js is cool",
        "run main dot py",
    ]:
        folded = fold(text).text
        assert detectors.scan(text, folded, split_words(folded)) == [], text
