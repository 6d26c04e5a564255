"""Disguising a flagged message never gets it through: zero-width characters, spaced-out letters and swapped
Latin/Cyrillic look-alikes leave a blocked or downgraded message blocked or downgraded."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.moderation import Moderator
from gatekeeper.moderation.evaluation import read_corpus
from ovation_contracts import Category, CheckedField, Decision

CORPUS = Path(__file__).parent / "corpus" / "moderation.jsonl"

_MODERATOR = Moderator()
_HARMFUL = [
    sample for sample in read_corpus(CORPUS) if sample.harmful and sample.checked is CheckedField.MESSAGE
]
FLAGGED = [sample.text for sample in _HARMFUL if _MODERATOR.check(sample.text).decision is not Decision.ALLOW]
# Links, numbers and addresses live in punctuation, not in words, so spacing out their letters is a different
# disguise (one the rules do not claim to see through); the word-based categories must survive it.
WORD_BASED = [
    sample.text
    for sample in _HARMFUL
    if sample.text in FLAGGED and sample.category not in (Category.SPAM, Category.PERSONAL_DATA)
]

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\ufe0f"]
LOOK_ALIKES = {
    "a": "а",
    "c": "с",
    "e": "е",
    "o": "о",
    "p": "р",
    "x": "х",
    "y": "у",
    "A": "А",
    "B": "В",
    "C": "С",
    "E": "Е",
    "H": "Н",
    "K": "К",
    "M": "М",
    "O": "О",
    "P": "Р",
    "T": "Т",
    "X": "Х",
}
LOOK_ALIKES |= {cyrillic: latin for latin, cyrillic in list(LOOK_ALIKES.items())}
# A plain word: letters only, between spaces, commas, or the ends of the text (not part of a link or an address).
PLAIN_WORD = re.compile(r"(?<![^\s,!?])[^\W\d_]{2,}(?![^\s,!?])")

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def still_flagged(text: str) -> bool:
    return _MODERATOR.check(text).decision is not Decision.ALLOW


def test_the_corpus_gives_the_properties_plenty_to_work_on() -> None:
    assert len(FLAGGED) >= 250
    assert len(WORD_BASED) >= 150


@PROPERTY
@given(st.sampled_from(FLAGGED), st.data())
def test_zero_width_characters_never_get_a_flagged_message_through(text: str, data: st.DataObject) -> None:
    positions = data.draw(st.lists(st.integers(0, len(text)), min_size=1, max_size=8))
    characters = data.draw(
        st.lists(st.sampled_from(ZERO_WIDTH), min_size=len(positions), max_size=len(positions))
    )
    disguised = text
    for position, character in sorted(zip(positions, characters, strict=True), reverse=True):
        disguised = disguised[:position] + character + disguised[position:]
    assert still_flagged(disguised), repr(disguised)


@PROPERTY
@given(st.sampled_from(WORD_BASED), st.data())
def test_spacing_out_letters_never_gets_a_flagged_message_through(text: str, data: st.DataObject) -> None:
    words = list(PLAIN_WORD.finditer(text))
    if not words:
        return
    chosen = data.draw(
        st.lists(st.sampled_from(words), min_size=1, max_size=3, unique_by=lambda m: m.start())
    )
    separator = data.draw(st.sampled_from([" ", ".", "-", " . ", "*", "_"]))
    disguised = text
    for word in sorted(chosen, key=lambda m: m.start(), reverse=True):
        disguised = disguised[: word.start()] + separator.join(word.group()) + disguised[word.end() :]
    assert still_flagged(disguised), repr(disguised)


@PROPERTY
@given(st.sampled_from(FLAGGED), st.data())
def test_swapping_latin_and_cyrillic_look_alikes_never_gets_a_flagged_message_through(
    text: str, data: st.DataObject
) -> None:
    swaps = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    disguised = "".join(
        LOOK_ALIKES.get(char, char) if swap else char for char, swap in zip(text, swaps, strict=True)
    )
    assert still_flagged(disguised), repr(disguised)


# Chat-template markup ("<system>", "[SYSTEM]") is matched as written, not read as words.
WORDS_ONLY = [text for text in WORD_BASED if not set(text) & set("<>[]|#")]


@PROPERTY
@given(st.sampled_from(WORDS_ONLY), st.integers(2, 6))
def test_repeating_letters_never_gets_a_flagged_message_through(text: str, times: int) -> None:
    disguised = re.sub(r"([^\W\d_])", lambda m: m.group(1) * times, text, count=3)
    assert still_flagged(disguised), repr(disguised)
