"""Folding, words and readings: what the rules see of a donor's text, and how it maps back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.moderation.normalise import (
    fold,
    join_spaced_letters,
    normalise,
    read_word,
    readable_copy,
    split_words,
    squeeze,
)


def test_fold_lowercases_and_turns_yo_into_ye() -> None:
    assert fold("ЁЛКА Hello").text == "елка hello"


def test_fold_turns_fullwidth_and_styled_letters_into_plain_ones() -> None:
    assert fold("ｆｕｃｋ 𝐟𝐮𝐜𝐤 ᴋʏꜱ").text == "fuck fuck kys"


def test_fold_removes_zero_width_and_format_characters() -> None:
    assert fold("f\u200bu\u200dc\ufeffk\u00ad").text == "fuck"


def test_fold_turns_control_characters_into_spaces() -> None:
    assert fold("a\x00b\tc\nd").text == "a b c d"


def test_fold_drops_diacritics_but_keeps_short_i() -> None:
    assert fold("fück йод и\u0306од").text == "fuck йод йод"


def test_fold_maps_every_folded_character_to_its_original() -> None:
    text = "Ｆ\u200bu ﬁne"
    folded = fold(text)
    assert folded.text == "fu fine"
    # "fi" comes from the single ligature character at index 4.
    assert folded.original_span(3, 5) == (4, 5)
    assert text[slice(*folded.original_span(0, 2))] == "Ｆ\u200bu"


def test_plain_text_keeps_its_offsets() -> None:
    assert fold("Привет, мир").origin is None


def test_split_words_keeps_leetspeak_symbols_inside_words() -> None:
    assert [word.text for word in split_words("sh!t b@stard a$$ hello!!")] == [
        "sh!t",
        "b@stard",
        "a$$",
        "hello",
    ]


def test_stars_between_single_letters_separate_them() -> None:
    (word,) = split_words("f*u*c*k")
    assert (word.text, word.spaced) == ("fuck", True)


def test_stars_inside_a_word_hide_letters() -> None:
    words = split_words("f*ck")
    assert words[0].masked
    assert [word.text for word in words[1:]] == ["f", "ck"]


def test_apostrophe_stays_inside_a_word() -> None:
    assert [word.text for word in split_words("don't 'quoted'")] == ["don't", "quoted"]


def test_spaced_letters_are_joined_back() -> None:
    words = join_spaced_letters(split_words("х у й тебе, k.y.s"))
    assert [word.text for word in words] == ["хуй", "тебе", "kys"]


def test_latin_look_alikes_read_as_russian() -> None:
    assert read_word("cyka").cyrillic == "сука"


def test_cyrillic_look_alikes_read_as_english() -> None:
    assert read_word("fuсk").latin == "fuck"  # a Cyrillic с


def test_leetspeak_reads_both_ways_when_ambiguous() -> None:
    assert "пизда" in read_word("пи3да").spellings
    assert "kill" in read_word("ki1l").spellings
    assert read_word("6ля").main == "бля"


def test_ordinary_english_words_get_no_russian_reading_from_loose_look_alikes() -> None:
    # "herp" would read as a slur if r counted as г; only unmistakable look-alikes apply to one-script words.
    assert read_word("herp").cyrillic is None


def test_squeeze_collapses_repeats_and_remembers_run_lengths() -> None:
    assert squeeze("fuuuck") == ("fuck", (1, 3, 1, 1))
    assert squeeze("hello") == ("helo", (1, 1, 2, 1))
    assert squeeze("cat") == ("cat", None)


def test_normalise_reads_disguised_text() -> None:
    assert normalise("K I L L  y0ur$elf, xуй") == "kill yourself хуй"


def test_readable_copy_keeps_offsets() -> None:
    folded = "write to соbаka"
    copy = readable_copy(folded, split_words(folded))
    assert len(copy) == len(folded)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text).text
    assert fold(once).text == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_every_folded_character_points_into_the_original(text: str) -> None:
    folded = fold(text)
    for index in range(len(folded.text)):
        start, end = folded.original_span(index, index + 1)
        assert 0 <= start < end <= len(text)
