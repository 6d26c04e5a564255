"""The lexicon: roots, endings, prefixes and exceptions, so bad words are caught and innocent ones are not."""

from __future__ import annotations

import pytest

from gatekeeper.moderation.lexicon import Lexicon, LexiconError, default_lexicon, load_lexicon, parse_term
from gatekeeper.moderation.rules import Rule, RulesError
from ovation_contracts import Category


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return default_lexicon()


def categories(lexicon: Lexicon, word: str) -> set[Category]:
    return {term.rule.category for term in lexicon.match(word)}


@pytest.mark.parametrize(
    "word",
    [
        "cocktail",
        "scunthorpe",
        "sextant",
        "assassin",
        "classic",
        "therapist",
        "shiitake",
        "analysis",
        "niggle",
        "retardant",
        "raccoon",
        "spicy",
        "titanic",
        "cumulative",
        "hello",
        "cockpit",
        "dickens",
        "bass",
        "as",
    ],
)
def test_innocent_english_words_containing_bad_ones_pass(lexicon: Lexicon, word: str) -> None:
    assert lexicon.match(word) == ()


@pytest.mark.parametrize(
    "word",
    [
        "рубля",
        "корабля",
        "скипидар",
        "застрахуй",
        "оскорблять",
        "употреблять",
        "сукно",
        "мандарин",
        "хачапури",
        "жидкий",
        "хохлома",
        "трахея",
        "страх",
        "анализ",
        "педикюр",
        "пиджак",
        "себе",
        "вебинар",
        "небо",
        "победа",
        "учебник",
        "хлебало",
        "команда",
        "уродился",
        "сражение",
        "нигерия",
        "ебург",
    ],
)
def test_innocent_russian_words_containing_bad_ones_pass(lexicon: Lexicon, word: str) -> None:
    assert lexicon.match(word) == ()


def test_cocktail_is_not_profanity(lexicon: Lexicon) -> None:
    assert lexicon.match("cocktail") == ()
    assert categories(lexicon, "cock") == {Category.SEXUAL}


@pytest.mark.parametrize(
    "word",
    [
        "хуй",
        "нахуй",
        "похуй",
        "нихуя",
        "охуеть",
        "ахуеть",
        "схуяли",
        "хуйня",
        "пиздец",
        "спиздил",
        "распиздяй",
        "ебать",
        "заебал",
        "выебываться",
        "отъебись",
        "уебок",
        "долбоеб",
        "долбаеб",
        "блядь",
        "блять",
        "сука",
        "сучка",
        "мудак",
        "мудила",
        "гандон",
        "залупа",
    ],
)
def test_russian_profanity_is_caught_with_prefixes_and_endings(lexicon: Lexicon, word: str) -> None:
    assert Category.PROFANITY in categories(lexicon, word)


def test_repeated_letters_still_match(lexicon: Lexicon) -> None:
    assert categories(lexicon, "fuuuuck") == {Category.PROFANITY}
    assert categories(lexicon, "сууука") == {Category.PROFANITY}


def test_a_doubled_letter_in_a_term_must_be_doubled_in_the_word(lexicon: Lexicon) -> None:
    assert lexicon.match("as") == ()
    assert lexicon.match("ass") != ()
    assert lexicon.match("niger") == ()
    assert categories(lexicon, "nigger") == {Category.SLURS}


def test_infix_catches_compounds(lexicon: Lexicon) -> None:
    assert categories(lexicon, "motherfucker") == {Category.PROFANITY}
    assert categories(lexicon, "bullshit") == {Category.PROFANITY}


def test_a_masked_word_is_completed_from_full_forms(lexicon: Lexicon) -> None:
    assert {term.rule.category for term in lexicon.match_masked("f*ck")} == {Category.PROFANITY}
    assert {term.rule.category for term in lexicon.match_masked("п**дец")} == {Category.PROFANITY}
    assert lexicon.match_masked("p*zza") == ()
    assert lexicon.match_masked("к*т") == ()


def test_mild_terms_are_marked_mild(lexicon: Lexicon) -> None:
    assert all(term.rule.mild for term in lexicon.match("cock"))
    assert not any(term.rule.mild for term in lexicon.match("fuck"))


def test_term_syntax_compiles_roots_endings_and_prefixes() -> None:
    rule = Rule(Category.PROFANITY, "test")
    terms, forms = parse_term("сук{а|и}", rule, prefixes=["за"])
    assert [(term.kind, term.key) for term in terms] == [("root", "сук"), ("root", "засук")]
    assert forms == ["сук", "сука", "суки"]
    lexicon = Lexicon(terms, [], [])
    assert lexicon.match("сука") and lexicon.match("засуки")
    assert not lexicon.match("сукно")


@pytest.mark.parametrize(
    ("term", "problem"),
    [
        ("two words", "one word"),
        ("*infix", "must end with *"),
        ("сyка", "mixes Latin and Cyrillic"),
        ("a", "at least 2"),
        ("ab{(}", "not a valid regular expression"),
    ],
)
def test_a_malformed_term_is_reported_with_what_to_fix(term: str, problem: str) -> None:
    with pytest.raises(LexiconError, match=problem):
        parse_term(term, Rule(Category.PROFANITY, term))


def test_an_unknown_category_is_reported() -> None:
    with pytest.raises(RulesError, match="unknown category"):
        load_lexicon({"group": [{"category": "rude", "terms": ["word"]}]}, "")


def test_exceptions_cover_disguised_spellings() -> None:
    lexicon = load_lexicon({"group": [{"category": "sexual", "terms": ["cock{|s}"]}]}, "cock\n")
    assert lexicon.match("cock") == ()
    assert lexicon.match("cocks") != ()
