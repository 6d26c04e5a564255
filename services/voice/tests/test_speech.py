"""Speech normalisation: what reaches the TTS engine is speakable, short and safe to read aloud."""

from __future__ import annotations

from decimal import Decimal

import pytest
from voice.speech import cap_length, normalise, plural_ru, spoken_amount

from ovation_contracts import Money


def test_repeated_characters_punctuation_and_words_are_capped() -> None:
    assert normalise("Sooooooooo cool!!!!!!!! lol lol lol lol lol lol") == "Sooo cool! lol lol lol"
    assert normalise("ааааааааа привет", language="ru") == "ааа привет"
    assert normalise("wait.......... what???!!!") == "wait... what?"


def test_length_is_capped_at_a_sentence_or_a_word() -> None:
    sentences = "This is a sentence. " * 40
    capped = normalise(sentences, max_chars=100)
    assert len(capped) <= 100
    assert capped.endswith("sentence.")
    words = "word " + "supercalifragilistic " * 30
    cut = cap_length(words.strip(), 60)
    assert len(cut) <= 60 and cut.endswith("…") and "supercalifragilistic…" in cut


def test_links_and_email_addresses_are_not_read_out() -> None:
    spoken = normalise(
        "go to https://spam.example.com/x?y=1 or www.cheap.biz or casino.ru, mail bob.smith@mail.com"
    )
    assert spoken == "go to a link or a link or a link, mail an e-mail address"
    assert "ссылка" in normalise("смотри https://t.me/chan", language="ru")


@pytest.mark.parametrize(
    ("text", "language", "spoken"),
    [
        (
            "Back in 1995 there were 4000 kinds",
            "en",
            "Back in nineteen ninety-five there were four thousand kinds",
        ),
        ("50% off for the 1st viewer", "en", "fifty percent off for the first viewer"),
        ("$5 and 1,000,000 views", "en", "five dollars and one million views"),
        ("it costs 4.99", "en", "it costs four point nine nine"),
        ("1000000 views", "en", "one million views"),
        ("Коты спят 16 часов, 21 раз", "ru", "Коты спят шестнадцать часов, двадцать один раз"),
        ("донат 500₽ и 50%", "ru", "донат пятьсот рублей и пятьдесят процентов"),
    ],
)
def test_numbers_are_spoken_as_words(text: str, language: str, spoken: str) -> None:
    assert normalise(text, language=language) == spoken


def test_phone_and_card_numbers_are_never_read_digit_by_digit() -> None:
    assert normalise("call +7 (999) 123-45-67 now") == "call a long number now"
    assert normalise("card 4111111111111111") == "card a long number"


def test_emoji_markup_and_invisible_characters_are_dropped() -> None:
    assert normalise("Hi 😀🔥 **bold** <b>tag</b> zero\u200bwidth ＦＵＬＬ") == "Hi bold tag zerowidth FULL"


@pytest.mark.parametrize(
    ("amount", "currency", "language", "spoken"),
    [
        ("500", "RUB", "en", "five hundred roubles"),
        ("1", "USD", "en", "one dollar"),
        ("4.99", "USD", "en", "four dollars and ninety-nine cents"),
        ("1", "RUB", "ru", "один рубль"),
        ("22", "UAH", "ru", "двадцать две гривны"),
        ("101.01", "RUB", "ru", "сто один рубль и одна копейка"),
        ("12.5", "KZT", "en", "thirteen tenge"),
        ("3", "XYZ", "en", "three X Y Z"),
    ],
)
def test_amounts_are_spoken_with_their_currency(
    amount: str, currency: str, language: str, spoken: str
) -> None:
    assert spoken_amount(Money(amount=Decimal(amount), currency=currency), language) == spoken


def test_russian_plural_forms() -> None:
    forms = ("рубль", "рубля", "рублей")
    assert [plural_ru(n, forms) for n in (1, 2, 5, 11, 12, 21, 104, 111)] == [
        "рубль",
        "рубля",
        "рублей",
        "рублей",
        "рублей",
        "рубль",
        "рубля",
        "рублей",
    ]
